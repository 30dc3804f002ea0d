namespace Splitwise.Reports.Rendering;

/// <summary>
/// Lays a <see cref="Figure"/> out as a <see cref="ChartScene"/>: title, axis labels, ticks and grid, the series
/// clipped to the plot area, and a legend in the lower right when there is more than one series.
/// </summary>
/// <remarks>Pure and deterministic: no fonts are consulted (text widths come from <see cref="TextWidth"/>), so the
/// scene, and the SVG written from it, are the same on every machine.</remarks>
public static class ChartLayout
{
    public const double TitleSize = 16;
    public const double LabelSize = 14;
    public const double TickSize = 12;
    public const double LegendSize = 12;

    private static readonly Rgb s_text = new(34, 34, 34);
    private static readonly Rgb s_grid = new(229, 229, 229);
    private static readonly Rgb s_frame = new(68, 68, 68);

    public static ChartScene Build(Figure figure, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(figure);
        (double left, double top, double right, double bottom) = (78.0, 40.0, width - 18.0, height - 52.0);
        (double xMin, double xMax, double yMin, double yMax) = Limits(figure);
        double sx = (right - left) / (xMax - xMin), sy = (bottom - top) / (yMax - yMin);
        double Px(double x) => left + ((x - xMin) * sx);
        double Py(double y) => bottom - ((y - yMin) * sy);

        var shapes = new List<SceneShape>();
        (double[] xt, string[] xl) = figure.XTicks is { } manual
            ? ([.. manual.Select(t => t.X)], [.. manual.Select(t => t.Label)])
            : figure.XIsTime
            ? AxisTicks.Time(xMin, xMax, (int)((right - left) / 100))
            : AxisTicks.Linear(xMin, xMax, (int)((right - left) / 80));
        (double[] yt, string[] yl) = AxisTicks.Linear(yMin, yMax, (int)((bottom - top) / 45));

        // Grid, then the series, then the frame and ticks over them.
        var grid = new List<(double, double, double, double)>();
        // One-pixel lines cover whole pixels (pixel i spans [i, i + 1]), so they stay sharp in the PNG.
        grid.AddRange(xt.Select(v => (Math.Floor(Px(v)), top, 1.0, bottom - top)));
        grid.AddRange(yt.Select(v => (left, Math.Floor(Py(v)), right - left, 1.0)));
        shapes.Add(new SceneRects(s_grid, 1, true, grid));

        int index = 0;
        var legend = new List<(FigureSeries Series, Rgb Color)>();
        foreach (FigureSeries s in figure.Series)
        {
            Rgb color = Rgb.Palette(s.ColorIndex ?? index);
            index++;
            legend.Add((s, color));
            switch (s.Kind)
            {
                case SeriesKind.Bars:
                    var rects = new List<(double, double, double, double)>(s.X.Length);
                    for (int i = 0; i < s.X.Length; i++)
                    {
                        double x0 = Px(s.X[i] - (s.BarWidth / 2)), x1 = Px(s.X[i] + (s.BarWidth / 2));
                        double y0 = Py(Math.Max(0, s.Y[i])), y1 = Py(Math.Min(0, s.Y[i]));
                        rects.Add((x0, y0, x1 - x0, y1 - y0));
                    }

                    shapes.Add(new SceneRects(color, 1, true, rects));
                    break;
                case SeriesKind.Line:
                case SeriesKind.Step:
                    (double[] lx, double[] ly) = Polyline(s, s.Kind == SeriesKind.Step, Px, Py);
                    if (lx.Length > 0)
                    {
                        shapes.Add(new SceneLine(color, 1, true, lx, ly, s.Emphasis ? 3 : 1.5));
                    }

                    break;
                case SeriesKind.Points:
                    (double[] mx, double[] my) = Finite(s, Px, Py);
                    bool few = s.Emphasis || s.X.Length <= 200;
                    shapes.Add(s.Emphasis
                        ? new SceneMarkers(color, 1, true, mx, my, MarkerShape.OpenDiamond, 12, 2.5)
                        : new SceneMarkers(color, few ? 1 : 0.35, true, mx, my, MarkerShape.Disc, few ? 7 : 3, 0));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(figure), s.Kind, "unknown series kind");
            }
        }

