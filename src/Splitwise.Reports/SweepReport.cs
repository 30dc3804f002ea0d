using System.Globalization;
using System.Net;
using System.Text;
using Splitwise.IO;
using Splitwise.Sweeps;

namespace Splitwise.Reports;

/// <summary>
/// The HTML report of a sweep: the highest SLO-compliant rate per design (with its size, cost and power), cost, power
/// and throughput side by side normalised to the first design (like the paper's iso-power and iso-cost figures),
/// latency CDFs per design at that point, and the whole results table. Charts are inline SVG; one self-contained file.
/// </summary>
public static class SweepReport
{
    private sealed record Row(
        string Key, string Design, int Machines, int Prompt, int Token, string Trace, double Rate, double Throughput,
        double CostPerHour, double PowerKw, bool Pass, double Worst, double Goodput, string[] Cells);

    /// <summary>Reads <paramref name="resultsCsv"/> (and the <c>cdf/</c> directory beside it) and writes the report.</summary>
    public static string Write(string resultsCsv, string outputHtml)
    {
        ArgumentNullException.ThrowIfNull(resultsCsv);
        ArgumentNullException.ThrowIfNull(outputHtml);
        (string[] columns, List<Row> rows) = ReadRows(resultsCsv);
        string cdfDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(resultsCsv))!, "cdf");
        var html = new StringBuilder();
        string title = $"Splitwise sweep: {Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(resultsCsv)))}";
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>").Append(Enc(title)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}")
            .Append("td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}")
            .Append(".fail{color:#b00}.pass{color:#070}figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>")
            .Append("<h1>").Append(Enc(title)).Append("</h1>")
            .Append("<p>").Append(rows.Count).Append(" points from <code>").Append(Enc(resultsCsv)).Append("</code>. ")
            .Append("Traces: Azure LLM inference traces 2023 — Patel et al., \"Splitwise: Efficient generative LLM inference using phase splitting\", ISCA 2024 (CC-BY).</p>");

        foreach (IGrouping<string, Row> byTrace in rows.GroupBy(r => r.Trace).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            html.Append("<h2>Trace ").Append(Enc(byTrace.Key)).Append("</h2>");
            // Best compliant point per design: the highest rate (or throughput) that meets every SLO.
            var best = new List<(string Design, Row? Best, int Points)>();
            foreach (IGrouping<string, Row> d in byTrace.GroupBy(r => r.Design))
            {
                Row? b = d.Where(r => r.Pass).OrderByDescending(r => Rate(r)).ThenBy(r => r.CostPerHour).ThenBy(r => r.Key, StringComparer.Ordinal).FirstOrDefault();
                best.Add((d.Key, b, d.Count()));
            }

            html.Append("<h3>Highest SLO-compliant throughput per design</h3><table><tr><th>design</th><th>machines</th><th>rate (req/s)</th>")
                .Append("<th>throughput (req/s)</th><th>$/hour</th><th>kW</th><th>req/s per $/h</th><th>req/s per kW</th><th>points</th></tr>");
            foreach ((string design, Row? b, int points) in best)
            {
                html.Append("<tr><td>").Append(Enc(design)).Append("</td>");
                if (b is null)
                {
                    html.Append("<td colspan=\"7\" class=\"fail\">no point meets the SLOs</td>");
                }
                else
                {
                    html.Append("<td>").Append(Size(b)).Append("</td><td>").Append(F(Rate(b))).Append("</td><td>").Append(F(b.Throughput))
                        .Append("</td><td>").Append(F(b.CostPerHour)).Append("</td><td>").Append(F(b.PowerKw)).Append("</td><td>")
                        .Append(F(Rate(b) / b.CostPerHour, "0.####")).Append("</td><td>").Append(F(Rate(b) / b.PowerKw, "0.####")).Append("</td>");
                }

                html.Append("<td>").Append(points).Append("</td></tr>");
            }

            html.Append("</table>");
            html.Append(FrontierHtml(byTrace.Key, byTrace, outputHtml));
            var found = best.Where(b => b.Best is not null).Select(b => (b.Design, Best: b.Best!)).ToList();
            if (found.Count > 0)
            {
                html.Append("<figure>").Append(SideBySide(found)).Append("<figcaption>Throughput, cost and power of each design's best compliant point, relative to ")
                    .Append(Enc(found[0].Design)).Append(" (= 1).</figcaption></figure>");
                foreach ((string metric, string label) in new[] { ("ttft_ms", "TTFT (ms)"), ("tbt_ms", "TBT (ms, per-request mean)"), ("e2e_ms", "E2E (ms)") })
                {
                    string? svg = Cdf(found, cdfDir, metric, label);
                    if (svg is not null)
                    {
                        html.Append("<figure>").Append(svg).Append("</figure>");
                    }
                }
            }
        }

        html.Append("<h2>All points</h2><table><tr>");
        foreach (string c in columns)
        {
            html.Append("<th>").Append(Enc(c)).Append("</th>");
        }

        html.Append("</tr>");
        foreach (Row r in rows)
        {
            html.Append("<tr class=\"").Append(r.Pass ? "pass" : "fail").Append("\">");
            foreach (string cell in r.Cells)
            {
                html.Append("<td>").Append(Enc(cell)).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table></body></html>\n");
        AtomicFile.WriteAllText(outputHtml, html.ToString());
        return Path.GetFullPath(outputHtml);
    }

    /// <summary>The figure data of the report's frontier figures (throughput against cost and against power per
    /// configuration, the SLO-compliant frontier marked), every trace of <paramref name="resultsCsv"/> in order.</summary>
    public static IReadOnlyList<Figure> FrontierFigures(string resultsCsv)
    {
        ArgumentNullException.ThrowIfNull(resultsCsv);
        List<Row> rows = ReadRows(resultsCsv).Rows;
        return [.. rows.GroupBy(r => r.Trace).OrderBy(g => g.Key, StringComparer.Ordinal).SelectMany(g => Frontier(g.Key, g))];
    }

    private static (string[] Columns, List<Row> Rows) ReadRows(string resultsCsv)
    {
        if (!File.Exists(resultsCsv))
        {
            throw SplitwiseException.Usage($"{resultsCsv}: results file not found; pass the results.csv of a sweep (splitwise sweep --out DIR writes DIR/results.csv)");
        }

        (string? header, List<string> lines) = SweepCsv.Read(resultsCsv, out _);
        if (header is null)
        {
            throw new SplitwiseException($"{resultsCsv}:1:1: empty results file; run the sweep first");
        }

        string[] columns = header.Split(',');
        int Col(string name)
        {
            int i = Array.IndexOf(columns, name);
            return i >= 0 ? i : throw new SplitwiseException($"{resultsCsv}:1:1: column '{name}' missing; is this a sweep results file?");
        }

        int cKey = Col("key"), cDesign = Col("design"), cMachines = Col("machines"), cP = Col("prompt_machines"), cT = Col("token_machines"),
            cTrace = Col("trace"), cRate = Col("rate"), cTput = Col("throughput_rps"), cCost = Col("cost_per_hour"), cPower = Col("power_kw"),
            cPass = Col("slo_pass"), cWorst = Col("slo_worst_ratio"), cGood = Col("goodput_rps");
        var rows = new List<Row>();
        foreach (string line in lines)
        {
            string[] f = line.Split(',');
            if (f.Length != columns.Length)
            {
                continue;
            }

            rows.Add(new Row(f[cKey], f[cDesign], Int(f[cMachines]), Int(f[cP]), Int(f[cT]), f[cTrace], Num(f[cRate]), Num(f[cTput]),
                Num(f[cCost]), Num(f[cPower]), f[cPass] == "true", Num(f[cWorst]), Num(f[cGood]), f));
        }

        return (columns, rows);
    }

    /// <summary>Throughput against cost and power per configuration with the SLO-compliant frontier (the paper's
    /// Figures 18–19 in form); the figures' PNG and SVG go beside the report, the SVG is embedded.</summary>
    private static string FrontierHtml(string trace, IEnumerable<Row> rows, string outputHtml)
    {
        IReadOnlyList<Figure> figures = Frontier(trace, rows);
        if (figures.Count == 0)
        {
            return "";
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(outputHtml))!;
        return "<h3>Throughput against cost and power</h3>" + ReportPage.FiguresHtml(ReportPage.WriteFigures(directory, figures));
    }

    private static IReadOnlyList<Figure> Frontier(string trace, IEnumerable<Row> rows)
    {
        IReadOnlyList<DesignConfiguration> configs = DesignFrontier.Configurations(
            rows.Select(r => new DesignTrial(r.Design, Size(r), Rate(r), r.CostPerHour, r.PowerKw, r.Pass)));
        return configs.Count == 0
            ? []
            : DesignFrontier.Build(configs,
                (DesignFrontier.MostPer(configs, c => c.DollarsPerHour), "most req/s per $/h"),
                (DesignFrontier.MostPer(configs, c => c.Kilowatts), "most req/s per kW"),
                "-" + FigureData.Slug(trace), $", {trace}");
    }

    private static double Rate(Row r) => r.Rate > 0 ? r.Rate : r.Throughput;

    private static string Size(Row r) => r.Prompt > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{r.Prompt}P + {r.Token}T")
        : r.Machines.ToString(CultureInfo.InvariantCulture);

    private static string SideBySide(List<(string Design, Row Best)> found)
    {
        string[] names = ["throughput", "cost", "power"];
        Row reference = found[0].Best;
        var series = new List<FigureSeries>();
        for (int j = 0; j < 3; j++)
        {
            int k = j;
            series.Add(new FigureSeries(names[j], SeriesKind.Bars, [.. found.Select((_, i) => (double)((i * 4) + k))],
                [.. found.Select(f => k switch
                {
                    0 => Rate(f.Best) / Rate(reference),
                    1 => f.Best.CostPerHour / reference.CostPerHour,
                    _ => f.Best.PowerKw / reference.PowerKw,
                })], 0.8));
        }

        var figure = new Figure("sweep-side-by-side", "Best SLO-compliant point per design", "", $"relative to {found[0].Design}", series)
        {
            XTicks = [.. found.Select((f, i) => ((double)((i * 4) + 1), f.Design))],
        };
        return FigureRenderer.InlineSvg(figure, Math.Max(500, 140 * found.Count), 380, "clip-side-by-side");
    }

    private static string? Cdf(List<(string Design, Row Best)> found, string cdfDir, string metric, string label)
    {
        var series = new List<FigureSeries>();
        foreach ((string design, Row best) in found)
        {
            string path = Path.Combine(cdfDir, SimulationEvaluator.CdfFileName(best.Key));
            if (!File.Exists(path))
            {
                continue;
            }

            string[] lines = File.ReadAllLines(path);
            int col = Array.IndexOf(lines[0].Split(','), metric);
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (string line in lines.Skip(1))
            {
                string[] f = line.Split(',');
                if (col >= 0 && col < f.Length && f[col].Length > 0)
                {
                    xs.Add(Num(f[col]));
                    ys.Add(Num(f[0]));
                }
            }

            if (xs.Count > 0)
            {
                series.Add(new FigureSeries($"{design} ({Size(best)} @ {F(Rate(best))} req/s)", SeriesKind.Line, [.. xs], [.. ys]));
            }
        }

        if (series.Count == 0)
        {
            return null;
        }

        var figure = new Figure("sweep-cdf-" + metric, $"{label.Split(' ')[0]} CDF at each design's best compliant point", label, "percent of requests", series);
        return FigureRenderer.InlineSvg(figure, 560, 380, "clip-cdf-" + metric);
    }

    private static int Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : 0;

    private static double Num(string s) =>
        s == "inf" ? double.PositiveInfinity
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;

    private static string F(double v, string format = "0.##") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
