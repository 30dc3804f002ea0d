using System.CommandLine;
using System.Globalization;
using System.IO.Compression;
using Splitwise.Common;
using Splitwise.IO;
using Splitwise.Traces;
using Splitwise.Workloads;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise generate</c>: synthesise a workload (seeded; byte-identical for the same flags).</summary>
internal static class GenerateCommand
{
    public static Command Create(CliContext context)
    {
        var like = new Option<string?>("--like")
        {
            Description = "Draw (input, output) pairs jointly from this trace (file or named trace), keeping their correlation; with --scale-to, the trace to time-scale",
        };
        var input = new Option<string?>("--input") { Description = "Input-token distribution: constant:N, uniform:A,B, normal:MU,SIGMA, lognormal:MU,SIGMA" };
        var output = new Option<string?>("--output") { Description = "Output-token distribution (same forms as --input)" };
        var rate = new Option<double>("--rate") { Description = "Mean arrival rate, requests per second (sessions per second with --sessions)" };
        var arrival = new Option<string>("--arrival")
        {
            Description = "Arrival process: poisson or gamma",
            DefaultValueFactory = _ => "poisson",
        };
        var cv = new Option<double>("--cv") { Description = "Coefficient of variation of gamma inter-arrival gaps (> 1 is burstier than Poisson)", DefaultValueFactory = _ => 1 };
        var duration = new Option<string?>("--duration") { Description = "Generate arrivals for this long, e.g. 90s, 1h, 7d" };
        var count = new Option<long?>("--count") { Description = "Generate exactly this many requests" };
        var scaleTo = new Option<double?>("--scale-to") { Description = "Time-scale the --like trace to this mean rate (requests per second), keeping its burstiness and sizes" };
        var seed = new Option<ulong>("--seed") { Description = "Root seed (one derived stream each for arrivals, sizes, whole seconds)", DefaultValueFactory = _ => 1 };
        var format = new Option<string>("--format")
        {
            Description = "Output format: azure2023, azure2024, splitwise, vidur, mooncake (JSON lines; the only one that keeps --sessions' hash chains)",
            DefaultValueFactory = _ => "azure2024",
        };
        var start = new Option<string?>("--start")
        {
            Description = "Instant of time zero, ISO 8601 (default: the --scale-to trace's start, else 2024-05-12T00:00:00Z for azure2024 and 2023-11-16T18:00:00Z otherwise)",
        };
        var wholeSeconds = new Option<double>("--whole-second-fraction")
        {
            Description = "Share of rows printed with whole-second timestamps like the real 2024 files (azure2024 only), e.g. 0.01",
        };
        var sessions = new Option<bool>("--sessions")
        {
            Description = "Multi-turn conversations with prefix hash chains: --rate is sessions per second, each turn's prompt = the previous prompt + its answer + new user tokens (write --format mooncake to keep the chains)",
        };
        var turns = new Option<string?>("--turns") { Description = "With --sessions: turns per session, constant:N, uniform:A,B, normal:MU,SIGMA, lognormal:MU,SIGMA (default uniform:1,7)" };
        var thinkTime = new Option<string?>("--think-time")
        {
            Description = "With --sessions: from one turn's arrival to the next's, exponential:MEAN, constant:D, uniform:A,B, lognormal:MU,SIGMA of seconds (default exponential:60s)",
        };
        var systemTokens = new Option<int?>("--system-prompt-tokens") { Description = "With --sessions: tokens of the system prompt each session starts with (default 0)" };
        var systemPrompts = new Option<int?>("--system-prompts") { Description = "With --sessions: distinct system prompts shared across sessions, each session picks one (default 1)" };
        var maxInput = new Option<int?>("--max-input-tokens") { Description = "With --sessions: a session ends when its prompt reaches this (a context window; default unlimited)" };
        var outFile = new Option<string?>("--out", "-o") { Description = "Output file (written atomically; .gz compresses); default stdout" };
        var traceOptions = new TraceOptions();

        var command = new Command("generate", "Synthesise a workload: Poisson/Gamma arrivals with sizes from a real trace or from distributions, or a real trace time-scaled to a rate");
        foreach (Option o in new Option[] { like, input, output, rate, arrival, cv, duration, count, scaleTo, seed, format, start, wholeSeconds, sessions, turns, thinkTime, systemTokens, systemPrompts, maxInput, outFile })
        {
            command.Options.Add(o);
        }

        traceOptions.AddTo(command);
        command.SetAction((parseResult, ct) => context.RunAsync(parseResult, () =>
        {
            TraceFormat fmt = TraceOptions.ParseFormat(parseResult.GetValue(format)!, "--format");
            string arrivalName = parseResult.GetValue(arrival)!;
            ArrivalKind kind = arrivalName.ToUpperInvariant() switch
            {
                "POISSON" => ArrivalKind.Poisson,
                "GAMMA" => ArrivalKind.Gamma,
                _ => throw SplitwiseException.Usage($"--arrival {arrivalName}: use poisson or gamma"),
            };
            double? target = parseResult.GetValue(scaleTo);
            var spec = new WorkloadSpec
            {
                Rate = parseResult.GetValue(rate),
                Arrival = kind,
                Cv = parseResult.GetValue(cv),
                Count = parseResult.GetValue(count),
                Duration = parseResult.GetValue(duration) is { } d ? Durations.Parse(d, "--duration") : null,
                ScaleTo = target,
                Seed = parseResult.GetValue(seed),
                Format = fmt,
                WholeSecondFraction = parseResult.GetValue(wholeSeconds),
                Input = parseResult.GetValue(input) is { } i ? SizeDistribution.Parse(i, "--input") : null,
                Output = parseResult.GetValue(output) is { } o ? SizeDistribution.Parse(o, "--output") : null,
                Sessions = ParseSessions(parseResult, sessions, turns, thinkTime, systemTokens, systemPrompts, maxInput),
            };
            DateTimeOffset? sourceStart = null;
            if (parseResult.GetValue(like) is { } source)
            {
                (string sourcePath, string name) = traceOptions.Resolve(parseResult, source, context, ct);
                Trace trace = TraceReader.Read(sourcePath, traceOptions.ReadOptions(parseResult, name) with { Sort = true }, out TraceReadReport report);
                if (report.SkippedRows > 0 || report.OutOfOrder > 0)
                {
                    context.Error.WriteLine($"note: {report}{(report.FirstErrors.Count > 0 ? "; first: " + string.Join(" | ", report.FirstErrors) : "")}");
                }

                if (trace.Count == 0)
                {
                    throw new SplitwiseException($"--like {source}: the trace has no requests");
                }

                spec = spec with
                {
                    LikeInputs = trace.Inputs.ToArray(),
                    LikeOutputs = trace.Outputs.ToArray(),
                    LikeArrivals = target is null ? null : trace.Arrivals.ToArray(),
                };
                sourceStart = trace.Start;
            }

            spec = spec with { Start = ParseStart(parseResult.GetValue(start), target is null ? null : sourceStart, fmt) };
            spec.Validate();

            if (spec.Sessions is not null && !TraceRowWriter.KeepsHashChains(fmt))
            {
                context.Error.WriteLine($"note: --format {parseResult.GetValue(format)} has no place for prefix hash chains; they are dropped (write --format mooncake to keep them)");
            }

            string? path = parseResult.GetValue(outFile);
            WorkloadSummary summary;
            if (path is null or "-")
            {
                using var writer = new TraceRowWriter(context.Output, fmt, spec.Start);
                summary = WorkloadGenerator.Generate(spec, writer);
            }
            else
            {
                summary = null!;
                AtomicFile.Write(path, stream =>
                {
                    Stream target = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                        ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true)
                        : stream;
                    using (var writer = new TraceRowWriter(target, fmt, spec.Start))
                    {
                        summary = WorkloadGenerator.Generate(spec, writer);
                    }

                    if (!ReferenceEquals(target, stream))
                    {
                        target.Dispose();
                    }
                });
                string ofSessions = spec.Sessions is null ? "" : string.Create(CultureInfo.InvariantCulture,
                    $" in {summary.Sessions:N0} sessions (at most {summary.PeakSessions:N0} at once)");
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {summary.Requests:N0} requests{ofSessions} over {summary.SpanSeconds:N1} s ({summary.MeanRate:N3} req/s) to {path}"));
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static SessionSpec? ParseSessions(ParseResult parseResult, Option<bool> sessions, Option<string?> turns, Option<string?> thinkTime,
        Option<int?> systemTokens, Option<int?> systemPrompts, Option<int?> maxInput)
    {
        if (!parseResult.GetValue(sessions))
        {
            foreach (Option o in new Option[] { turns, thinkTime, systemTokens, systemPrompts, maxInput })
            {
                if (parseResult.GetResult(o) is { Implicit: false })
                {
                    throw SplitwiseException.Usage($"{o.Name} applies to multi-turn workloads only; add --sessions");
                }
            }

            return null;
        }

        var spec = new SessionSpec();
        return spec with
        {
            Turns = parseResult.GetValue(turns) is { } t ? SizeDistribution.Parse(t, "--turns") : spec.Turns,
            ThinkTime = parseResult.GetValue(thinkTime) is { } k ? DurationDistribution.Parse(k, "--think-time") : spec.ThinkTime,
            SystemPromptTokens = parseResult.GetValue(systemTokens) ?? 0,
            SystemPrompts = parseResult.GetValue(systemPrompts) ?? 1,
            MaxInputTokens = parseResult.GetValue(maxInput) ?? int.MaxValue,
        };
    }

    private static DateTimeOffset ParseStart(string? text, DateTimeOffset? sourceStart, TraceFormat format)
    {
        if (text is null)
        {
            return sourceStart ?? (format == TraceFormat.Azure2024
                ? new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero)
                : new DateTimeOffset(2023, 11, 16, 18, 0, 0, TimeSpan.Zero));
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset v)
            ? v
            : throw SplitwiseException.Usage($"--start {text}: not an instant; use ISO 8601, e.g. 2024-05-12T00:00:00Z");
    }
}
