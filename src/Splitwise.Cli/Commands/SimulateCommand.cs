using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Reports;
using Splitwise.Simulation;
using Splitwise.Traces;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise simulate</c>: discrete-event simulation of a serving cluster on a trace.</summary>
internal static class SimulateCommand
{
    /// <summary>Files above this size are streamed (arrival order required) instead of loaded and sorted.</summary>
    private const long StreamAboveBytes = 256L << 20;

    public static Command Create(CliContext context)
    {
        var trace = new Option<string>("--trace") { Description = "Named trace (conv-2023, code-2023, conv-2024, code-2024) or a trace file in any supported format", DefaultValueFactory = _ => "conv-2023" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Directory of the named traces and perf_model.csv (default: $SPLITWISE_DATA, else a per-user cache); missing files are downloaded there" };
        var format = new Option<string>("--format") { Description = "Trace format: auto, azure2023, azure2024, splitwise, vidur, mooncake", DefaultValueFactory = _ => "auto" };
        var skipInvalid = new Option<bool>("--skip-invalid") { Description = "Skip trace rows that do not parse instead of stopping" };
        var like = new Option<string?>("--like") { Description = "Generate a Poisson workload with sizes drawn from this trace (name or file) instead of replaying --trace" };
        var rate = new Option<double?>("--rate") { Description = "Arrival rate of the generated workload, requests/s (with --like)" };
        var requests = new Option<long?>("--requests") { Description = "Requests to generate (with --like; default: as many as fit --duration, else the size trace's count)" };
        var duration = new Option<string?>("--duration") { Description = "Span of generated arrivals, e.g. 600, 10m, 1h, 7d (with --like)" };
        var sloOption = new Option<string?>("--slo") { Description = "Judge SLOs: 'paper' (the nine slowdown SLOs vs an idle DGX-A100) or items like ttft_p99=2s,tbt_p99=200ms,e2e_p50=1.25x; writes slo.json" };
        var config = new Option<string?>("--config") { Description = "YAML cluster description (pools, model, scheduler, limits) instead of --design/--machines" };
        var model = new Option<string?>("--model") { Description = "Model: llama2-70b (default), bloom-176b, llama-3.1-8b, llama-3.1-70b, or one from --catalog" };
        var perf = new Option<string?>("--perf") { Description = "Performance model: profile (SplitwiseSim's perf_model.csv, default) or roofline" };
        var profile = new Option<string?>("--profile") { Description = "SplitwiseSim perf_model.csv (default: $SPLITWISE_PROFILE, else <data-dir>/perf_model.csv, downloaded if missing)" };
        var scheduler = new Option<string?>("--scheduler") { Description = "Cluster scheduler: token-jsq (default), jsq, round-robin, or prefix (vLLM engine: llm-d-style prefix-cache, queue and KV-utilisation scores; prefix:P:Q:K sets their weights, default 3:2:2; with a Splitwise design it picks a decode then a prefill instance, and prefix:P:Q:K:T runs prompts with fewer than T uncached tokens on the decode instance)" };
        var catalog = new Option<string?>("--catalog") { Description = "YAML/JSON file extending or overriding the GPU, machine and model catalog" };
        var compat = new Option<bool>("--splitwise-sim") { Description = "Reproduce SplitwiseSim exactly: its machine- and cluster-level schedulers, KV transfer and memory rules (KV without GQA; can stall under memory pressure)" };
        var noGqa = new Option<bool>("--no-gqa") { Description = "Size the KV cache without grouped-query attention (SplitwiseSim's 2 × hidden × layers × bytes per token)" };
        var horizon = new Option<string?>("--horizon") { Description = "Stop at this simulated time, e.g. 3600, 30m, 2h; requests not finished are reported as unfinished" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of generated workloads", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output directory for summary.json, summary.csv, requests.csv, instances.csv", DefaultValueFactory = _ => "simulate-out" };
        var json = new Option<bool>("--json") { Description = "Print summary.json to stdout instead of the table" };
        var noRequests = new Option<bool>("--no-requests-csv") { Description = "Do not write requests.csv (one row per request: 3 GB for a week of traffic)" };
        var stream = new Option<bool>("--stream") { Description = "Stream the trace file (arrival-ordered files only) instead of loading it; automatic above 256 MiB" };
        var reportOption = new Option<bool>("--report") { Description = "Also write report.html and its figures (CDFs, time series, per-instance utilisation and energy; about 0.5 s of rendering, so off by default)" };
        var exactLimit = new Option<long>("--exact-limit") { Description = "Values per metric kept for exact percentiles; beyond, a bounded log histogram (relative error <= 0.4%)", DefaultValueFactory = _ => 1_048_576 };

        var designOptions = new DesignOptions(defaultMachines: 20);
        var command = new Command("simulate", "Simulate an LLM serving cluster on a trace (SplitwiseSim semantics, profile or roofline performance model)");
        foreach (Option o in new Option[] { trace, dataDir, format, skipInvalid, like, rate, requests, duration, sloOption, config, model, perf, profile, scheduler, catalog, compat, noGqa, horizon, seed, output, json, noRequests, stream, exactLimit, reportOption })
        {
            command.Options.Add(o);
        }

        designOptions.AddTo(command);

        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, () =>
        {
            Catalog cat = pr.GetValue(catalog) is { } catalogPath ? Catalog.Load(catalogPath) : Catalog.BuiltIn;
            ClusterConfig cluster = designOptions.Resolve(pr, pr.GetValue(config), cat);
            SloSet? slos = pr.GetValue(sloOption) is { } sloText ? SloSet.Parse(sloText) : null;
            if (pr.GetValue(model) is { } m)
            {
                cluster = cluster with { Model = cat.Model(m).Name };
            }

            if (pr.GetValue(perf) is { } p)
            {
                cluster = cluster with { Performance = PerformanceModels.Parse(p) };
            }

            if (pr.GetValue(scheduler) is { } s)
            {
                _ = ClusterScheduler.Create(s, 1);
                cluster = cluster with { Scheduler = s.ToLowerInvariant() };
            }

            if (pr.GetValue(compat))
            {
                cluster = cluster.AsSplitwiseSim();
            }

            if (pr.GetValue(noGqa))
            {
                cluster = cluster with { Gqa = false };
            }

            string data = pr.GetValue(dataDir) ?? NamedTraces.DefaultDataDir;
            ProfileTable? table = cluster.Performance == PerformanceModelKind.Profile
                ? ProfileTable.Load(ProfileLocator.Resolve(pr.GetValue(profile), data, context.Error, ct))
                : null;

            var readOptions = new TraceReadOptions
            {
                Format = TraceOptions.ParseFormat(pr.GetValue(format)!),
                SkipInvalid = pr.GetValue(skipInvalid),
            };

            ArrivalSource arrivals;
            string traceName;
            if (pr.GetValue(like) is { } likeName)
            {
                double r = pr.GetValue(rate) ?? throw SplitwiseException.Usage("--like needs --rate (requests per second)");
                Trace sizes = TraceReader.Read(ResolveTrace(likeName, data, context), readOptions with { DisplayName = likeName });
                long? count = pr.GetValue(requests);
                TimeSpan? span = pr.GetValue(duration) is { } text ? Durations.Parse(text, "--duration") : null;
                long n = count ?? (span is null ? sizes.Count : long.MaxValue);
                long d = span is { } sp ? sp.Ticks * 100 : -1;
                arrivals = new PoissonArrivals(sizes, r, n, d, pr.GetValue(seed));
                traceName = string.Create(CultureInfo.InvariantCulture, $"poisson({r} req/s, sizes of {likeName}, seed {pr.GetValue(seed)})");
            }
            else
            {
                if (pr.GetValue(rate) is not null || pr.GetValue(requests) is not null || pr.GetValue(duration) is not null)
                {
                    throw SplitwiseException.Usage("--rate, --requests and --duration generate a workload and need --like <trace>");
                }

                string name = pr.GetValue(trace)!;
                string path = ResolveTrace(name, data, context);
                if (pr.GetValue(stream) || new FileInfo(path).Length > StreamAboveBytes)
                {
                    arrivals = ArrivalSource.FromChunks(TraceReader.ReadChunks(path, readOptions));
                }
                else
                {
                    arrivals = ArrivalSource.FromTrace(TraceReader.Read(path, readOptions with { DisplayName = name }));
                }

                traceName = name;
            }

            TimeSpan? horizonSpan = pr.GetValue(horizon) is { } ht ? Durations.Parse(ht, "--horizon") : null;
            var job = new SimulationJob(cluster, arrivals, traceName, pr.GetValue(output), cat, table,
                new SimulatorOptions(horizonSpan is { } h ? h.Ticks * 100 : long.MaxValue), pr.GetValue(exactLimit))
            {
                WriteRequests = !pr.GetValue(noRequests),
                CollectReport = pr.GetValue(reportOption),
            };

            ISloReference? sloReference = slos is null ? null : SloReferences.Create(slos, cluster.Model, cluster.Performance, cat, table);
            // The report's set-up (font, canvases) runs on the core the single-threaded simulation leaves idle.
            Task? prewarm = job.CollectReport && job.OutputDirectory is not null ? Task.Run(FigureRenderer.Prewarm, ct) : null;
            (SimulationSummary summary, SloReport? sloReport, SloRequests? sloRequestsData) = RunWithProgress(context, job, slos, sloReference, ct);
            IReadOnlyList<string>? report = null;
            if (job.CollectReport && job.OutputDirectory is not null)
            {
                SlowdownQuantiles? slowdowns = slos is { NeedsIdealLatency: true } && sloReference is not null
                    ? Slowdowns.Compute(slos, sloRequestsData!, sloReference, SimulationReportData.CdfPercents)
                    : null;
                prewarm!.GetAwaiter().GetResult();
                report = SimulationReport.Write(job.OutputDirectory, summary, slos, sloReport, slowdowns, "splitwise simulate");
            }

            if (pr.GetValue(json) && job.OutputDirectory is not null)
            {
                context.Output.WriteLine(File.ReadAllText(Path.Combine(job.OutputDirectory, "summary.json")).TrimEnd());
            }
            else if (pr.GetValue(json))
            {
                using var buffer = new MemoryStream();
                summary.WriteJson(buffer);
                context.Output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            }
            else
            {
                context.Output.Write(summary.ToText());
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"simulated {summary.Events:N0} events in {summary.WallSeconds:F3} s ({summary.Events / Math.Max(summary.WallSeconds, 1e-9) / 1e6:F1} M events/s); peak {summary.PeakInFlight:N0} requests in flight"));
                if (sloReport is not null)
                {
                    context.Output.Write(SloJson.ToText(sloReport));
                }

                string sim = job.WriteRequests && cluster.IsSplitwiseSim ? ", splitwise-sim/summary.csv, splitwise-sim/detailed/0.csv" : "";
                context.Output.WriteLine($"wrote {Path.Combine(job.OutputDirectory!, "summary.json")}, summary.csv, {(job.WriteRequests ? "requests.csv, " : "")}instances.csv{(sloReport is null ? "" : ", slo.json")}{sim}");
                if (report is not null)
                {
                    context.Output.WriteLine($"wrote {report.Count - 1} figure files and {report[^1]}");
                }
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static JudgedSimulation RunWithProgress(CliContext context, SimulationJob job, SloSet? slos, ISloReference? reference, CancellationToken ct)
    {
        if (!context.Interactive)
        {
            return ClusterSimulation.RunJudged(job, slos, reference, cancellationToken: ct);
        }

        JudgedSimulation? result = null;
        context.Console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("simulating", maxValue: 1);
                result = ClusterSimulation.RunJudged(job, slos, reference, progress: p =>
                {
                    double eps = p.Elapsed.TotalSeconds > 0 ? p.Events / p.Elapsed.TotalSeconds : 0;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"t={p.SimulatedNs / 1e9:F0}s  {p.Finished:N0} done  {eps / 1e6:F1}M events/s");
                    if (p.KnownTotal > 0)
                    {
                        task.MaxValue = p.KnownTotal;
                        task.Value = p.Finished;
                    }
                }, cancellationToken: ct);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    private static string ResolveTrace(string nameOrPath, string dataDir, CliContext context)
    {
        if (NamedTraces.IsNamed(nameOrPath))
        {
            return NamedTraces.Resolve(nameOrPath, dataDir, log: context.Error);
        }

        if (!File.Exists(nameOrPath))
        {
            throw SplitwiseException.Usage($"trace '{nameOrPath}' is neither a file nor a named trace ({string.Join(", ", NamedTraces.Names)})");
        }

        return nameOrPath;
    }
}
