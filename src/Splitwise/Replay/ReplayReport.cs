using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using Splitwise.IO;

namespace Splitwise.Replay;

/// <summary>Per-request latencies the simulator predicts for the same requests (for measured-vs-predicted plots).</summary>
/// <param name="Design">The simulated design, e.g. <c>Baseline-H100 × 1</c>.</param>
/// <param name="TtftNs">Predicted TTFT per request.</param>
/// <param name="TpotNs">Predicted TPOT per request (requests with one output token excluded).</param>
/// <param name="E2eNs">Predicted E2E per request.</param>
public sealed record PredictedRun(string Design, long[] TtftNs, long[] TpotNs, long[] E2eNs)
{
    public LatencyStats Ttft => LatencyStats.FromNanoseconds((long[])TtftNs.Clone());

    public LatencyStats Tpot => LatencyStats.FromNanoseconds((long[])TpotNs.Clone());

    public LatencyStats E2e => LatencyStats.FromNanoseconds((long[])E2eNs.Clone());
}

/// <summary>Writes <c>report.html</c>: the headline table and CDF / time-series plots, measured beside predicted.</summary>
public static class ReplayReport
{
    public static void Write(string directory, ReplaySummary summary, IReadOnlyList<RequestResult?> rows, PredictedRun? predicted)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(rows);
        var ok = rows.Where(r => r is { Succeeded: true }).Select(r => r!).ToList();
        long[] ttft = [.. ok.Select(r => r.TtftNs)];
        long[] tpot = [.. ok.Where(r => r.TpotNs >= 0).Select(r => r.TpotNs)];
        long[] e2e = [.. ok.Select(r => r.E2eNs)];
        long[] itl = [.. ok.SelectMany(r => r.ItlNs)];
        var html = new StringBuilder();
        CultureInfo ic = CultureInfo.InvariantCulture;
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>splitwise replay</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}</style></head><body>");
        html.Append(ic, $"<h1>Replay of {Enc(summary.Trace)} against {Enc(summary.Endpoint)}</h1>");
        html.Append(ic, $"<p>model {Enc(summary.Model)}, api {summary.Api}, tokenizer {Enc(summary.Tokenizer)}, speed-up {summary.Speedup}, max concurrency {(summary.MaxConcurrency > 0 ? summary.MaxConcurrency.ToString(ic) : "unlimited")}</p>");
        html.Append("<pre>").Append(Enc(summary.ToText())).Append("</pre>");
        html.Append("<table><tr><th>ms</th><th>measured p50</th><th>p90</th><th>p99</th>");
        if (predicted is not null)
        {
            html.Append(ic, $"<th>predicted ({Enc(predicted.Design)}) p50</th><th>p90</th><th>p99</th>");
        }

        html.Append("</tr>");
        Row(html, "TTFT", summary.TtftMs, predicted?.Ttft);
        Row(html, "TPOT", summary.TpotMs, predicted?.Tpot);
        Row(html, "E2E", summary.E2eMs, predicted?.E2e);
        Row(html, "ITL", summary.ItlMs, null);
        Row(html, "send lag", summary.SendLagMs, null);
        html.Append("</table>");
        html.Append(Image(Cdf("TTFT", ttft, predicted?.TtftNs)));
        html.Append(Image(Cdf("TPOT", tpot, predicted?.TpotNs)));
        html.Append(Image(Cdf("E2E", e2e, predicted?.E2eNs)));
        html.Append(Image(Cdf("ITL (all gaps)", itl, null)));
        html.Append(Image(OverTime(ok, rows)));
        if (summary.Trace.Contains("2023", StringComparison.Ordinal) || summary.Trace.Contains("2024", StringComparison.Ordinal) || summary.Trace.Contains("Azure", StringComparison.OrdinalIgnoreCase))
        {
            html.Append("<p>Trace: Azure LLM inference trace (CC-BY). Patel et al., \"Splitwise: Efficient generative LLM inference using phase splitting\", ISCA 2024.</p>");
        }

        html.Append("</body></html>\n");
        AtomicFile.WriteAllText(Path.Combine(directory, "report.html"), html.ToString());
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);

    private static void Row(StringBuilder html, string name, LatencyStats? m, LatencyStats? p)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        if (m is null)
        {
            html.Append(ic, $"<tr><td>{name}</td><td colspan=\"3\">no samples</td>");
        }
        else
        {
            html.Append(ic, $"<tr><td>{name}</td><td>{m.P50:0.0}</td><td>{m.P90:0.0}</td><td>{m.P99:0.0}</td>");
        }

        if (p is not null)
        {
            html.Append(ic, $"<td>{p.P50:0.0}</td><td>{p.P90:0.0}</td><td>{p.P99:0.0}</td>");
        }

        html.Append("</tr>");
    }

    private static string Image(Plot plot)
    {
        byte[] png = plot.GetImageBytes(900, 400, ImageFormat.Png);
        return $"<p><img alt=\"plot\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"></p>";
    }

    private static Plot Cdf(string title, long[] measured, long[]? predicted)
    {
        var plot = new Plot();
        AddCdf(plot, measured, "measured");
        if (predicted is { Length: > 0 })
        {
            AddCdf(plot, predicted, "predicted");
        }

        plot.Title($"{title} CDF");
        plot.XLabel("ms");
        plot.YLabel("% of requests");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static void AddCdf(Plot plot, long[] ns, string label)
    {
        if (ns.Length == 0)
        {
            return;
        }

        long[] sorted = (long[])ns.Clone();
        Array.Sort(sorted);
        int step = Math.Max(1, sorted.Length / 2000);
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i < sorted.Length; i += step)
        {
            xs.Add(sorted[i] / 1e6);
            ys.Add(100.0 * (i + 1) / sorted.Length);
        }

        xs.Add(sorted[^1] / 1e6);
        ys.Add(100);
        var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
        line.LegendText = label;
        line.LineWidth = 2;
    }

    private static Plot OverTime(List<RequestResult> ok, IReadOnlyList<RequestResult?> rows)
    {
        var plot = new Plot();
        if (ok.Count > 0)
        {
            var ttft = plot.Add.ScatterPoints(ok.Select(r => r.SentNs / 1e9).ToArray(), ok.Select(r => r.TtftNs / 1e6).ToArray());
            ttft.LegendText = "TTFT (ms)";
            ttft.MarkerSize = 3;
        }

        var sent = rows.Where(r => r is not null).Select(r => r!).ToList();
        if (sent.Count > 0)
        {
            var lag = plot.Add.ScatterPoints(sent.Select(r => r.SentNs / 1e9).ToArray(), sent.Select(r => r.SendLagNs / 1e6).ToArray());
            lag.LegendText = "send lag (ms)";
            lag.MarkerSize = 2;
        }

        plot.Title("TTFT and send lag over the run");
        plot.XLabel("send time (s)");
        plot.YLabel("ms");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
