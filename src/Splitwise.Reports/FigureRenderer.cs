using Splitwise.Reports.Rendering;

namespace Splitwise.Reports;

/// <summary>
/// The thin adapter from <see cref="Figure"/> data to pictures: <see cref="ChartLayout"/> lays the figure out once as a
/// <see cref="ChartScene"/>, which <see cref="SvgWriter"/> writes as SVG text and <see cref="Rasterizer"/> draws into a
/// PNG. No plotting library and no native code: the whole report costs milliseconds (docs/PERFORMANCE.md).
/// </summary>
/// <remarks>Deterministic: the same figure gives the same bytes (the SVG on every machine; the PNG's text depends on
/// the font found, <see cref="FontPath"/>). Thread-safe.</remarks>
public static class FigureRenderer
{
    public const int Width = 900;
    public const int Height = 500;

    private static readonly Lazy<(string? Path, TrueTypeFont? Font)> s_font = new(FindFont);

    /// <summary>The TrueType font the PNGs' text is drawn with: <c>$SPLITWISE_FONT</c>, else DejaVu Sans, Liberation
    /// Sans, Arial or Segoe UI from the usual system folders; null when none is there (PNGs then have no text — the SVGs
    /// and the HTML report are not affected).</summary>
    public static string? FontPath => s_font.Value.Path;

    public static byte[] RenderPng(Figure figure, int width = Width, int height = Height) => RenderPng(ChartLayout.Build(figure, width, height));

    public static string RenderSvg(Figure figure, int width = Width, int height = Height) => SvgWriter.Write(ChartLayout.Build(figure, width, height));

    /// <summary>The figure as an <c>&lt;svg&gt;</c> element for inlining into a page; <paramref name="clipId"/> must be unique in it.</summary>
    public static string InlineSvg(Figure figure, int width, int height, string clipId) =>
        SvgWriter.Write(ChartLayout.Build(figure, width, height), clipId, inline: true);

    /// <summary>Lays the figure out once and draws it both ways.</summary>
    public static (byte[] Png, string Svg) Render(Figure figure, int width = Width, int height = Height)
    {
        ChartScene scene = ChartLayout.Build(figure, width, height);
        return (RenderPng(scene), SvgWriter.Write(scene));
    }

    /// <summary>Does the report's set-up work ahead of time, for a thread that would otherwise idle (simulate calls it
    /// while the single-threaded simulation runs): reads the font and flattens its printable ASCII glyphs, and pools a
    /// canvas per drawing thread.</summary>
    public static void Prewarm()
    {
        TrueTypeFont? font = s_font.Value.Font;
        if (font is not null)
        {
            for (int c = ' '; c <= '~'; c++)
            {
                _ = font.Outline(font.GlyphIndex(c));
            }
        }

        Rasterizer.Prewarm(Width, Height, font, Math.Min(Environment.ProcessorCount, 4)); // ReportPage draws on at most four threads
    }

    public static byte[] RenderPng(ChartScene scene)
    {
        ArgumentNullException.ThrowIfNull(scene);
        return Rasterizer.RenderPng(scene, s_font.Value.Font);
    }

    private static (string?, TrueTypeFont?) FindFont()
    {
        string? env = Environment.GetEnvironmentVariable("SPLITWISE_FONT");
        string windows = Environment.GetFolderPath(Environment.SpecialFolder.Fonts);
        string?[] candidates =
        [
            env,
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
            "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
            "/System/Library/Fonts/Supplemental/Arial.ttf",
            "/Library/Fonts/Arial.ttf",
            string.IsNullOrEmpty(windows) ? null : Path.Combine(windows, "arial.ttf"),
            string.IsNullOrEmpty(windows) ? null : Path.Combine(windows, "segoeui.ttf"),
        ];
        foreach (string? path in candidates)
        {
            if (!string.IsNullOrEmpty(path) && File.Exists(path) && TrueTypeFont.TryLoad(path) is { } font)
            {
                return (path, font);
            }
        }

        return (null, null);
    }
}
