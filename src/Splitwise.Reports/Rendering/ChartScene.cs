namespace Splitwise.Reports.Rendering;

/// <summary>An opaque sRGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255);

    /// <summary>The Category10 palette (matplotlib's and ScottPlot's default), cycled.</summary>
    public static Rgb Palette(int index)
    {
        ReadOnlySpan<uint> c = [0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf];
        uint v = c[((index % c.Length) + c.Length) % c.Length];
        return new Rgb((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    public override string ToString() => $"#{R:x2}{G:x2}{B:x2}";
}

/// <summary>Where a text's anchor point sits: at its start, middle or end (as SVG's <c>text-anchor</c>).</summary>
public enum TextAnchor
{
    Start,
    Middle,
    End,
}

/// <summary>How a marker is drawn.</summary>
public enum MarkerShape
{
    /// <summary>A filled disc of diameter <see cref="SceneMarkers.Size"/>.</summary>
    Disc,

    /// <summary>An open diamond (outline of width <see cref="SceneMarkers.LineWidth"/>), for a highlighted point.</summary>
    OpenDiamond,
}

/// <summary>
/// One drawing operation of a <see cref="ChartScene"/>, in pixels (origin top left, y down). <see cref="Clipped"/> shapes
/// are drawn only inside the scene's plot area.
/// </summary>
public abstract record SceneShape(Rgb Color, double Opacity, bool Clipped);

/// <summary>Axis-aligned filled rectangles (bars, backgrounds); each is (x, y, width, height).</summary>
public sealed record SceneRects(Rgb Color, double Opacity, bool Clipped, IReadOnlyList<(double X, double Y, double W, double H)> Rects)
    : SceneShape(Color, Opacity, Clipped);

/// <summary>A stroked polyline through (X[i], Y[i]); <see cref="Closed"/> joins the last point to the first.</summary>
public sealed record SceneLine(Rgb Color, double Opacity, bool Clipped, double[] X, double[] Y, double Width, bool Closed = false)
    : SceneShape(Color, Opacity, Clipped);

/// <summary>Markers centred at (X[i], Y[i]).</summary>
public sealed record SceneMarkers(Rgb Color, double Opacity, bool Clipped, double[] X, double[] Y, MarkerShape Shape, double Size, double LineWidth)
    : SceneShape(Color, Opacity, Clipped);

/// <summary>A line of text whose baseline passes through (X, Y); <see cref="Rotated"/> turns it 90° anticlockwise about that point.</summary>
public sealed record SceneText(Rgb Color, double X, double Y, string Text, double Size, TextAnchor Anchor, bool Bold = false, bool Rotated = false)
    : SceneShape(Color, 1, false);

/// <summary>
/// A figure laid out for drawing: a white canvas, the plot area that clipped shapes stay inside, and the shapes in
/// painting order. Both back ends (<see cref="SvgWriter"/>, <see cref="Rasterizer"/>) draw exactly this list.
/// </summary>
public sealed record ChartScene(int Width, int Height, (double Left, double Top, double Right, double Bottom) Plot, IReadOnlyList<SceneShape> Shapes);
