using System.Globalization;
using System.Text;
using Splitwise.Designs;
using Splitwise.IO;

namespace Splitwise.Sweeps;

/// <summary>
/// The sweep results CSV: one row per point, first column the point's key. Rows are appended as points finish and
/// the file is rewritten sorted by key when a run (or a merge) completes, so the final file depends only on the
/// points, never on thread timing or sharding. Numbers use the invariant culture's shortest round-trip form; NaN is an
/// empty cell; an SLO value of +∞ (unfinished requests) is <c>inf</c>.
/// </summary>
public static class SweepCsv
{
    private static readonly string[] s_fixedColumns =
    [
        "key", "design", "machines", "prompt_machines", "token_machines", "trace", "rate", "seed", "model", "perf",
        "requests", "finished", "throughput_rps", "output_tokens_per_s",
        "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tbt_p50_ms", "tbt_p90_ms", "tbt_p99_ms",
        "e2e_p50_ms", "e2e_p90_ms", "e2e_p99_ms", "kv_transfer_mean_ms", "energy_kwh",
        "cost_per_hour", "power_kw", "slo_pass", "slo_worst_ratio", "goodput_rps", "slo_attainment",
    ];

    /// <summary>The header line for a sweep judged by <paramref name="slos"/>: the fixed columns, then one
    /// <c>slo_&lt;name&gt;</c> column per SLO with its value (a slowdown factor, or milliseconds for an absolute SLO).</summary>
    public static string Header(SloSet slos)
    {
        ArgumentNullException.ThrowIfNull(slos);
        return string.Join(',', s_fixedColumns.Concat(slos.Targets.Select(t => "slo_" + t.Name)));
    }

    /// <summary>One row (without newline) for a finished point.</summary>
    public static string Row(SweepPoint point, SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(result);
        DesignShape shape = SplitwiseDesignCatalog.Get(point.Design);
        var sb = new StringBuilder(512);
        var inv = CultureInfo.InvariantCulture;
        sb.Append(point.Key).Append(',').Append(point.Design).Append(',')
          .Append(point.Machines.ToString(inv)).Append(',')
          .Append(point.PromptMachines.ToString(inv)).Append(',')
          .Append(point.TokenMachines.ToString(inv)).Append(',')
          .Append(point.Trace).Append(',');
        Num(sb, point.Rate > 0 ? point.Rate : double.NaN);
        sb.Append(point.Settings.Seed.ToString(inv)).Append(',')
          .Append(point.Settings.Model).Append(',')
          .Append(point.Settings.Perf).Append(',')
          .Append(result.Requests.ToString(inv)).Append(',')
          .Append(result.Finished.ToString(inv)).Append(',');
        Num(sb, result.ThroughputRps);
        Num(sb, result.OutputTokensPerSecond);
        Num(sb, result.TtftP50Ms);
        Num(sb, result.TtftP90Ms);
        Num(sb, result.TtftP99Ms);
        Num(sb, result.TbtP50Ms);
        Num(sb, result.TbtP90Ms);
        Num(sb, result.TbtP99Ms);
        Num(sb, result.E2EP50Ms);
        Num(sb, result.E2EP90Ms);
        Num(sb, result.E2EP99Ms);
        Num(sb, result.KvTransferMeanMs);
        Num(sb, result.EnergyKwh);
        Num(sb, shape.DollarsPerHour(point.Machines, point.PromptMachines, point.TokenMachines));
        Num(sb, shape.ProvisionedWatts(point.Machines, point.PromptMachines, point.TokenMachines) / 1000);
        sb.Append(result.SloPass ? "true" : "false").Append(',');
        Num(sb, result.Slo.WorstRatio);
        Num(sb, result.Slo.Goodput);
        Num(sb, result.Slo.Attainment);
        foreach (SloOutcome o in result.Slo.Outcomes)
        {
            Num(sb, o.Slo.Kind == SloKind.Absolute ? o.Value / 1e6 : o.Value);
        }

        sb.Length--; // the last comma
        return sb.ToString();
    }

    private static void Num(StringBuilder sb, double v)
    {
        if (double.IsPositiveInfinity(v))
        {
            sb.Append("inf");
        }
        else if (!double.IsNaN(v))
        {
            sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
        }

        sb.Append(',');
    }

    /// <summary>The key (first cell) of a data row.</summary>
    public static string KeyOf(string row)
    {
        ArgumentNullException.ThrowIfNull(row);
        int comma = row.IndexOf(',', StringComparison.Ordinal);
        return comma < 0 ? row : row[..comma];
    }

    /// <summary>
    /// Reads a results file: its header and complete rows. A last line without a newline (a run killed mid-write) is
    /// dropped; <paramref name="validLength"/> is the length of the complete lines, where appending continues.
    /// </summary>
    public static (string? Header, List<string> Rows) Read(string path, out long validLength)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        validLength = end;
        string text = Encoding.UTF8.GetString(bytes, 0, end);
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            return (null, []);
        }

        return (lines[0], lines.Skip(1).ToList());
    }

    /// <summary>Writes header + rows sorted by key (ordinal), atomically.</summary>
    public static void WriteSorted(string path, string header, IEnumerable<string> rows)
    {
        List<string> sorted = rows.OrderBy(KeyOf, StringComparer.Ordinal).ToList();
        AtomicFile.WriteText(path, w =>
        {
            w.NewLine = "\n";
            w.Write(header);
            w.Write('\n');
            foreach (string row in sorted)
            {
                w.Write(row);
                w.Write('\n');
            }
        });
    }

    /// <summary>
    /// Joins shard files into one, sorted by key: equal to the unsharded sweep's file byte for byte. Headers must
    /// agree; a key present in two files must have identical rows (a point is deterministic); returns the number of rows.
    /// </summary>
    public static int Merge(IReadOnlyList<string> inputs, string output)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw SplitwiseException.Usage("sweep merge: no input files; pass the shard CSVs (or a directory holding them)");
        }

        string? header = null;
        string? headerFile = null;
        var rows = new Dictionary<string, (string Row, string File)>(StringComparer.Ordinal);
        foreach (string file in inputs)
        {
            if (!File.Exists(file))
            {
                throw SplitwiseException.Usage($"{file}: shard file not found");
            }

            (string? h, List<string> lines) = Read(file, out _);
            if (h is null)
            {
                continue;
            }

            if (header is null)
            {
                header = h;
                headerFile = file;
            }
            else if (!string.Equals(header, h, StringComparison.Ordinal))
            {
                throw new SplitwiseException($"{file}:1:1: header differs from {headerFile}'s; shards of one sweep share a config — merge only those");
            }

            int line = 1;
            foreach (string row in lines)
            {
                line++;
                string key = KeyOf(row);
                if (rows.TryGetValue(key, out var existing))
                {
                    if (!string.Equals(existing.Row, row, StringComparison.Ordinal))
                    {
                        throw new SplitwiseException($"{file}:{line}:1: point {key} also in {existing.File} with different results; were the shards run with different configs or versions?");
                    }

                    continue;
                }

                rows.Add(key, (row, file));
            }
        }

        if (header is null)
        {
            throw new SplitwiseException("sweep merge: every input file is empty; nothing to merge");
        }

        WriteSorted(output, header, rows.Values.Select(r => r.Row));
        return rows.Count;
    }
}
