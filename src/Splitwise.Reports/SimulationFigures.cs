using System.Globalization;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Simulation;

namespace Splitwise.Reports;

/// <summary>Slowdown quantiles for the report's slowdown CDF: per metric, the value at each percent level (non-finite
/// where unfinished requests reach that level).</summary>
public sealed record SlowdownQuantiles(double[] Percents, double[] Ttft, double[] Tbt, double[] E2E);

/// <summary>
/// The figures of <c>simulate</c>'s report, as plain data: latency CDFs (with the SLO targets when given), the run's time
/// series (arrivals and completions, requests queued and running, batch requests and tokens and KV memory per pool,
/// machines in the mixed pool) and utilisation and energy per instance.
/// </summary>
public static class SimulationFigures
{
    /// <summary>All figures, in report order. <paramref name="slos"/> draws absolute targets on the latency CDFs;
    /// <paramref name="slowdowns"/> adds the slowdown CDF with the slowdown targets.</summary>
    public static IReadOnlyList<Figure> Build(SimulationSummary summary, SloSet? slos = null, SlowdownQuantiles? slowdowns = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        SimulationReportData data = summary.ReportData ?? throw new ArgumentException("the run did not collect report data (SimulationJob.CollectReport)", nameof(summary));
        var figures = new List<Figure>
        {
            LatencyCdf("cdf-ttft", "TTFT: arrival → first token", data, [("TTFT", "ttft_times")], slos, SloMetric.Ttft),
            LatencyCdf("cdf-tbt", "TBT and TPOT: mean time between tokens per request", data,
                [("TBT (E2E − TTFT) / output", "tbt_times"), ("TPOT (E2E − TTFT) / (output − 1)", "tpot_times")],
                slos, SloMetric.Tbt, SloMetric.Itl),
            LatencyCdf("cdf-tbt-max", "each request's largest gap between tokens", data, [("largest gap", "tbt_max_times")], null),
            LatencyCdf("cdf-e2e", "E2E: arrival → last token", data, [("E2E", "response_times")], slos, SloMetric.E2E),
            LatencyCdf("cdf-queue", "Queueing delay: arrival → prompt start", data, [("queueing delay", "queue_times")], null),
        };
        if (slowdowns is not null)
        {
            figures.Add(SlowdownCdf(slowdowns, slos));
        }

        SimulationTimelineData t = data.Timeline;
        (double[] x, string unit) = TimeAxis(t);
        // Rates per second of the time each bucket covers (the last one ends with the run).
        double[] seconds = [.. Enumerable.Range(0, t.Count).Select(b => Math.Max(1, Math.Min(t.BucketNs, t.EndNs - (b * t.BucketNs))) / 1e9)];
        var flow = new List<FigureSeries>
        {
            new("arrivals", SeriesKind.Line, x, [.. t.Arrivals.Select((v, b) => v / seconds[b])]),
            new("completions", SeriesKind.Line, x, [.. t.Completions.Select((v, b) => v / seconds[b])]),
        };
        if (t.Rejections.Any(v => v > 0))
        {
            flow.Add(new("rejections", SeriesKind.Line, x, [.. t.Rejections.Select((v, b) => v / seconds[b])]));
        }

        string bucket = BucketText(t.BucketNs);
        figures.Add(new Figure("timeline-arrivals", $"Arrivals and completions (per {bucket} bucket)", $"time ({unit})", "requests/s", flow));
        figures.Add(new Figure("timeline-requests", $"Requests queued and running (mean over each {bucket})", $"time ({unit})", "requests",
            [
                new("queued (prompt not started)", SeriesKind.Line, x, t.Queued),
                new("running (prompt started, not finished)", SeriesKind.Line, x, t.Running),
            ]));
        figures.Add(new Figure("timeline-batch-requests", "Batch size: requests per running batch, mean per instance", $"time ({unit})", "requests per instance",
            PerPool(t, x, t.BatchRequests, 1)));
        figures.Add(new Figure("timeline-batch-tokens", "Batch size: tokens per running batch (prompt tokens + decodes), mean per instance", $"time ({unit})", "tokens per instance",
            PerPool(t, x, t.BatchTokens, 1)));
        figures.Add(new Figure("timeline-kv-memory", "KV memory in use, % of the pool's KV capacity", $"time ({unit})", "% of KV capacity",
            [.. t.Pools.Select((p, i) => new FigureSeries(PoolLabel(t, i), SeriesKind.Line, x,
                [.. t.KvBytes[i].Select(v => t.PoolKvCapacityBytes[i] > 0 ? 100.0 * v / t.PoolKvCapacityBytes[i] : 0)]))]));
        figures.Add(InstanceKv(t, x, unit));
        if (t.MixedMachines is { } mixed)
        {
            figures.Add(new Figure("timeline-mixed-pool", "Splitwise pool borrowing: machines in the mixed pool", $"time ({unit})", "machines (mean over bucket)",
                [new FigureSeries("mixed pool", SeriesKind.Line, x, mixed)]));
        }

        figures.Add(PerInstance("instance-utilization", "Utilisation per instance (busy share of the run)", "% busy", summary, s => 100 * s.Utilization));
        figures.Add(PerInstance("instance-energy", "GPU energy per instance", "kWh", summary, s => s.EnergyKwh));
        return figures;
    }

