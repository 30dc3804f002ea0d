using System.Globalization;

namespace Splitwise.Reports;

/// <summary>The summary table shared by the terminal, the HTML report and the docs: one row per metric, one column per trace.</summary>
public static class SummaryTable
{
    /// <summary>Metric name and one formatted value per trace (invariant culture).</summary>
    public static IReadOnlyList<(string Metric, string[] Values)> Rows(IReadOnlyList<TraceStatistics> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        var rows = new List<(string, string[])>();
        void Add(string metric, Func<TraceStatistics, string> format) => rows.Add((metric, traces.Select(format).ToArray()));

        Add("requests", s => I(s.Requests));
        Add("start (UTC)", s => s.Start.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        Add("span", s => Span(s.SpanSeconds));
        Add("mean rate (req/s)", s => F(s.MeanRate, 3));
        Add("peak-minute rate (req/s)", s => F(s.PeakMinuteRate, 3));
        Add("inter-arrival CV", s => F(s.InterArrivalCv, 3));
        foreach ((string column, Func<TraceStatistics, TokenStatistics> get) in new (string, Func<TraceStatistics, TokenStatistics>)[]
        {
            ("input", s => s.Input),
            ("output", s => s.Output),
        })
        {
            Add($"{column} tokens mean", s => F(get(s).Mean, 1));
            Add($"{column} tokens min", s => I(get(s).Min));
            Add($"{column} tokens p50", s => I(get(s).P50));
            Add($"{column} tokens p90", s => I(get(s).P90));
            Add($"{column} tokens p99", s => I(get(s).P99));
            Add($"{column} tokens p99.9", s => I(get(s).P999));
            Add($"{column} tokens max", s => I(get(s).Max));
        }

        Add("Pearson r (input, output)", s => F(s.Pearson, 3));
        Add("Spearman rho (input, output)", s => F(s.Spearman, 3));
        Add("input tokens/s", s => F(s.InputTokensPerSecond, 1));
        Add("output tokens/s", s => F(s.OutputTokensPerSecond, 1));
        if (traces.Any(s => s.Prefix is not null))
        {
            string P(TraceStatistics s, Func<PrefixReuse, string> f) => s.Prefix is { } p ? f(p) : "—";
            Add("hash blocks", s => P(s, p => I(p.Blocks)));
            Add("distinct hash blocks", s => P(s, p => I(p.DistinctBlocks)));
            Add("blocks seen before", s => P(s, p => $"{I(p.BlocksSeenBefore)} ({Percent(p.SeenBeforeShare)})"));
            Add("infinite-cache hit (tokens)", s => P(s, p => Percent(p.TokenHitRate)));
            Add("infinite-cache hit (requests)", s => P(s, p => Percent(p.RequestHitRate)));
            Add("reuse distance p50/p90/p99 (s)", s => P(s, p => $"{F(p.DistanceSeconds.P50, 1)} / {F(p.DistanceSeconds.P90, 1)} / {F(p.DistanceSeconds.P99, 1)}"));
            Add("reuse distance p50/p90/p99 (req)", s => P(s, p => $"{F(p.DistanceRequests.P50, 0)} / {F(p.DistanceRequests.P90, 0)} / {F(p.DistanceRequests.P99, 0)}"));
        }

        if (traces.Any(s => s.OutOfOrder > 0))
        {
            Add("rows out of order", s => I(s.OutOfOrder));
        }

        if (traces.Any(s => s.SkippedRows > 0))
        {
            Add("invalid rows skipped", s => I(s.SkippedRows));
        }

        return rows;
    }

    private static string Percent(double share) => double.IsFinite(share) ? (share * 100).ToString("N1", CultureInfo.InvariantCulture) + " %" : "n/a";

    private static string I(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double v, int digits) =>
        double.IsFinite(v) ? v.ToString("N" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "n/a";

    private static string Span(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        string text = seconds.ToString("N1", CultureInfo.InvariantCulture) + " s";
        return t.TotalHours >= 1
            ? $"{text} ({(int)t.TotalDays}d {t.Hours:00}:{t.Minutes:00}:{t.Seconds:00})".Replace("(0d ", "(", StringComparison.Ordinal)
            : text;
    }
}
