using System.Globalization;
using Splitwise.Common;
using Splitwise.Replay;
using Splitwise.Simulation;

namespace Splitwise.Reports;

/// <summary>
/// The figures of <c>replay</c>'s report, as plain data: measured beside predicted CDFs of TTFT, TPOT and E2E (and the
/// measured ITL, every gap), TTFT and ITL over the run (p50 and p99 of the requests sent in each time bucket), and
/// failures over the run by reason, beside the completions.
/// </summary>
public static class ReplayFigures
{
    /// <summary>Time buckets of the over-time figures.</summary>
    public const int Buckets = 100;

    /// <summary>All figures, in report order. <paramref name="rows"/> are the replay's results (null: never sent).</summary>
    public static IReadOnlyList<Figure> Build(IReadOnlyList<RequestResult?> rows, PredictedRun? predicted)
    {
        ArgumentNullException.ThrowIfNull(rows);
        RequestResult[] sent = [.. rows.Where(r => r is not null).Select(r => r!)];
        RequestResult[] ok = [.. sent.Where(r => r.Succeeded)];
        var figures = new List<Figure>
        {
            Cdf("cdf-ttft", "TTFT: send → first token", [.. ok.Select(r => r.TtftNs)], predicted?.TtftNs, predicted?.Design),
            Cdf("cdf-tpot", "TPOT: (E2E − TTFT) / (output − 1) per request", [.. ok.Where(r => r.TpotNs >= 0).Select(r => r.TpotNs)], predicted?.TpotNs, predicted?.Design),
            Cdf("cdf-e2e", "E2E: send → last token", [.. ok.Select(r => r.E2eNs)], predicted?.E2eNs, predicted?.Design),
            Cdf("cdf-itl", "ITL: every gap between output chunks", [.. ok.SelectMany(r => r.ItlNs)], null, null),
        };
        if (sent.Length == 0)
        {
            return figures;
        }

        long start = sent.Min(r => r.SentNs), end = sent.Max(r => r.SentNs);
        long width = Math.Max(1, ((end - start) / Buckets) + 1);
        int n = (int)(((end - start) / width) + 1);
        double[] x = [.. Enumerable.Range(0, n).Select(b => ((b + 0.5) * width) / 1e9)];
        int Bucket(RequestResult r) => (int)((r.SentNs - start) / width);
        string bucket = string.Create(CultureInfo.InvariantCulture, $"{width / 1e9:0.###} s");

        var ttft = ok.GroupBy(Bucket).ToDictionary(g => g.Key, g => g.Select(r => (double)r.TtftNs).Order().ToArray());
        var itl = ok.GroupBy(Bucket).ToDictionary(g => g.Key, g => g.SelectMany(r => r.ItlNs).Select(v => (double)v).Order().ToArray());
        figures.Add(OverTime("timeline-ttft", $"TTFT over the run (requests sent in each {bucket})", x, ttft));
        figures.Add(OverTime("timeline-itl", $"ITL over the run (gaps of the requests sent in each {bucket})", x, itl));

        var failures = new List<FigureSeries> { Count("completed", x, ok.Select(Bucket)) };
        foreach (IGrouping<string, RequestResult> reason in sent.Where(r => !r.Succeeded).GroupBy(r => r.Error!).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            failures.Add(Count("failed: " + reason.Key, x, reason.Select(Bucket)));
        }

        figures.Add(new Figure("timeline-failures", $"Completions and failures over the run (requests sent in each {bucket})", "send time (s)", "requests", failures));
        return figures;
    }

    private static Figure Cdf(string id, string title, long[] measured, long[]? predicted, string? design)
    {
        var series = new List<FigureSeries>();
        if (measured.Length > 0)
        {
            series.Add(SimulationFigures.CdfFromQuantiles("measured", SimulationReportData.CdfPercents, QuantilesMs(measured)));
        }

        if (predicted is { Length: > 0 })
        {
            series.Add(SimulationFigures.CdfFromQuantiles($"predicted ({design})", SimulationReportData.CdfPercents, QuantilesMs(predicted)));
        }

        return new Figure(id, "CDF of " + title, "ms", "% of requests ≤ x", series) { YIsPercent = true };
    }

    /// <summary>The value in ms at each of <see cref="SimulationReportData.CdfPercents"/> (<see cref="Percentiles.Linear{T}"/>).</summary>
    public static double[] QuantilesMs(long[] nanoseconds)
    {
        ArgumentNullException.ThrowIfNull(nanoseconds);
        long[] sorted = [.. nanoseconds.Order()];
        return [.. SimulationReportData.CdfPercents.Select(p => Percentiles.Linear<long>(sorted, p) / 1e6)];
    }

    private static Figure OverTime(string id, string title, double[] x, Dictionary<int, double[]> sortedByBucket)
    {
        FigureSeries Line(string label, double percentile)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            foreach ((int b, double[] values) in sortedByBucket.OrderBy(kv => kv.Key))
            {
                if (values.Length > 0)
                {
                    xs.Add(x[b]);
                    ys.Add(Percentiles.Linear<double>(values, percentile) / 1e6);
                }
            }

            return new FigureSeries(label, SeriesKind.Line, [.. xs], [.. ys]);
        }

        return new Figure(id, title, "send time (s)", "ms", [Line("p50", 50), Line("p99", 99)]);
    }

    private static FigureSeries Count(string label, double[] x, IEnumerable<int> buckets)
    {
        double[] y = new double[x.Length];
        foreach (int b in buckets)
        {
            y[b]++;
        }

        return new FigureSeries(label, SeriesKind.Line, x, y);
    }
}
