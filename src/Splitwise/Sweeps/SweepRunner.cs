using System.Text;

namespace Splitwise.Sweeps;

/// <summary>How to run a sweep.</summary>
/// <param name="OutputDirectory">Where the results CSV goes (created if missing).</param>
/// <param name="Shard">The part of the sweep to run.</param>
/// <param name="Parallelism">Points simulated at once; 0 for one per core.</param>
/// <param name="Restart">Discard an existing results file instead of resuming from it.</param>
public sealed record SweepRunOptions(string OutputDirectory, SweepShard Shard, int Parallelism = 0, bool Restart = false);

/// <summary>What a sweep run did.</summary>
/// <param name="ResultsPath">The results CSV.</param>
/// <param name="Points">Points in this shard.</param>
/// <param name="Resumed">Points already in the results file, skipped.</param>
/// <param name="Simulated">Points simulated by this run.</param>
public sealed record SweepRunSummary(string ResultsPath, int Points, int Resumed, int Simulated);

/// <summary>A point finished: for progress displays.</summary>
public readonly record struct SweepProgress(SweepPoint Point, SweepResult Result, int Done, int Total);

/// <summary>
/// Runs the points of a sweep (or of one shard) in parallel through an evaluator — the simulator, or a fake in tests —
/// appending each finished point's row to the results CSV with a flush, so an interrupted sweep keeps every finished
/// point and a rerun skips them. When all points are done the file is rewritten sorted by key: the same config gives
/// the same bytes however the points were scheduled, resumed or sharded.
/// </summary>
public static class SweepRunner
{
    public static async Task<SweepRunSummary> RunAsync(
        SweepConfig config,
        SweepRunOptions options,
        Func<SweepPoint, CancellationToken, SweepResult> evaluate,
        Action<SweepProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(evaluate);
        Directory.CreateDirectory(options.OutputDirectory);
        string path = Path.Combine(options.OutputDirectory, options.Shard.FileName);
        string header = SweepCsv.Header(config.Settings.Slos);

        IReadOnlyList<SweepPoint> all = config.Enumerate();
        var mine = new List<SweepPoint>();
        for (int i = 0; i < all.Count; i++)
        {
            if (options.Shard.Contains(i))
            {
                mine.Add(all[i]);
            }
        }

        var keys = new HashSet<string>(mine.Select(p => p.Key), StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal);
        long validLength = 0;
        if (!options.Restart && File.Exists(path))
        {
            (string? existingHeader, List<string> rows) = SweepCsv.Read(path, out validLength);
            if (existingHeader is not null && !string.Equals(existingHeader, header, StringComparison.Ordinal))
            {
                throw new SplitwiseException($"{path}:1:1: results file has other columns than this sweep (different SLOs or version); pass --restart to overwrite it or choose another --out");
            }

            foreach (string row in rows)
            {
                string key = SweepCsv.KeyOf(row);
                if (keys.Contains(key))
                {
                    finished.Add(key);
                }
            }
        }

        List<SweepPoint> todo = mine.Where(p => !finished.Contains(p.Key)).ToList();
        int done = finished.Count;
        var gate = new Lock();
        await using (var stream = new FileStream(path, options.Restart ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read))
        {
            stream.SetLength(options.Restart ? 0 : validLength);
            stream.Seek(0, SeekOrigin.End);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
            if (stream.Length == 0)
            {
                await writer.WriteAsync(header + "\n");
                await writer.FlushAsync(cancellationToken);
            }

            var parallel = new ParallelOptions
            {
                MaxDegreeOfParallelism = options.Parallelism > 0 ? options.Parallelism : Environment.ProcessorCount,
                CancellationToken = cancellationToken,
            };
            await Parallel.ForEachAsync(todo, parallel, (point, ct) =>
            {
                SweepResult result = evaluate(point, ct);
                string row = SweepCsv.Row(point, result) + "\n";
                int now;
                lock (gate)
                {
                    writer.Write(row);
                    writer.Flush();
                    now = ++done;
                }

                progress?.Invoke(new SweepProgress(point, result, now, mine.Count));
                return ValueTask.CompletedTask;
            });
        }

        (_, List<string> final) = SweepCsv.Read(path, out _);
        SweepCsv.WriteSorted(path, header, final.Where(r => keys.Contains(SweepCsv.KeyOf(r))).DistinctBy(SweepCsv.KeyOf, StringComparer.Ordinal));
        return new SweepRunSummary(path, mine.Count, finished.Count, todo.Count);
    }
}
