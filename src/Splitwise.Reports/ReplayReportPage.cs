using System.Globalization;
using Splitwise.Replay;

namespace Splitwise.Reports;

/// <summary><c>replay</c>'s <c>report.html</c>: the run's summary, measured beside predicted percentiles, and the
/// <see cref="ReplayFigures"/> (PNG and SVG beside the page, the SVG embedded).</summary>
public static class ReplayReportPage
{
    /// <summary>Renders the figures and writes the page into <paramref name="directory"/>; returns the paths, the report last.</summary>
    public static IReadOnlyList<string> Write(string directory, ReplaySummary summary, IReadOnlyList<RequestResult?> rows, PredictedRun? predicted)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(rows);
        var ci = CultureInfo.InvariantCulture;
        string[] paragraphs =
        [
            $"Replay of {summary.Trace} against {summary.Endpoint}: model {summary.Model}, api {summary.Api}, tokenizer {summary.Tokenizer}, speed-up {summary.Speedup.ToString(ci)}, max concurrency {(summary.MaxConcurrency > 0 ? summary.MaxConcurrency.ToString(ci) : "unlimited")}.",
            string.Create(ci, $"{summary.RequestsSent:N0} of {summary.RequestsPlanned:N0} requests sent, {summary.Completed:N0} completed, {summary.Failed:N0} failed{(summary.Failures.Count > 0 ? " (" + string.Join(", ", summary.Failures.Select(f => $"{f.Key} {f.Value}")) + ")" : "")}; offered {summary.OfferedRps:0.##} req/s, {summary.RequestThroughputRps:0.##} req/s and {summary.OutputTokenThroughputTps:0} output tok/s completed."),
        ];
        var columns = new List<string> { "ms", "measured p50", "p90", "p99" };
        if (predicted is not null)
        {
            columns.AddRange([$"predicted ({predicted.Design}) p50", "p90", "p99"]);
        }

        IReadOnlyList<string> Row(string name, LatencyStats? m, LatencyStats? p)
        {
            // A metric with no samples (every request failed) is shown as such, never as zeros.
            var row = m is null ? new List<string> { name, "no samples", "", "" } : new List<string> { name, Ms(m.P50), Ms(m.P90), Ms(m.P99) };
            if (predicted is not null)
            {
                row.AddRange(p is null ? ["", "", ""] : [Ms(p.P50), Ms(p.P90), Ms(p.P99)]);
            }

            return row;
        }

        ReportTable latency = new("Latency, measured beside predicted", columns,
        [
            Row("TTFT", summary.TtftMs, predicted?.Ttft),
            Row("TPOT", summary.TpotMs, predicted?.Tpot),
            Row("E2E", summary.E2eMs, predicted?.E2e),
            Row("ITL", summary.ItlMs, null),
            Row("send lag", summary.SendLagMs, null),
        ]);
        bool azure = summary.Trace.Contains("2023", StringComparison.Ordinal) || summary.Trace.Contains("2024", StringComparison.Ordinal) || summary.Trace.Contains("Azure", StringComparison.OrdinalIgnoreCase);
        return ReportPage.Write(directory, ReplayFigures.Build(rows, predicted), rendered => ReportPage.Build(
            "Splitwise replay report", paragraphs, [latency], rendered, azure ? StatisticsJson.Attribution + "." : null, "splitwise replay"));
    }

    private static string Ms(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
}
