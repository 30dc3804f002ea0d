using System.Globalization;
using Splitwise.IO;

namespace Splitwise.Simulation;

/// <summary>
/// Writes SplitwiseSim's own outputs into a directory laid out as its run directories are: <c>detailed/0.csv</c>, the
/// columns its <c>Scheduler.get_results</c> writes (<c>request_ids, response_times, queue_times, ttft_times,
/// tbt_times, nth_token_overheads, prompt_sizes, token_sizes</c>, seconds), one row per finished request in
/// completion order; and <c>summary.csv</c>, <c>application_id</c> then each column's
/// <c>mean, std, min, max, median, p50, p90, p95, p99, p999, geomean</c> (<c>utils.get_statistics</c>). SplitwiseSim's
/// notebooks read a <c>--splitwise-sim</c> run as they read their own. Files are written to temporary names and
/// renamed on <see cref="Commit"/>.
/// </summary>
public sealed class SplitwiseSimDetailedWriter : IDisposable
{
    /// <summary>The header, as SplitwiseSim writes it.</summary>
    public const string Header = "request_ids,response_times,queue_times,ttft_times,tbt_times,nth_token_overheads,prompt_sizes,token_sizes";

    private static readonly string[] s_stats = ["mean", "std", "min", "max", "median", "p50", "p90", "p95", "p99", "p999", "geomean"];

    private readonly string _directory;
    private readonly string _path;
    private readonly string _temp;
    private readonly StreamWriter _writer;
    private readonly MetricAccumulator[] _columns;
    private bool _committed;

    /// <param name="directory">The run directory (created if needed).</param>
    /// <param name="exactLimit">Values per column kept for exact percentiles (then a bounded histogram).</param>
    public SplitwiseSimDetailedWriter(string directory, long exactLimit = 1_048_576)
    {
        ArgumentNullException.ThrowIfNull(directory);
        _directory = Path.GetFullPath(directory);
        _path = Path.Combine(_directory, "detailed", "0.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _temp = AtomicFile.TempName(_path);
        _writer = new StreamWriter(_temp, append: false) { NewLine = "\n" };
        _writer.WriteLine(Header);
        _columns = [.. Header.Split(',').Select(_ => new MetricAccumulator(exactLimit))];
    }

    /// <summary>One request (unfinished ones are skipped: SplitwiseSim only reports completed requests).</summary>
    public void Add(RequestOutcome r)
    {
        if (!r.Finished)
        {
            return;
        }

        CultureInfo inv = CultureInfo.InvariantCulture;
        double ttft = r.TtftNs / 1e9, e2e = r.E2eNs / 1e9;
        _writer.Write(r.Id.ToString(inv));
        _writer.Write(',');
        _writer.Write(e2e.ToString("R", inv));
        _writer.Write(',');
        _writer.Write((r.QueueNs / 1e9).ToString("R", inv));
        _writer.Write(',');
        _writer.Write(ttft.ToString("R", inv));
        _writer.Write(',');
        _writer.Write(((e2e - ttft) / r.OutputTokens).ToString("R", inv)); // SplitwiseSim's tbt: per output token
        _writer.Write(',');
        _writer.Write((r.NthTokenOverheadNs / 1e9).ToString("R", inv));
        _writer.Write(',');
        _writer.Write(r.InputTokens.ToString(inv));
        _writer.Write(',');
        _writer.WriteLine(r.OutputTokens.ToString(inv));
        double[] row = [r.Id, e2e, r.QueueNs / 1e9, ttft, (e2e - ttft) / r.OutputTokens, r.NthTokenOverheadNs / 1e9, r.InputTokens, r.OutputTokens];
        for (int i = 0; i < row.Length; i++)
        {
            _columns[i].Add(row[i]);
        }
    }

    /// <summary>Closes the per-request file, writes the summary, and moves both into place.</summary>
    public void Commit()
    {
        _writer.Dispose();
        File.Move(_temp, _path, overwrite: true);
        string[] names = Header.Split(',');
        var header = new List<string> { "application_id" };
        var values = new List<string> { "0" };
        for (int i = 0; i < names.Length; i++)
        {
            MetricStats s = _columns[i].Compute();
            double[] stats = [s.Mean, s.Std, s.Min, s.Max, s.Median, s.P50, s.P90, s.P95, s.P99, s.P999, s.Geomean];
            for (int k = 0; k < s_stats.Length; k++)
            {
                header.Add($"{names[i]}_{s_stats[k]}");
                values.Add(double.IsNaN(stats[k]) ? "" : stats[k].ToString("R", CultureInfo.InvariantCulture));
            }
        }

        AtomicFile.WriteAllText(Path.Combine(_directory, "summary.csv"), string.Join(',', header) + "\n" + string.Join(',', values) + "\n");
        _committed = true;
    }

    public void Dispose()
    {
        _writer.Dispose();
        if (!_committed && File.Exists(_temp))
        {
            File.Delete(_temp);
        }
    }
}
