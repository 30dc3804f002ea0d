using Splitwise.IO;

namespace Splitwise.Reports;

/// <summary>Writes the figures (PNG and SVG) and <c>report.html</c> of an analysis into a directory.</summary>
public static class AnalyzeReport
{
    public const string ReportFileName = "report.html";

    /// <summary>Renders every figure and the report; returns the paths written, report last.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<TraceAnalysis> traces, string? generatedBy = null, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(traces);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var rendered = new List<(Figure, byte[])>();
        foreach (Figure figure in FigureData.Build(traces))
        {
            progress?.Report(figure.Id);
            byte[] png = FigureRenderer.RenderPng(figure);
            string svg = FigureRenderer.RenderSvg(figure);
            string pngPath = Path.Combine(directory, figure.Id + ".png");
            string svgPath = Path.Combine(directory, figure.Id + ".svg");
            AtomicFile.WriteAllBytes(pngPath, png);
            AtomicFile.WriteAllText(svgPath, svg);
            written.Add(pngPath);
            written.Add(svgPath);
            rendered.Add((figure, png));
        }

        string report = Path.Combine(directory, ReportFileName);
        AtomicFile.WriteAllText(report, HtmlReport.Build(traces.Select(t => t.Statistics).ToList(), rendered, generatedBy));
        written.Add(report);
        return written;
    }
}
