using System.Globalization;
using Splitwise.Designs;
using Splitwise.Simulation;

namespace Splitwise.Reports;

/// <summary>Writes <c>simulate</c>'s <c>report.html</c> with its figures (PNG and SVG beside it).</summary>
public static class SimulationReport
{
    /// <summary>Renders the figures and the page; returns the paths written, the report last.</summary>
    public static IReadOnlyList<string> Write(string directory, SimulationSummary summary, SloSet? slos = null, SloReport? sloReport = null,
        SlowdownQuantiles? slowdowns = null, string? generatedBy = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        IReadOnlyList<Figure> figures = SimulationFigures.Build(summary, slos, slowdowns);
        IReadOnlyList<ReportTable> tables = Tables(summary, sloReport);
        return ReportPage.Write(directory, figures, rendered => ReportPage.Build(
            "Splitwise simulation report", Paragraphs(summary), tables, rendered, StatisticsJson.Attribution + ".", generatedBy));
    }

    /// <summary>The page's text: what ran, and how the time series were bucketed.</summary>
    public static IReadOnlyList<string> Paragraphs(SimulationSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var ci = CultureInfo.InvariantCulture;
        var p = new List<string>
        {
            string.Create(ci, $"{summary.Design}: {summary.Machines} machines ({summary.Instances} instances), {summary.Model}, {summary.Performance} performance model, {summary.Scheduler} scheduler; trace {summary.Trace}."),
        };
        if (summary.ReportData is { } d)
        {
            p.Add(string.Create(ci, $"Time series: {d.Timeline.Count} buckets of {d.Timeline.BucketNs / 1e9:0.###} s of simulated time (the width doubles whenever the run outgrows {SimulationTimeline.DefaultBuckets} buckets, so memory is bounded); gauges are time-weighted means over each bucket, an instance's batch and KV memory sampled at each iteration start. CDFs are drawn from {d.Percents.Length} quantiles per metric (exact up to the exact-percentile limit, then from the bounded histogram)."));
        }

        if (!summary.Complete)
        {
            p.Add(string.Create(ci, $"Warning: {summary.Unfinished + summary.Rejected + summary.NotArrived} requests did not finish (unfinished {summary.Unfinished}, rejected {summary.Rejected}, not arrived {summary.NotArrived})."));
        }

        return p;
    }

    /// <summary>The run, latency, SLO and per-instance tables.</summary>
    public static IReadOnlyList<ReportTable> Tables(SimulationSummary summary, SloReport? sloReport)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var ci = CultureInfo.InvariantCulture;
        var tables = new List<ReportTable>
        {
            new("Run", ["quantity", "value"],
            [
                ["requests", N(summary.Requests)],
                ["finished", N(summary.Finished)],
                ["unfinished / rejected / not arrived", $"{N(summary.Unfinished)} / {N(summary.Rejected)} / {N(summary.NotArrived)}"],
                ["span (s)", summary.SpanSeconds.ToString("F1", ci)],
                ["throughput (req/s)", summary.ThroughputRps.ToString("F2", ci)],
                ["output tokens/s", summary.OutputTokensPerSecond.ToString("F0", ci)],
                ["mean utilisation", summary.MeanUtilization.ToString("P1", ci)],
                ["GPU energy (kWh)", summary.EnergyKwh.ToString("F1", ci)],
                ["average GPU power (kW)", summary.AveragePowerKw.ToString("F1", ci)],
                ["cost (USD)", summary.CostUsd.ToString("F2", ci)],
                ["peak requests in flight", N(summary.PeakInFlight)],
            ]),
        };

        var latency = new List<IReadOnlyList<string>>();
        foreach ((string label, string key) in new[] { ("TTFT", "ttft_times"), ("TBT", "tbt_times"), ("TPOT", "tpot_times"), ("TBT max", "tbt_max_times"), ("E2E", "response_times"), ("queue", "queue_times"), ("KV transfer", "kv_transfer_times"), ("second token", "second_token_times") })
        {
            MetricStats s = summary.Metrics[key];
            if (s.Count > 0)
            {
                latency.Add([label, N(s.Count), F3(s.Mean), F3(s.P50), F3(s.P90), F3(s.P99), F3(s.P999), F3(s.Max)]);
            }
        }

        tables.Add(new ReportTable("Latency (seconds)", ["metric", "requests", "mean", "p50", "p90", "p99", "p99.9", "max"], latency));
        if (sloReport is not null)
        {
            tables.Add(SloTable(sloReport));
        }

        tables.Add(new ReportTable("Instances", ["instance", "roles", "assigned", "completed", "utilisation", "energy (kWh)", "peak batch", "KV peak (GB)", "evictions"],
            [.. summary.InstanceDetails.Select(i => (IReadOnlyList<string>)[i.Name, i.Roles, N(i.Assigned), N(i.Completed), i.Utilization.ToString("P1", ci),
                i.EnergyKwh.ToString("F2", ci), N(i.PeakBatch), (i.KvPeakBytes / 1e9).ToString("F1", ci), N(i.Evictions)])]));
        return tables;
    }

    /// <summary>The SLO table: target, value reached, value ÷ target and verdict per SLO; failing rows highlighted.</summary>
    public static ReportTable SloTable(SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var ci = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<string>>();
        var failing = new HashSet<int>();
        foreach (SloOutcome o in report.Outcomes)
        {
            string value = double.IsPositiveInfinity(o.Value) ? "unfinished"
                : double.IsNaN(o.Value) ? "n/a"
                : o.Slo.Kind == SloKind.Slowdown ? o.Value.ToString("0.###", ci) + "x"
                : SloSet.FormatDuration(Math.Round(o.Value));
            if (!o.Pass)
            {
                failing.Add(rows.Count);
            }

            rows.Add([o.Name, o.Slo.TargetText, value, o.Ratio.ToString("0.###", ci), o.Pass ? "pass" : "FAIL"]);
        }

        string caption = string.Create(ci, $"SLOs: {(report.AllPass ? "all met" : "missed")}; goodput {report.Goodput:0.###} req/s ({report.Attainment:P1} of requests good)");
        return new ReportTable(caption, ["SLO", "target", "value", "ratio", "verdict"], rows) { Highlight = failing };
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string F3(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";
}
