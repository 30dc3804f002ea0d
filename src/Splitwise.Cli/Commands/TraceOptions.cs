using System.CommandLine;
using Spectre.Console;
using Splitwise.Traces;

namespace Splitwise.Cli.Commands;

/// <summary>
/// The trace arguments shared by every command that reads traces: a named trace (<c>conv-2023</c>, …) or a path,
/// <c>--data-dir</c>, <c>--format</c> and <c>--skip-invalid</c>. Create one per command and <see cref="AddTo"/> it.
/// </summary>
internal sealed class TraceOptions
{
    public static readonly string FormatNames = "auto, azure2023, azure2024, splitwise, vidur, mooncake";

    public Option<string?> DataDir { get; } = new("--data-dir")
    {
        Description = "Directory of the named traces (default: $SPLITWISE_DATA, else a per-user cache); missing files are downloaded there",
    };

    public Option<string> Format { get; } = new("--format")
    {
        Description = $"Input trace format: {FormatNames} (default: auto, from the header)",
        DefaultValueFactory = _ => "auto",
    };

    public Option<bool> SkipInvalid { get; } = new("--skip-invalid")
    {
        Description = "Skip rows that do not parse (reported) instead of stopping at the first",
    };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(DataDir);
        command.Options.Add(Format);
        command.Options.Add(SkipInvalid);
    }

    /// <summary>Parses a format name (case-insensitive); a bad name is a usage error.</summary>
    public static TraceFormat ParseFormat(string name, string option = "--format") => name.ToUpperInvariant() switch
    {
        "AUTO" => TraceFormat.Auto,
        "AZURE2023" or "AZURE-2023" => TraceFormat.Azure2023,
        "AZURE2024" or "AZURE-2024" => TraceFormat.Azure2024,
        "SPLITWISE" or "SPLITWISESIM" => TraceFormat.SplitwiseSim,
        "VIDUR" => TraceFormat.Vidur,
        "MOONCAKE" => TraceFormat.Mooncake,
        _ => throw SplitwiseException.Usage($"{option} {name}: unknown trace format; use one of {FormatNames}"),
    };

    /// <summary>Reader options for one trace from the parsed command line.</summary>
    public TraceReadOptions ReadOptions(ParseResult parseResult, string displayName)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        return new TraceReadOptions
        {
            Format = ParseFormat(parseResult.GetValue(Format) ?? "auto"),
            SkipInvalid = parseResult.GetValue(SkipInvalid),
            DisplayName = displayName,
        };
    }

    /// <summary>
    /// Resolves a named trace (downloading it if missing) or checks that a path exists. Returns the file path and the
    /// display name (the trace name, or the file name).
    /// </summary>
    public (string Path, string Name) Resolve(ParseResult parseResult, string nameOrPath, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(nameOrPath);
        ArgumentNullException.ThrowIfNull(context);
        string? dataDir = parseResult.GetValue(DataDir);
        if (NamedTraces.IsNamed(nameOrPath))
        {
            if (!context.Interactive)
            {
                return (NamedTraces.Resolve(nameOrPath, dataDir, progress: null, baseUrl: null, log: context.Error, ct: cancellationToken), nameOrPath);
            }

            string resolved = "";
            context.Console.Progress().AutoClear(true).Start(progress =>
            {
                ProgressTask task = progress.AddTask($"downloading {nameOrPath}", autoStart: true, maxValue: 1);
                var report = new SyncProgress<DownloadProgress>(p =>
                {
                    task.IsIndeterminate = p.BytesTotal is null;
                    task.MaxValue = p.BytesTotal ?? Math.Max(1, p.BytesDone);
                    task.Value = p.BytesDone;
                });
                resolved = NamedTraces.Resolve(nameOrPath, dataDir, report, baseUrl: null, log: context.Error, ct: cancellationToken);
            });
            return (resolved, nameOrPath);
        }

        if (!File.Exists(nameOrPath))
        {
            throw SplitwiseException.Usage(
                Directory.Exists(nameOrPath)
                    ? $"{nameOrPath}: is a directory; give a trace file or a named trace (code-2023, conv-2023, code-2024, conv-2024)"
                    : $"{nameOrPath}: no such file or named trace; give a trace file or one of code-2023, conv-2023, code-2024, conv-2024");
        }

        return (nameOrPath, Path.GetFileName(nameOrPath));
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
