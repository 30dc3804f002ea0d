using System.CommandLine;
using System.Globalization;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Replay;
using Splitwise.Traces;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise replay</c>: open-loop replay of a trace against an OpenAI-compatible server.</summary>
public static class ReplayCommand
{
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var trace = new Option<string>("--trace") { Description = "Trace: conv-2023, code-2023, conv-2024, code-2024 or a file", Required = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "Where named traces live (default $SPLITWISE_DATA or ~/.cache/splitwise)" };
        var output = new Option<string>("--out") { Description = "Output directory for requests.csv/jsonl, summary.json, report.html", Required = true };
        var speedup = new Option<double>("--speedup") { Description = "Time compression of the arrivals (2 = twice as fast)", DefaultValueFactory = _ => 1.0 };
        var maxConcurrency = new Option<int>("--max-concurrency") { Description = "At most this many requests in flight (0 = unlimited)", DefaultValueFactory = _ => 0 };
        var duration = new Option<string?>("--duration") { Description = "Replay arrivals within this much trace time, e.g. 2m, 90s" };
        var count = new Option<int?>("--count") { Description = "Replay at most this many requests" };
        var slo = new Option<string?>("--slo") { Description = "SLOs to judge and goodput, as in simulate: ttft_p99=2s,tbt_p99=200ms,itl_p99=100ms; slowdowns vs an idle DGX-A100 (e2e_p50=1.25x, paper); per-request goodput bounds ttft=2s" };
        var noMax = new Option<bool>("--no-max-tokens") { Description = "Do not send max_tokens" };
        var noUsage = new Option<bool>("--no-usage") { Description = "Do not ask for stream_options.include_usage" };
        var json = new Option<bool>("--json") { Description = "Print summary.json instead of the table" };
        var predict = new Option<string?>("--predict") { Description = $"Also simulate the same requests on this design ({string.Join(", ", ClusterConfig.DesignNames.Concat(SplitwiseDesigns.Names))}) and report measured beside predicted" };
        var predictMachines = new Option<int>("--predict-machines") { Description = "Machines of a baseline --predict design", DefaultValueFactory = _ => 1 };
        var predictPrompt = new Option<int?>("--predict-prompt-machines") { Description = "Prompt machines of a Splitwise --predict design" };
        var predictToken = new Option<int?>("--predict-token-machines") { Description = "Token machines of a Splitwise --predict design" };
        var serverSpeedup = new Option<double>("--server-speedup") { Description = "The server is 'splitwise serve --speedup S': predict for that time compression", DefaultValueFactory = _ => 1.0 };
        var profile = new Option<string?>("--profile") { Description = "perf_model.csv for --predict, or a profile from 'splitwise profile' (default: $SPLITWISE_PROFILE, else <data-dir>/perf_model.csv)" };
        var predictModel = new Option<string?>("--predict-model") { Description = "Model of the --predict design (default llama2-70b; one from --catalog for a server you profiled)" };
        var predictMachine = new Option<string?>("--predict-machine") { Description = "Machine of a baseline --predict design instead of the design's (one from --catalog for a server you profiled)" };
        var predictTp = new Option<int?>("--predict-tp") { Description = "GPUs per instance of the --predict design (default 8, or all of a --predict-machine's GPUs)" };
        var predictConfig = new Option<string?>("--predict-config") { Description = "A YAML cluster description (model, pools, limits) to predict on instead of --predict DESIGN" };
        var catalog = new Option<string?>("--catalog") { Description = "YAML/JSON file extending the GPU, machine and model catalog for --predict" };
        var maxFailed = new Option<string>("--max-failed") { Description = "Exit 1 with a warning when more than this percentage of requests failed, e.g. 2%", DefaultValueFactory = _ => "0%" };
        var allowPrefixReuse = new Option<bool>("--allow-prefix-reuse") { Description = "Send the same prompts as every run with this --seed (the server's prefix cache may then serve them)" };
        var noWarmup = new Option<bool>("--no-warmup") { Description = "Skip the unmeasured warm-up request that checks endpoint and model first" };

