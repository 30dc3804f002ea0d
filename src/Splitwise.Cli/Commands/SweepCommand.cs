using System.CommandLine;
using System.Globalization;
using Splitwise.Reports;
using Splitwise.Sweeps;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise sweep</c>: a grid of simulations (designs × sizes × traces × rates), sharded, resumable.</summary>
internal static class SweepCommand
{
    public static Command Create(CliContext context)
    {
        var config = new Option<string>("--config") { Description = "Sweep YAML: traces, rates, designs and sizes, model, SLOs (see docs/sweep.md)", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory for results.csv (or results.shard-i-of-n.csv) and per-point latency CDFs", DefaultValueFactory = _ => "sweep-out" };
        var shard = new Option<string?>("--shard") { Description = "Run only shard i of n (i/n, 0-based); default from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID" };
        var shards = new Option<int?>("--shards") { Description = "Shard count when the index comes from the environment (else SPLITWISE_SHARDS or SLURM_ARRAY_TASK_COUNT)" };
        var parallel = new Option<int>("--parallel") { Description = "Points simulated at once (default: one per core)", DefaultValueFactory = _ => 0 };
        var restart = new Option<bool>("--restart") { Description = "Discard the existing results file instead of resuming (finished points are skipped by default)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Directory of the named traces and perf_model.csv (default: $SPLITWISE_DATA, else a per-user cache)" };

        var command = new Command("sweep", "Run a grid of simulations in parallel, appending each finished point to one results CSV (resumable, shardable)");
        foreach (Option o in new Option[] { config, output, shard, shards, parallel, restart, dataDir })
        {
            command.Options.Add(o);
        }

        command.Subcommands.Add(CreateMerge(context));
        command.Subcommands.Add(CreateReport(context));
        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, async token =>
        {
            SweepConfig sweep = SweepConfig.Load(pr.GetValue(config)!);
            SweepShard part = SweepShard.Resolve(pr.GetValue(shard), pr.GetValue(shards), Environment.GetEnvironmentVariable);
            int workers = pr.GetValue(parallel);
            if (workers < 0)
            {
                throw SplitwiseException.Usage("--parallel must be 0 (one per core) or positive");
            }

            string outDir = pr.GetValue(output)!;
            var evaluator = new SimulationEvaluator(pr.GetValue(dataDir), context.Error, Path.Combine(outDir, "cdf"));
            int total = sweep.Enumerate().Count;
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sweep {sweep.Name}: {total} points{(part.IsAll ? "" : $", shard {part} ({(total + part.Count - 1 - part.Index) / part.Count} points)")}, {(workers > 0 ? workers : Environment.ProcessorCount)} at a time"));
            var lockObj = new Lock();
            SweepRunSummary summary = await SweepRunner.RunAsync(sweep, new SweepRunOptions(outDir, part, workers, pr.GetValue(restart)), evaluator.Evaluate, p =>
            {
                lock (lockObj)
                {
                    context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{p.Done}/{p.Total}] {p.Point.Key}: {(p.Result.SloPass ? "meets" : "misses")} SLOs (worst {p.Result.Slo.WorstRatio:0.###}x of target), {p.Result.ThroughputRps:0.##} req/s"));
                }
            }, token);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Points} points ({summary.Resumed} resumed, {summary.Simulated} simulated) -> {summary.ResultsPath}"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command CreateMerge(CliContext context)
    {
        var inputs = new Argument<string[]>("shards") { Description = "Shard CSVs, or directories holding results.shard-*.csv", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Merged results CSV", Required = true };
        var config = new Option<string?>("--config") { Description = "The sweep YAML: fail if any of its points is missing from the shards" };
        var command = new Command("merge", "Join shard result CSVs into one, sorted by point key (identical to an unsharded run's file)");
        command.Arguments.Add(inputs);
        command.Options.Add(output);
        command.Options.Add(config);
        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, () =>
        {
            string outPath = Path.GetFullPath(pr.GetValue(output)!);
            var files = new List<string>();
            foreach (string input in pr.GetValue(inputs)!)
            {
                if (Directory.Exists(input))
                {
                    files.AddRange(Directory.GetFiles(input, "results.shard-*.csv").Order(StringComparer.Ordinal));
                }
                else
                {
                    files.Add(input);
                }
            }

            files.RemoveAll(f => string.Equals(Path.GetFullPath(f), outPath, StringComparison.Ordinal));
            if (files.Count == 0)
            {
                throw SplitwiseException.Usage("sweep merge: no shard files found (expected results.shard-*.csv in the directories given)");
            }

            int rows = SweepCsv.Merge(files, outPath);
            if (pr.GetValue(config) is { } configPath)
            {
                IReadOnlyList<SweepPoint> points = SweepConfig.Load(configPath).Enumerate();
                (_, List<string> merged) = SweepCsv.Read(outPath, out _);
                var have = new HashSet<string>(merged.Select(SweepCsv.KeyOf), StringComparer.Ordinal);
                List<string> missing = points.Select(p => p.Key).Where(k => !have.Contains(k)).ToList();
                if (missing.Count > 0)
                {
                    throw new SplitwiseException($"sweep merge: {missing.Count} of {points.Count} points missing from the shards (first: {missing[0]}); rerun the shards that failed — they resume — then merge again");
                }
            }

            context.Output.WriteLine($"merged {files.Count} files, {rows} points -> {outPath}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command CreateReport(CliContext context)
    {
        var results = new Argument<string>("results") { Description = "A sweep's results.csv (its cdf/ directory next to it supplies the latency CDFs)" };
        var output = new Option<string>("--out") { Description = "HTML report file", DefaultValueFactory = _ => "sweep-report.html" };
        var command = new Command("report", "HTML report of a sweep: latency CDFs per design, max SLO-compliant throughput per design, cost/power/throughput side by side");
        command.Arguments.Add(results);
        command.Options.Add(output);
        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, () =>
        {
            string path = SweepReport.Write(pr.GetValue(results)!, pr.GetValue(output)!);
            context.Output.WriteLine($"wrote {path}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