        // The frame just outside the plot area, and the ticks.
        var ticks = new List<(double, double, double, double)>
        {
            (left - 1, top - 1, right - left + 2, 1), (left - 1, bottom, right - left + 2, 1), (left - 1, top, 1, bottom - top), (right, top, 1, bottom - top),
        };
        ticks.AddRange(xt.Select(v => (Math.Floor(Px(v)), bottom + 1, 1.0, 5.0)));
        ticks.AddRange(yt.Select(v => (left - 6, Math.Floor(Py(v)), 5.0, 1.0)));
        shapes.Add(new SceneRects(s_frame, 1, false, ticks));
        for (int i = 0; i < xt.Length; i++)
        {
            shapes.Add(new SceneText(s_text, Math.Floor(Px(xt[i])) + 0.5, bottom + 20, xl[i], TickSize, TextAnchor.Middle));
        }

        for (int i = 0; i < yt.Length; i++)
        {
            shapes.Add(new SceneText(s_text, left - 9, Math.Floor(Py(yt[i])) + 4.5, yl[i], TickSize, TextAnchor.End));
        }

        shapes.Add(new SceneText(s_text, width / 2.0, 25, figure.Title, TitleSize, TextAnchor.Middle, Bold: true));
        shapes.Add(new SceneText(s_text, (left + right) / 2, height - 12, figure.XLabel, LabelSize, TextAnchor.Middle, Bold: true));
        shapes.Add(new SceneText(s_text, 20, (top + bottom) / 2, figure.YLabel, LabelSize, TextAnchor.Middle, Bold: true, Rotated: true));
        if (legend.Count > 1)
        {
            AddLegend(shapes, legend, (left, top, right, bottom));
        }

