using ScottPlot;

namespace Splitwise.Reports;

/// <summary>The thin adapter from <see cref="Figure"/> data to ScottPlot 5: PNG bytes and SVG text.</summary>
public static class FigureRenderer
{
    public const int Width = 900;
    public const int Height = 500;

    public static byte[] RenderPng(Figure figure, int width = Width, int height = Height) =>
        Build(figure).GetImageBytes(width, height, ImageFormat.Png);

    /// <remarks>ScottPlot numbers SVG clip paths from a process-wide counter; they are renumbered from 1 so the same figure always gives the same bytes.</remarks>
    public static string RenderSvg(Figure figure, int width = Width, int height = Height)
    {
        string svg = Build(figure).GetSvgXml(width, height);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        return s_clipId.Replace(svg, m =>
        {
            if (!ids.TryGetValue(m.Value, out string? id))
            {
                id = "cl_" + (ids.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                ids.Add(m.Value, id);
            }

            return id;
        });
    }

    private static readonly System.Text.RegularExpressions.Regex s_clipId = new(@"\bcl_[0-9]+\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static Plot Build(Figure figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        var plot = new Plot();
        plot.Title(figure.Title);
        plot.XLabel(figure.XLabel);
        plot.YLabel(figure.YLabel);
        IPalette palette = new ScottPlot.Palettes.Category10();
        int index = 0;
        foreach (FigureSeries s in figure.Series)
        {
            Color color = palette.GetColor(index++);
            switch (s.Kind)
            {
                case SeriesKind.Bars:
                    var bars = new List<Bar>(s.X.Length);
                    for (int i = 0; i < s.X.Length; i++)
                    {
                        bars.Add(new Bar { Position = s.X[i], Value = s.Y[i], Size = s.BarWidth, FillColor = color, LineWidth = 0 });
                    }

                    plot.Add.Bars(bars).LegendText = s.Label;
                    break;
                case SeriesKind.Line:
                case SeriesKind.Step:
                    var line = plot.Add.ScatterLine(s.X, s.Y, color);
                    line.LegendText = s.Label;
                    line.LineWidth = 1.5f;
                    if (s.Kind == SeriesKind.Step)
                    {
                        line.ConnectStyle = ConnectStyle.StepHorizontal;
                    }

                    break;
                case SeriesKind.Points:
                    var points = plot.Add.ScatterPoints(s.X, s.Y, color.WithAlpha(0.35));
                    points.LegendText = s.Label;
                    points.MarkerSize = 3;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(figure), s.Kind, "unknown series kind");
            }
        }

        if (figure.XIsTime)
        {
            plot.Axes.DateTimeTicksBottom();
        }

        if (figure.YIsPercent)
        {
            plot.Axes.SetLimitsY(0, 100);
        }
        else if (figure.Series.All(s => s.Kind != SeriesKind.Points))
        {
            // Counts start at zero: no margin below the axis.
            plot.Axes.Margins(bottom: 0);
        }

        if (figure.Series.Count > 1)
        {
            plot.ShowLegend(Alignment.LowerRight);
        }
        else
        {
            plot.HideLegend();
        }

        return plot;
    }
}