    /// <summary>Most instances drawn one line each; a larger cluster as the spread across its instances.</summary>
    public const int MaxInstanceLines = 12;

    /// <summary>KV memory in use per instance over the run, % of its capacity (the vLLM engine's block usage): a line
    /// per instance up to <see cref="MaxInstanceLines"/>, else the most and least used instance and the median in each
    /// bucket.</summary>
    public static Figure InstanceKv(SimulationTimelineData t, double[] x, string unit)
    {
        ArgumentNullException.ThrowIfNull(t);
        double[][] percent = new double[t.InstanceKvBytes.Length][];
        for (int i = 0; i < percent.Length; i++)
        {
            long capacity = t.InstanceKvCapacityBytes[i];
            percent[i] = [.. t.InstanceKvBytes[i].Select(b => capacity > 0 ? 100.0 * b / capacity : 0)];
        }

        List<FigureSeries> series;
        if (percent.Length <= MaxInstanceLines)
        {
            series = [.. percent.Select((p, i) => new FigureSeries(t.Instances[i], SeriesKind.Line, x, p))];
        }
        else
        {
            // One sort of the instances' values per bucket gives all three lines (was a LINQ sort per line and bucket).
            double[] most = new double[t.Count], median = new double[t.Count], least = new double[t.Count];
            double[] v = new double[percent.Length];
            int half = v.Length / 2;
            for (int b = 0; b < t.Count; b++)
            {
                for (int i = 0; i < v.Length; i++)
                {
                    v[i] = percent[i][b];
                }

                Array.Sort(v);
                (most[b], least[b]) = (v[^1], v[0]);
                median[b] = v.Length % 2 == 1 ? v[half] : (v[half - 1] + v[half]) / 2;
            }

            series =
            [
                new("most used instance", SeriesKind.Line, x, most),
                new("median instance", SeriesKind.Line, x, median),
                new("least used instance", SeriesKind.Line, x, least),
            ];
        }

        return new Figure("timeline-kv-instances", $"KV memory in use per instance, % of its KV capacity{(percent.Length > MaxInstanceLines ? $" (spread across {percent.Length} instances)" : "")}",
            $"time ({unit})", "% of KV capacity", series);
    }

    /// <summary>The CDF of a metric from its quantiles: x = value, y = percent; non-finite values are left out.</summary>
    public static FigureSeries CdfFromQuantiles(string label, double[] percents, double[] values)
    {
        ArgumentNullException.ThrowIfNull(percents);
        ArgumentNullException.ThrowIfNull(values);
        var x = new List<double>(values.Length);
        var y = new List<double>(values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            if (double.IsFinite(values[i]))
            {
                x.Add(values[i]);
                y.Add(percents[i]);
            }
        }

        return new FigureSeries(label, SeriesKind.Line, [.. x], [.. y]);
    }

    /// <summary>An SLO target as a marker at (target, percentile) on a CDF.</summary>
    public static FigureSeries TargetMarker(SloTarget slo, double x, int? colorIndex = null) =>
        new($"SLO {slo.Name} ≤ {slo.TargetText}", SeriesKind.Points, [x], [slo.Percentile]) { Emphasis = true, ColorIndex = colorIndex };

    private static Figure LatencyCdf(string id, string title, SimulationReportData data, (string Label, string Metric)[] metrics, SloSet? slos, params SloMetric[] sloMetrics)
    {
        var series = new List<FigureSeries>();
        foreach ((string label, string metric) in metrics)
        {
            if (data.Quantiles.TryGetValue(metric, out double[]? q) && q.Length > 0)
            {
                series.Add(CdfFromQuantiles(label, data.Percents, q));
            }
        }

        if (slos is not null)
        {
            // A TBT SLO bounds (E2E − TTFT) / (output − 1): the TPOT curve's colour when it is drawn.
            int curves = series.Count;
            foreach (SloTarget slo in slos.Targets.Where(s => s.Kind == SloKind.Absolute && sloMetrics.Contains(s.Metric)))
            {
                series.Add(TargetMarker(slo, slo.Target / 1e9, slo.Metric == SloMetric.Tbt && curves > 1 ? 1 : 0));
            }
        }

        return new Figure(id, "CDF of " + title, "seconds", "% of requests ≤ x", series) { YIsPercent = true };
    }

