using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Splitwise.Designs;
using Splitwise.Reports;
using Splitwise.Simulation.Transfer;
using Splitwise.Sweeps;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise provision</c>: the cheapest design meeting the SLOs, or the most throughput within a budget.</summary>
internal static class ProvisionCommand
{
    public static Command Create(CliContext context)
    {
        var trace = new Option<string>("--trace") { Description = "Trace whose request sizes (and, without --rate, timing) the cluster must serve: a name (conv-2023, code-2023) or a file", DefaultValueFactory = _ => "conv-2023" };
        var rate = new Option<double?>("--rate") { Description = "Request rate to serve, requests/s (Poisson arrivals with the trace's sizes); default: the trace's own timing" };
        var objective = new Option<string>("--objective") { Description = "What to minimise: cost ($/h), power (provisioned W) or machines", DefaultValueFactory = _ => "cost" };
        var maxThroughput = new Option<bool>("--max-throughput") { Description = "Instead: per design, the highest SLO-compliant rate within --budget-power or --budget-cost" };
        var budgetPower = new Option<double?>("--budget-power") { Description = "Power budget in watts (iso-power: 40 DGX-H100 = 408000)" };
        var budgetCost = new Option<double?>("--budget-cost") { Description = "Cost budget in $/hour (iso-cost: 40 DGX-H100 = 1520)" };
        var designs = new Option<string[]>("--design") { Description = $"Design to consider (repeatable; default all: {SplitwiseDesignCatalog.Names})", AllowMultipleArgumentsPerToken = true };
        var maxMachines = new Option<int>("--max-machines") { Description = "Largest pool considered (a baseline's machines, or each Splitwise pool)", DefaultValueFactory = _ => 128 };
        var model = new Option<string>("--model") { Description = "Model", DefaultValueFactory = _ => "llama2-70b" };
        var perf = new Option<string>("--perf") { Description = "Performance model: profile or roofline", DefaultValueFactory = _ => "profile" };
        var profile = new Option<string?>("--profile") { Description = "SplitwiseSim perf_model.csv (default: $SPLITWISE_PROFILE, else <data-dir>/perf_model.csv)" };
        var seed = new Option<long>("--seed") { Description = "Seed of generated arrivals", DefaultValueFactory = _ => 1 };
        var duration = new Option<double?>("--duration") { Description = "Simulate only this many seconds of arrivals (faster searches)" };
        var slo = new Option<string>("--slo") { Description = "SLOs: 'paper' (the nine slowdown SLOs, default) or items like ttft_p99=2s,tbt_p99=200ms,e2e_p50=1.25x", DefaultValueFactory = _ => "paper" };
        var kv = new Option<string>("--kv-transfer") { Description = "KV transfer for Splitwise designs: auto (layer-wise from 512 prompt tokens), serialized, layerwise", DefaultValueFactory = _ => "auto" };
        var tolerance = new Option<double>("--rate-tolerance") { Description = "Relative precision of the highest compliant rate (--max-throughput)", DefaultValueFactory = _ => 0.02 };
        var initialRate = new Option<double>("--initial-rate") { Description = "First rate a throughput search tries, requests/s", DefaultValueFactory = _ => 1 };
        var maxRate = new Option<double>("--max-rate") { Description = "Highest rate a throughput search tries, requests/s", DefaultValueFactory = _ => 1000 };
        var splitStep = new Option<int>("--split-step") { Description = "Under a budget, try every k-th prompt pool size of a Splitwise design", DefaultValueFactory = _ => 1 };
        var trials = new Option<string?>("--trials") { Description = "Write every simulated point of the search to this CSV (design, sizes, rate, pass)" };
        var iso = new Option<string?>("--iso") { Description = "With --max-throughput instead of a budget: SplitwiseSim's iso clusters, 'power' (40 DGX-H100 = 70 DGX-A100) or 'cost' (= 86 DGX-A100), every split its configs try" };
        var engine = new Option<string>("--engine") { Description = "Instance engine of every design tried: splitwise (SplitwiseSim's instance) or vllm (vLLM V1 with its defaults for the GPU; Splitwise designs as prefill and decode instances)", DefaultValueFactory = _ => "splitwise" };
        var compat = new Option<bool>("--splitwise-sim") { Description = "Simulate with SplitwiseSim's rules (as simulate --splitwise-sim; implies --no-gqa)" };
        var catalog = new Option<string?>("--catalog") { Description = "YAML/JSON file extending or overriding the GPU, machine and model catalog (prices and power included)" };
        var noGqa = new Option<bool>("--no-gqa") { Description = "Size the KV cache without grouped-query attention, as SplitwiseSim does (less KV memory per machine)" };
        var json = new Option<bool>("--json") { Description = "Print the answer as JSON" };
        var report = new Option<string?>("--report") { Description = "Write report.html (throughput against cost and power per design, the SLO-compliant frontier, the answer highlighted) and its figures into this directory" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Directory of the named traces and perf_model.csv (default: $SPLITWISE_DATA, else a per-user cache)" };

        var command = new Command("provision", "Find the design and pool sizes that meet the SLOs at the lowest cost, power or machine count — or the highest SLO-compliant rate within a power or cost budget");
        foreach (Option o in new Option[] { trace, rate, objective, maxThroughput, budgetPower, budgetCost, designs, maxMachines, model, perf, profile, seed, duration, slo, kv, tolerance, initialRate, maxRate, splitStep, trials, iso, engine, compat, catalog, noGqa, json, dataDir, report })
        {
            command.Options.Add(o);
        }

        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, () =>
        {
            string perfName = pr.GetValue(perf)!.ToLowerInvariant();
            if (perfName is not ("profile" or "roofline"))
            {
                throw SplitwiseException.Usage($"--perf {perfName}: use profile or roofline");
            }

            string kvMode = KvTransferOptions.ParseMode(pr.GetValue(kv)!).ToString().ToLowerInvariant();

            double? seconds = pr.GetValue(duration);
            if (seconds is <= 0)
            {
                throw SplitwiseException.Usage("--duration must be positive");
            }

            string engineName = pr.GetValue(engine)!.ToLowerInvariant();
            if (engineName is not ("splitwise" or "vllm"))
            {
                throw SplitwiseException.Usage($"--engine '{engineName}' is not one of splitwise, vllm");
            }

            if (engineName == "vllm" && pr.GetValue(compat))
            {
                throw SplitwiseException.Usage("--engine vllm with --splitwise-sim: SplitwiseSim's rules are its own engine; drop one");
            }

            var settings = new SweepSettings(pr.GetValue(model)!, perfName, pr.GetValue(profile) is { } pf ? Path.GetFullPath(pf) : null,
                pr.GetValue(seed), seconds ?? 0, SloSet.Parse(pr.GetValue(slo)!), kvMode, !pr.GetValue(noGqa) && !pr.GetValue(compat), pr.GetValue(compat))
            {
                Engine = engineName,
            };
            Hardware.Catalog cat = pr.GetValue(catalog) is { } catalogPath ? Hardware.Catalog.Load(catalogPath) : Hardware.Catalog.BuiltIn;
            _ = cat.Model(settings.Model); // an unknown model is a usage error now, not in the middle of a search
            string[] chosen = pr.GetValue(designs) is { Length: > 0 } d ? d : [.. SplitwiseDesignCatalog.All.Select(x => x.Name)];
            double r = pr.GetValue(rate) ?? 0;
            if (r < 0)
            {
                throw SplitwiseException.Usage("--rate must be positive");
            }

            var request = new ProvisionRequest(pr.GetValue(trace)!, r, chosen, settings, pr.GetValue(maxMachines))
            {
                RateTolerance = pr.GetValue(tolerance),
                InitialRate = pr.GetValue(initialRate),
                MaxRate = pr.GetValue(maxRate),
                SplitStep = Math.Max(1, pr.GetValue(splitStep)),
                Catalog = cat,
            };
            // A search only needs a failing point's verdict: its simulation stops once the SLOs are certainly missed.
            var evaluator = new SimulationEvaluator(pr.GetValue(dataDir), context.Error, cdfDirectory: null, cat) { StopAtFailure = true };
            bool throughput = pr.GetValue(maxThroughput);
            ProvisionObjective goal = ParseObjective(pr.GetValue(objective)!);
            if (!throughput && (pr.GetValue(budgetPower) is not null || pr.GetValue(budgetCost) is not null))
            {
                throw SplitwiseException.Usage("--budget-power and --budget-cost go with --max-throughput");
            }

            IsoBudget? isoBudget = pr.GetValue(iso)?.ToLowerInvariant() switch
            {
                null => null,
                "power" => IsoBudget.Power,
                "cost" => IsoBudget.Cost,
                string other => throw SplitwiseException.Usage($"--iso {other}: use power or cost"),
            };
            if (isoBudget is not null && (!throughput || pr.GetValue(budgetPower) is not null || pr.GetValue(budgetCost) is not null))
            {
                throw SplitwiseException.Usage("--iso goes with --max-throughput, instead of --budget-power or --budget-cost");
            }

            ProvisionOutcome outcome = isoBudget is { } b
                ? Provisioner.MaxThroughput(request with { Rate = 0 }, d => IsoClusters.For(d.Name, b), evaluator.Evaluate, ct)
                : throughput
                ? Provisioner.MaxThroughput(request with { Rate = 0 }, pr.GetValue(budgetPower), pr.GetValue(budgetCost), evaluator.Evaluate, ct)
                : Provisioner.Minimize(request, goal, evaluator.Evaluate, ct);

            if (pr.GetValue(trials) is { } trialsPath)
            {
                WriteTrials(trialsPath, outcome);
            }

            string? reportPath = null;
            if (pr.GetValue(report) is { } reportDir)
            {
                string question = throughput ? "highest SLO-compliant rate" : $"lowest {goal.ToString().ToLowerInvariant()} meeting all SLOs";
                reportPath = ProvisionReport.Write(reportDir, outcome, question, "splitwise provision")[^1];
            }

            if (pr.GetValue(json))
            {
                context.Output.WriteLine(ToJson(outcome, throughput, goal, settings.Engine));
            }
            else
            {
                Print(context, outcome, throughput, goal, request);
                if (reportPath is not null)
                {
                    context.Output.WriteLine($"wrote {reportPath}");
                }
            }

            return outcome.Best is null ? ExitCodes.Failure : ExitCodes.Success;
        }, ct));
        return command;
    }

    private static ProvisionObjective ParseObjective(string text) => text.ToLowerInvariant() switch
    {
        "cost" => ProvisionObjective.Cost,
        "power" => ProvisionObjective.Power,
        "machines" => ProvisionObjective.Machines,
        _ => throw SplitwiseException.Usage($"--objective {text}: use cost, power or machines"),
    };

    private static string Size(SweepPoint p) => ProvisionReport.Size(p);

    private static void Print(CliContext context, ProvisionOutcome outcome, bool throughput, ProvisionObjective goal, ProvisionRequest request)
    {
        var table = new Table().AddColumns("design", "machines", throughput ? "max rate (req/s)" : "rate (req/s)", "$/hour", "kW", "SLO worst", "simulations", "note");
        foreach (DesignSearch s in outcome.Designs)
        {
            if (s.Best is { } b)
            {
                table.AddRow(s.Design, Size(b.Point), F(b.Rate > 0 ? b.Rate : double.NaN, "0.###"), F(b.DollarsPerHour, "0.#"), F(b.Watts / 1000, "0.##"),
                    F(b.Result.Slo.WorstRatio, "0.###") + "x", s.Simulations.ToString(CultureInfo.InvariantCulture), Markup.Escape(s.Note ?? ""));
            }
            else
            {
                table.AddRow(s.Design, "-", "-", "-", "-", "-", s.Simulations.ToString(CultureInfo.InvariantCulture), Markup.Escape(s.Note ?? "infeasible"));
            }
        }

        context.Console.Write(table);
        string what = throughput ? "highest SLO-compliant rate" : $"lowest {goal.ToString().ToLowerInvariant()} meeting all SLOs at {(request.Rate > 0 ? F(request.Rate, "0.###") + " req/s" : "the trace's timing")}";
        if (request.Settings.Engine == "vllm")
        {
            what += " on vLLM V1 engines";
        }

        if (outcome.Best is { } best)
        {
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {best.Design} with {Size(best.Point)} machines{(throughput ? $" at {best.Rate:0.###} req/s" : "")} (${best.DollarsPerHour:0.#}/h, {best.Watts / 1000:0.##} kW); {outcome.Simulations} simulations"));
        }
        else
        {
            context.Output.WriteLine($"{what}: no design meets the SLOs within the limits; {outcome.Simulations} simulations");
        }
    }

    private static string F(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);

    private static void WriteTrials(string path, ProvisionOutcome outcome)
    {
        IO.AtomicFile.WriteText(path, w =>
        {
            w.NewLine = "\n";
            w.WriteLine("order,design,machines,prompt_machines,token_machines,rate,slo_pass,key");
            foreach (DesignSearch s in outcome.Designs)
            {
                int i = 0;
                foreach ((SweepPoint p, bool pass) in s.Trials)
                {
                    w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{++i},{p.Design},{p.Machines},{p.PromptMachines},{p.TokenMachines},{p.Rate},{(pass ? "true" : "false")},{p.Key}"));
                }
            }
        });
    }

    // JSON nodes, not anonymous objects: no reflection, so the Native AOT tool writes the same bytes.
    private static string ToJson(ProvisionOutcome outcome, bool throughput, ProvisionObjective goal, string engine)
    {
        static JsonObject? Choice(ProvisionChoice? c) => c is null ? null : new JsonObject
        {
            ["design"] = c.Design,
            ["machines"] = c.Point.Machines,
            ["prompt_machines"] = c.Point.PromptMachines,
            ["token_machines"] = c.Point.TokenMachines,
            ["rate"] = c.Rate,
            ["dollars_per_hour"] = c.DollarsPerHour,
            ["watts"] = c.Watts,
            ["slo_worst_ratio"] = c.Result.Slo.WorstRatio,
            ["goodput_rps"] = c.Result.Slo.Goodput,
        };
        var designs = new JsonArray();
        foreach (DesignSearch s in outcome.Designs)
        {
            designs.Add((JsonNode)new JsonObject { ["design"] = s.Design, ["best"] = Choice(s.Best), ["simulations"] = s.Simulations, ["note"] = s.Note });
        }

        var doc = new JsonObject
        {
            ["question"] = throughput ? "max-throughput" : "minimize-" + goal.ToString().ToLowerInvariant(),
            ["engine"] = engine,
            ["best"] = Choice(outcome.Best),
            ["simulations"] = outcome.Simulations,
            ["designs"] = designs,
        };
        return doc.ToJsonString(s_json);
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
}