        return new ChartScene(width, height, (left, top, right, bottom), shapes);
    }

    /// <summary>Estimated advance of <paramref name="text"/> at <paramref name="size"/> px in a sans-serif face
    /// (Helvetica's widths, widened 15 % towards DejaVu Sans); used only to size the legend box.</summary>
    public static double TextWidth(string text, double size)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Widths per 1000 em of ASCII 32..126.
        ReadOnlySpan<short> w =
        [
            278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
            278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
            611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833,
            556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
        ];
        double sum = 0;
        foreach (char c in text)
        {
            sum += c is >= ' ' and <= '~' ? w[c - ' '] : 600;
        }

        return sum * 1.15 * size / 1000;
    }

    /// <summary>The legend in the plot's corner that hides the fewest data points (lower right first on a tie).</summary>
    private static void AddLegend(List<SceneShape> shapes, List<(FigureSeries Series, Rgb Color)> entries, (double Left, double Top, double Right, double Bottom) plot)
    {
        const double Row = 19, Pad = 7, Swatch = 26;
        double textWidth = entries.Max(e => TextWidth(e.Series.Label, LegendSize));
        double w = Pad + Swatch + 6 + textWidth + Pad, h = (Pad * 2) + (Row * entries.Count) - 4;
        (double X, double Y)[] corners =
        [
            (plot.Right - 10 - w, plot.Bottom - 10 - h), (plot.Right - 10 - w, plot.Top + 10), (plot.Left + 10, plot.Top + 10), (plot.Left + 10, plot.Bottom - 10 - h),
        ];
        (double x, double y) = corners.MinBy(c => Hidden(shapes, c.X, c.Y, w, h));
        shapes.Add(new SceneRects(new Rgb(160, 160, 160), 1, false, [(x - 1, y - 1, w + 2, h + 2)]));
        shapes.Add(new SceneRects(Rgb.White, 1, false, [(x, y, w, h)]));
        for (int i = 0; i < entries.Count; i++)
        {
            (FigureSeries s, Rgb color) = entries[i];
            double cy = y + Pad + (i * Row) + 7, sx = x + Pad;
            switch (s.Kind)
            {
                case SeriesKind.Bars:
                    shapes.Add(new SceneRects(color, 1, false, [(sx + 4, cy - 6, Swatch - 8, 12)]));
                    break;
                case SeriesKind.Points:
                    shapes.Add(s.Emphasis
                        ? new SceneMarkers(color, 1, false, [sx + (Swatch / 2)], [cy], MarkerShape.OpenDiamond, 11, 2.5)
                        : new SceneMarkers(color, 1, false, [sx + (Swatch / 2)], [cy], MarkerShape.Disc, 7, 0));
                    break;
                default:
                    shapes.Add(new SceneLine(color, 1, false, [sx, sx + Swatch], [cy, cy], s.Emphasis ? 3 : 2));
                    break;
            }

            shapes.Add(new SceneText(new Rgb(34, 34, 34), sx + Swatch + 6, cy + 4.5, s.Label, LegendSize, TextAnchor.Start));
        }
    }

    /// <summary>How many of the data's points and bars a box over the plot would cover.</summary>
    private static int Hidden(List<SceneShape> shapes, double x, double y, double w, double h)
    {
        bool Inside(double px, double py) => px >= x && px <= x + w && py >= y && py <= y + h;
        int n = 0;
        foreach (SceneShape s in shapes)
        {
            switch (s)
            {
                case SceneLine { Clipped: true } line:
                    n += line.X.Where((px, i) => Inside(px, line.Y[i])).Count();
                    break;
                case SceneMarkers { Clipped: true } m:
                    n += m.X.Where((px, i) => Inside(px, m.Y[i])).Count();
                    break;
                case SceneRects { Clipped: true } r when r.Color != s_grid:
                    n += r.Rects.Count(b => b.X < x + w && b.X + b.W > x && b.Y < y + h && b.Y + b.H > y);
                    break;
            }
        }

        return n;
    }

    private static (double XMin, double XMax, double YMin, double YMax) Limits(Figure figure)
    {
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity, yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (FigureSeries s in figure.Series)
        {
            for (int i = 0; i < s.X.Length; i++)
            {
                double x = s.X[i], y = s.Y[i];
                if (!double.IsFinite(x) || !double.IsFinite(y))
                {
                    continue;
                }

                double half = s.Kind == SeriesKind.Bars ? s.BarWidth / 2 : 0;
                xMin = Math.Min(xMin, x - half);
                xMax = Math.Max(xMax, x + half);
                yMin = Math.Min(yMin, s.Kind == SeriesKind.Bars ? Math.Min(0, y) : y);
                yMax = Math.Max(yMax, s.Kind == SeriesKind.Bars ? Math.Max(0, y) : y);
            }
        }

        if (!double.IsFinite(xMin))
        {
            (xMin, xMax, yMin, yMax) = (0, 1, 0, 1);
        }

        (xMin, xMax) = Widen(xMin, xMax);
        (yMin, yMax) = Widen(yMin, yMax);
        bool points = figure.Series.Any(s => s.Kind == SeriesKind.Points);
        double dx = (xMax - xMin) * 0.03, dy = (yMax - yMin) * 0.05;
        (xMin, xMax) = (xMin - dx, xMax + dx);
        // Counts start at zero: no margin below the axis unless points could sit on it.
        (yMin, yMax) = (points ? yMin - dy : yMin, yMax + dy);
        if (figure.FromOrigin)
        {
            (xMin, xMax, yMin, yMax) = (0, Math.Max(xMax, 0) * 1.05, 0, Math.Max(yMax, 0) * 1.08); // headroom for markers at the edges
            (xMin, xMax) = Widen(xMin, xMax);
            (yMin, yMax) = Widen(yMin, yMax);
        }

        if (figure.XMax is { } cut && cut > Math.Min(xMin, 0))
        {
            (xMin, xMax) = (Math.Min(xMin, 0), cut);
        }

        if (figure.YIsPercent)
        {
            (yMin, yMax) = (0, 100);
        }

        return (xMin, xMax, yMin, yMax);
    }

    private static (double Min, double Max) Widen(double min, double max) => max > min ? (min, max)
        : min == 0 ? (-1, 1)
        : (min - (Math.Abs(min) / 2), max + (Math.Abs(max) / 2));

    private static (double[] X, double[] Y) Finite(FigureSeries s, Func<double, double> px, Func<double, double> py)
    {
        var x = new List<double>(s.X.Length);
        var y = new List<double>(s.X.Length);
        for (int i = 0; i < s.X.Length; i++)
        {
            if (double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i]))
            {
                x.Add(px(s.X[i]));
                y.Add(py(s.Y[i]));
            }
        }

        return ([.. x], [.. y]);
    }

    /// <summary>The series in pixels; a step series holds each value until the next X. Non-finite points are dropped;
    /// consecutive points closer than 0.05 px collapse into one (the drawing does not change).</summary>
    private static (double[] X, double[] Y) Polyline(FigureSeries s, bool step, Func<double, double> px, Func<double, double> py)
    {
        var x = new List<double>(step ? s.X.Length * 2 : s.X.Length);
        var y = new List<double>(x.Capacity);
        void Add(double a, double b)
        {
            if (x.Count > 0 && Math.Abs(x[^1] - a) < 0.05 && Math.Abs(y[^1] - b) < 0.05)
            {
                return;
            }

            x.Add(a);
            y.Add(b);
        }

        for (int i = 0; i < s.X.Length; i++)
        {
            if (!double.IsFinite(s.X[i]) || !double.IsFinite(s.Y[i]))
            {
                continue;
            }

            double a = px(s.X[i]), b = py(s.Y[i]);
            if (step && x.Count > 0)
            {
                Add(a, y[^1]);
            }

            Add(a, b);
        }

        return ([.. x], [.. y]);
    }
}
