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
        IReadOnlyList<Figure> figures = FigureData.Build(traces);
        foreach (Figure figure in figures)
        {
            progress?.Report(figure.Id);
        }

        return ReportPage.Write(directory, figures, rendered => HtmlReport.Build([.. traces.Select(t => t.Statistics)], rendered, generatedBy));
    }
}