    private static Figure SlowdownCdf(SlowdownQuantiles s, SloSet? slos)
    {
        var series = new List<FigureSeries>
        {
            CdfFromQuantiles("TTFT slowdown", s.Percents, s.Ttft),
            CdfFromQuantiles("TBT slowdown", s.Percents, s.Tbt),
            CdfFromQuantiles("E2E slowdown", s.Percents, s.E2E),
        };
        SloTarget[] targets = slos is null ? [] : [.. slos.Targets.Where(t => t.Kind == SloKind.Slowdown)];
        series.AddRange(targets.Select(t => TargetMarker(t, t.Target, t.Metric switch { SloMetric.Ttft => 0, SloMetric.E2E => 2, _ => 1 })));

        // The axis ends past the loosest target and the p99s; a longer tail is cut off (the table has the maximum).
        double p99 = new[] { s.Ttft, s.Tbt, s.E2E }.Select(q => At(s.Percents, q, 99)).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        double xMax = Math.Max(targets.Length == 0 ? 0 : targets.Max(t => t.Target) * 1.2, p99 * 1.2);
        return new Figure("cdf-slowdown", "CDF of slowdown vs the same request alone on an idle DGX-A100 (TP8)", "slowdown (×)", "% of requests ≤ x", series)
        {
            YIsPercent = true,
            XMax = xMax,
        };
    }

    private static double At(double[] percents, double[] quantiles, double percent)
    {
        int i = Array.IndexOf(percents, percent);
        return i >= 0 && i < quantiles.Length ? quantiles[i] : double.NaN;
    }

    /// <summary>Bucket centres in the unit that suits the run's length (seconds up to 10 minutes, minutes up to 10 hours, else hours).</summary>
    public static (double[] X, string Unit) TimeAxis(SimulationTimelineData t)
    {
        ArgumentNullException.ThrowIfNull(t);
        (double scale, string unit) = t.EndNs switch
        {
            <= 600_000_000_000L => (1e9, "s"),
            <= 36_000_000_000_000L => (60e9, "min"),
            _ => (3600e9, "h"),
        };
        double[] x = new double[t.Count];
        for (int b = 0; b < x.Length; b++)
        {
            long start = b * t.BucketNs, end = Math.Min(t.EndNs, start + t.BucketNs);
            x[b] = (start + end) / 2.0 / scale;
        }

        return (x, unit);
    }

    private static List<FigureSeries> PerPool(SimulationTimelineData t, double[] x, double[][] sums, double scale) =>
        [.. t.Pools.Select((p, i) => new FigureSeries(PoolLabel(t, i), SeriesKind.Line, x,
            [.. sums[i].Select(v => v * scale / Math.Max(1, t.PoolInstances[i]))]))];

    private static string PoolLabel(SimulationTimelineData t, int pool) =>
        string.Create(CultureInfo.InvariantCulture, $"{t.Pools[pool]} pool ({t.PoolInstances[pool]} instance{(t.PoolInstances[pool] == 1 ? "" : "s")})");

    private static Figure PerInstance(string id, string title, string yLabel, SimulationSummary summary, Func<InstanceSummary, double> value)
    {
        var series = new List<FigureSeries>();
        foreach (IGrouping<string, InstanceSummary> pool in summary.InstanceDetails.GroupBy(s => s.Roles))
        {
            InstanceSummary[] list = [.. pool];
            series.Add(new FigureSeries(pool.Key == "mixed" && summary.InstanceDetails.All(s => s.Roles == "mixed") ? "instances" : pool.Key + " instances",
                SeriesKind.Bars, [.. list.Select(s => (double)s.Index)], [.. list.Select(value)], 0.8));
        }

        return new Figure(id, title, "instance", yLabel, series);
    }

    private static string BucketText(long ns) => ns switch
    {
        >= 3_600_000_000_000L when ns % 3_600_000_000_000L == 0 => $"{ns / 3_600_000_000_000L} h",
        >= 60_000_000_000L when ns % 60_000_000_000L == 0 => $"{ns / 60_000_000_000L} min",
        _ => string.Create(CultureInfo.InvariantCulture, $"{ns / 1e9:0.###} s"),
    };
}

/// <summary>Computes <see cref="SlowdownQuantiles"/> from per-request latencies and the idle reference.</summary>
public static class Slowdowns
{
    /// <summary>Per request: TTFT, TBT and E2E slowdowns exactly as <see cref="SloEvaluator"/> judges
    /// <paramref name="slos"/> (<see cref="SloEvaluator.RequestSlowdowns"/>); unfinished requests count as infinitely
    /// slow (they fill the top of the CDF, which then stops short of 100 %). Percentiles: <see cref="Percentiles.Linear{T}"/>.</summary>
    public static SlowdownQuantiles Compute(SloSet slos, SloRequests requests, ISloReference reference, double[] percents)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(percents);
        int n = requests.Count;
        var ttft = new double[n];
        var e2e = new double[n];
        var tbt = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            int output = requests.OutputTokens[i];
            (double t, double b, double e) = SloEvaluator.RequestSlowdowns(slos.Reference, output, requests.TtftNs[i], requests.E2ENs[i],
                reference.For(requests.PromptTokens[i], output));
            ttft[i] = t;
            e2e[i] = e;
            if (!double.IsNaN(b))
            {
                tbt.Add(b);
            }
        }

        return new SlowdownQuantiles(percents, At(ttft), At([.. tbt]), At(e2e));

        double[] At(double[] values)
        {
            if (values.Length == 0)
            {
                return [];
            }

            Array.Sort(values);
            double[] q = new double[percents.Length];
            for (int i = 0; i < q.Length; i++)
            {
                q[i] = Percentiles.Linear<double>(values, percents[i]);
            }

            return q;
        }
    }
}
