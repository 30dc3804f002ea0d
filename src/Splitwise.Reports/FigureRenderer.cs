using ScottPlot;
using SkiaSharp;

namespace Splitwise.Reports;

/// <summary>The thin adapter from <see cref="Figure"/> data to ScottPlot 5: PNG bytes and SVG text.</summary>
public static class FigureRenderer
{
    public const int Width = 900;
    public const int Height = 500;

    /// <summary>PNG zlib level: 1 encodes about three times faster than Skia's default (6) for files about 1.5× larger.</summary>
    public const int PngZlibLevel = 1;

    public static byte[] RenderPng(Figure figure, int width = Width, int height = Height) => Render(figure, width, height).Png;

    public static string RenderSvg(Figure figure, int width = Width, int height = Height) => Render(figure, width, height).Svg;

    /// <summary>
    /// Lays the figure out and draws it once (ScottPlot onto a recorded Skia picture), then plays the picture onto a
    /// raster surface (PNG: zlib level <see cref="PngZlibLevel"/>, the Sub filter) and onto Skia's SVG canvas.
    /// </summary>
    /// <remarks>Deterministic: the same figure gives the same bytes. ScottPlot numbers SVG clip paths from a process-wide
    /// counter; they are renumbered from 1. Thread-safe: each call has its own plot and surfaces.</remarks>
    public static (byte[] Png, string Svg) Render(Figure figure, int width = Width, int height = Height)
    {
        Plot plot = Build(figure);
        var bounds = new SKRect(0, 0, width, height);
        using var recorder = new SKPictureRecorder();
        plot.Render(recorder.BeginRecording(bounds), width, height);
        using SKPicture picture = recorder.EndRecording();

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawPicture(picture);
        surface.Canvas.Flush();
        using SKImage image = surface.Snapshot();
        using SKPixmap pixels = image.PeekPixels() ?? throw new InvalidOperationException("Skia gave no pixels for " + figure.Id);
        using SKData png = pixels.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Sub, PngZlibLevel)) ?? throw new InvalidOperationException("Skia could not encode " + figure.Id);

        using var stream = new MemoryStream();
        using (var skStream = new SKManagedWStream(stream))
        using (SKCanvas svgCanvas = SKSvgCanvas.Create(bounds, skStream))
        {
            svgCanvas.DrawPicture(picture);
        }

        return (png.ToArray(), RenumberClipPaths(System.Text.Encoding.UTF8.GetString(stream.ToArray())));
    }

    private static string RenumberClipPaths(string svg)
    {
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

    private static readonly System.Text.RegularExpressions.Regex s_clipId = new(@"\bcl_[0-9A-Za-z]+\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

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
            Color color = palette.GetColor(s.ColorIndex ?? index);
            index++;
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
                    line.LineWidth = s.Emphasis ? 3f : 1.5f;
                    if (s.Kind == SeriesKind.Step)
                    {
                        line.ConnectStyle = ConnectStyle.StepHorizontal;
                    }

                    break;
                case SeriesKind.Points:
                    // Many points (a scatter sample) are small and translucent; a few (designs, SLO targets) are drawn large.
                    bool few = s.Emphasis || s.X.Length <= 200;
                    var points = plot.Add.ScatterPoints(s.X, s.Y, few ? color : color.WithAlpha(0.35));
                    points.LegendText = s.Label;
                    points.MarkerSize = s.Emphasis ? 12 : few ? 7 : 3;
                    if (s.Emphasis)
                    {
                        points.MarkerShape = MarkerShape.OpenDiamond;
                        points.MarkerLineWidth = 2.5f;
                    }
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(figure), s.Kind, "unknown series kind");
            }
        }

        if (figure.XMax is { } xMax)
        {
            plot.Axes.AutoScale();
            AxisLimits limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsX(Math.Min(limits.Left, 0), xMax);
        }

        if (figure.FromOrigin)
        {
            plot.Axes.AutoScale();
            AxisLimits limits = plot.Axes.GetLimits();
            plot.Axes.SetLimits(0, limits.Right * 1.05, 0, limits.Top * 1.08); // headroom for the markers at the edges
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