        var client = new ClientOptions();
        var command = new Command("replay", "Replay a trace open-loop against an OpenAI-compatible server and measure TTFT, ITL/TPOT, E2E and goodput");
        client.AddTo(command);
        foreach (Option o in (Option[])[trace, dataDir, output, speedup, maxConcurrency, duration, count, slo, noMax, noUsage, json, noWarmup, maxFailed, allowPrefixReuse, predict, predictMachines, predictPrompt, predictToken, predictModel, predictMachine, predictTp, predictConfig, catalog, serverSpeedup, profile])
        {
            command.Options.Add(o);
        }

        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, async token =>
        {
            ReplayOptions options = client.Resolve(pr, pr.GetValue(output)!) with
            {
                Speedup = pr.GetValue(speedup),
                MaxConcurrency = pr.GetValue(maxConcurrency),
                Duration = pr.GetValue(duration) is { } d ? Durations.Parse(d, "--duration") : null,
                Count = pr.GetValue(count),
                SendMaxTokens = !pr.GetValue(noMax),
                IncludeUsage = !pr.GetValue(noUsage),
                Warmup = !pr.GetValue(noWarmup),
                AllowPrefixReuse = pr.GetValue(allowPrefixReuse),
                MaxFailedPercent = ParsePercent(pr.GetValue(maxFailed)!, "--max-failed"),
            };
            if (pr.GetValue(slo) is { } sloText && !string.IsNullOrWhiteSpace(sloText))
            {
                SloSet slos = SloSet.Parse(sloText);
                options = options with
                {
                    Slo = slos,
                    SloReference = slos.NeedsIdealLatency
                        ? SloReferences.Create(
                            slos,
                            ClusterConfig.ForDesign(pr.GetValue(predict) ?? "baseline-a100", pr.GetValue(predictMachines)).Model,
                            PerformanceModelKind.Profile,
                            Catalog.BuiltIn,
                            ProfileTable.Load(ProfileLocator.Resolve(pr.GetValue(profile), pr.GetValue(dataDir) ?? NamedTraces.DefaultDataDir, context.Error, token)),
                            pr.GetValue(serverSpeedup))
                        : null,
                };
            }

            options.Validate();
            // The prediction's design, model, machine and profile are checked before the run, not after it.
            Catalog cat = pr.GetValue(catalog) is { } catalogPath ? Catalog.Load(catalogPath) : Catalog.BuiltIn;
            ClusterConfig? predictCluster = PredictCluster(pr.GetValue(predict), pr.GetValue(predictConfig), pr.GetValue(predictMachines), pr.GetValue(predictPrompt), pr.GetValue(predictToken), pr.GetValue(predictTp), pr.GetValue(predictMachine), pr.GetValue(predictModel), cat);
            ProfileTable? predictProfile = predictCluster is { Performance: PerformanceModelKind.Profile } ? ProfileTable.Load(ServeCommand.ResolveProfile(pr.GetValue(profile), pr.GetValue(dataDir))) : null;
            if (predictCluster is not null)
            {
                IReadOnlyList<Simulation.InstanceSpec> instances = predictCluster.BuildInstances(cat, predictProfile);
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"predicting on {predictCluster.Design}: {predictCluster.Model} on {string.Join(" + ", predictCluster.Pools.Select(p => $"{p.Count} × {p.Machine} (tp {p.TensorParallel})"))}, {instances.Count} instance(s), {predictCluster.Performance.ToString().ToLowerInvariant()} model{(predictProfile is null ? "" : " from " + predictProfile.Source)}"));
            }

            string path = NamedTraces.Resolve(pr.GetValue(trace)!, pr.GetValue(dataDir), log: context.Error, ct: token);
            Trace loaded = TraceReader.Read(path, new TraceReadOptions { DisplayName = NamedTraces.IsNamed(pr.GetValue(trace)!) ? pr.GetValue(trace)!.ToLowerInvariant() : null });
            var runner = new ReplayRunner(options, loaded);
            if (loaded.HasHashChains)
            {
                await context.Error.WriteLineAsync("the trace's prefix hash chains are reproduced: equal hash ids send equal 512-token blocks");
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"replaying {runner.Plan.Count} requests of {loaded.Name} over {runner.Plan.Span.TotalSeconds:0.0} s against {OpenAiClient.EndpointUrl(options.Endpoint, options.Api)}"));
            ReplaySummary summary = context.Interactive
                ? await RunWithProgressAsync(context, runner, token)
                : await runner.RunAsync(token);
            PredictedRun? predicted = null;
            if (predictCluster is not null)
            {
                predicted = ReplayPrediction.Run(runner.Plan, predictCluster, cat, predictProfile, pr.GetValue(serverSpeedup), Path.Combine(options.OutputDirectory, "predicted"), token).Run;
            }

            Reports.ReplayReportPage.Write(options.OutputDirectory, summary, runner.Results, predicted);
            await context.Output.WriteAsync(pr.GetValue(json) ? summary.ToJson() + "\n" : summary.ToText());
            if (predicted is not null)
            {
                await context.Output.WriteLineAsync(Compare("TTFT", summary.TtftMs, predicted.Ttft));
                await context.Output.WriteLineAsync(Compare("TPOT", summary.TpotMs, predicted.Tpot));
                await context.Output.WriteLineAsync(Compare("E2E", summary.E2eMs, predicted.E2e));
            }
            await context.Error.WriteLineAsync($"wrote {Path.Combine(options.OutputDirectory, "requests.csv")}, requests.jsonl, summary.json, report.html");
            if (summary.PromptWarning is { } promptWarning)
            {
                await context.Error.WriteLineAsync(promptWarning);
            }

            if (summary.FailureWarning is { } warning)
            {
                await context.Error.WriteLineAsync(warning);
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>
    /// The cluster <c>--predict</c> simulates: a YAML description, or a named design (a baseline moved to
    /// <paramref name="machine"/> when given) with <paramref name="model"/>; null without either.
    /// </summary>
    private static ClusterConfig? PredictCluster(string? design, string? configPath, int machines, int? prompt, int? token, int? tp, string? machine, string? model, Catalog catalog)
    {
        if (configPath is not null)
        {
            if (design is not null || machine is not null)
            {
                throw SplitwiseException.Usage("--predict-config describes the whole cluster; drop --predict and --predict-machine");
            }

            ClusterConfig fromFile = ClusterConfig.Load(configPath);
            return model is null ? fromFile : fromFile with { Model = catalog.Model(model).Name };
        }

        if (design is null)
        {
            return model is not null || machine is not null || tp is not null
                ? throw SplitwiseException.Usage("--predict-model, --predict-machine and --predict-tp go with --predict DESIGN (e.g. --predict baseline-a100) or --predict-config")
                : null;
        }

        ClusterConfig cluster = machine is not null
            ? DesignOptions.OnMachine(SplitwiseDesigns.Named(design, machines, prompt, token, tp ?? 8, optionPrefix: "--predict-"), machine, tp, catalog)
            : SplitwiseDesigns.Named(design, machines, prompt, token, tp ?? 8, optionPrefix: "--predict-");
        return model is null ? cluster : cluster with { Model = catalog.Model(model).Name };
    }

    /// <summary>A percentage written <c>2</c>, <c>2%</c> or <c>2.5 %</c>.</summary>
    internal static double ParsePercent(string text, string option)
    {
        string t = text.Trim().TrimEnd('%').Trim();
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw SplitwiseException.Usage($"{option} '{text}': not a percentage; write e.g. 2% or 0");
    }

    private static string Compare(string name, LatencyStats? measured, LatencyStats predicted) => measured is null
        ? $"{name,-5} measured/predicted ms  (no measured samples)"
        : string.Create(CultureInfo.InvariantCulture,
            $"{name,-5} measured/predicted ms  p50 {measured.P50:0.0}/{predicted.P50:0.0} ({Err(measured.P50, predicted.P50)})  p90 {measured.P90:0.0}/{predicted.P90:0.0} ({Err(measured.P90, predicted.P90)})  p99 {measured.P99:0.0}/{predicted.P99:0.0} ({Err(measured.P99, predicted.P99)})");

    private static string Err(double m, double p) => Math.Round(100 * (m - p) / p, 1).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + "%";

    private static Task<ReplaySummary> RunWithProgressAsync(CliContext context, ReplayRunner runner, CancellationToken token) =>
        context.RunWithProgressAsync("replay", () => runner.RunAsync(token), () =>
        {
            ReplayProgress p = runner.Progress;
            return (p.Done, p.Planned, string.Create(CultureInfo.InvariantCulture,
                $"sent {p.Sent}/{p.Planned}  done {p.Done}  failed {p.Failed}  p50 TTFT {(double.IsNaN(p.LiveP50TtftMs) ? "-" : p.LiveP50TtftMs.ToString("0.0", CultureInfo.InvariantCulture) + " ms")}"));
        });
}
