using System.Globalization;

namespace Splitwise.Replay;

/// <summary>The latency metric an objective constrains.</summary>
public enum SloMetric
{
    /// <summary>Time to first token.</summary>
    Ttft,

    /// <summary>Per-request time between tokens: TPOT = (E2E − TTFT) / (output tokens − 1).</summary>
    Tbt,

    /// <summary>Inter-token latency over all gaps (checked on the distribution only, not per request).</summary>
    Itl,

    /// <summary>End-to-end latency.</summary>
    E2e,
}

/// <summary>One absolute objective, e.g. <c>ttft_p99=2s</c>: the 99th percentile of TTFT at most 2 s.</summary>
public readonly record struct Slo(SloMetric Metric, double Percentile, long ThresholdNanoseconds)
{
    public string Key => $"{Metric.ToString().ToLowerInvariant()}_p{Percentile.ToString("0.###", CultureInfo.InvariantCulture)}";
}

/// <summary>
/// A set of absolute latency objectives. A request is <i>good</i> when its TTFT, TBT (TPOT) and E2E are each within
/// every threshold given for that metric; goodput is good requests per second. Each objective is also checked on its
/// percentile of the run.
/// </summary>
public sealed class SloSet
{
    public static SloSet Empty { get; } = new([]);

    public SloSet(IReadOnlyList<Slo> objectives) => Objectives = objectives;

    public IReadOnlyList<Slo> Objectives { get; }

    /// <summary>Parses <c>ttft_p99=2s,tbt_p99=200ms,e2e_p50=10s</c> (metrics ttft, tbt|tpot, itl, e2e).</summary>
    public static SloSet Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Empty;
        }

        var list = new List<Slo>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            int us = part.IndexOf("_p", StringComparison.Ordinal);
            if (eq < 0 || us < 0 || us > eq)
            {
                throw SplitwiseException.Usage($"--slo '{part}': expected METRIC_pNN=DURATION, e.g. ttft_p99=2s,tbt_p99=200ms");
            }

            SloMetric metric = part[..us].ToLowerInvariant() switch
            {
                "ttft" => SloMetric.Ttft,
                "tbt" or "tpot" => SloMetric.Tbt,
                "itl" => SloMetric.Itl,
                "e2e" => SloMetric.E2e,
                string other => throw SplitwiseException.Usage($"--slo '{part}': unknown metric '{other}'; use ttft, tbt (or tpot), itl or e2e"),
            };
            if (!double.TryParse(part[(us + 2)..eq], NumberStyles.Float, CultureInfo.InvariantCulture, out double percentile) || percentile <= 0 || percentile > 100)
            {
                throw SplitwiseException.Usage($"--slo '{part}': percentile must be in (0, 100], e.g. p50, p90, p99, p99.9");
            }

            TimeSpan threshold = DurationText.Parse(part[(eq + 1)..], "--slo");
            if (threshold <= TimeSpan.Zero)
            {
                throw SplitwiseException.Usage($"--slo '{part}': threshold must be positive");
            }

            list.Add(new Slo(metric, percentile, threshold.Ticks * 100));
        }

        return new SloSet(list);
    }

    /// <summary>The per-request bound of a metric: the smallest threshold given for it, or <see cref="long.MaxValue"/>.</summary>
    public long BoundNanoseconds(SloMetric metric)
    {
        long bound = long.MaxValue;
        foreach (Slo slo in Objectives)
        {
            if (slo.Metric == metric)
            {
                bound = Math.Min(bound, slo.ThresholdNanoseconds);
            }
        }

        return bound;
    }

    public override string ToString() => string.Join(",", Objectives.Select(o => $"{o.Key}={(o.ThresholdNanoseconds / 1e6).ToString("0.###", CultureInfo.InvariantCulture)}ms"));
}
