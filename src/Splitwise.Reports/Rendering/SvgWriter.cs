using System.Globalization;
using System.Net;
using System.Text;

namespace Splitwise.Reports.Rendering;

/// <summary>Writes a <see cref="ChartScene"/> as a standalone SVG document: text as <c>&lt;text&gt;</c> in the
/// viewer's sans-serif face, coordinates to 0.01 px, one clip path (the plot area).</summary>
public static class SvgWriter
{
    /// <summary>The SVG text. <paramref name="inline"/>: for inlining into an HTML page — no XML declaration, and
    /// <paramref name="clipId"/> must then be unique in the page.</summary>
    public static string Write(ChartScene scene, string clipId = "plot", bool inline = false)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(clipId);
        var ci = CultureInfo.InvariantCulture;
        var h = new StringBuilder(16 * 1024);
        (double pl, double pt, double pr, double pb) = scene.Plot;
        if (!inline)
        {
            h.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }

        h.Append(ci, $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="{scene.Width}" height="{scene.Height}" viewBox="0 0 {scene.Width} {scene.Height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif">
            <defs><clipPath id="{clipId}"><rect x="{pl:0.##}" y="{pt:0.##}" width="{pr - pl:0.##}" height="{pb - pt:0.##}"/></clipPath></defs>
            <rect width="{scene.Width}" height="{scene.Height}" fill="#ffffff"/>

            """);
        foreach (SceneShape shape in scene.Shapes)
        {
            switch (shape)
            {
                case SceneRects rects:
                    h.Append("<path fill=\"").Append(rects.Color.ToString()).Append('"');
                    Common(h, shape, clipId);
                    h.Append(" d=\"");
                    foreach ((double x, double y, double w, double hh) in rects.Rects)
                    {
                        Number(h.Append('M'), x);
                        Number(h.Append(' '), y);
                        Number(h.Append('h'), w);
                        Number(h.Append('v'), hh);
                        Number(h.Append('h'), -w);
                        h.Append('z');
                    }

                    h.Append("\"/>\n");
                    break;
                case SceneLine line:
                    h.Append(line.Closed ? "<polygon" : "<polyline").Append(" fill=\"none\" stroke=\"").Append(line.Color.ToString())
                        .Append(ci, $"\" stroke-width=\"{line.Width:0.##}\" stroke-linejoin=\"round\" stroke-linecap=\"butt\"");
                    Common(h, shape, clipId);
                    h.Append(" points=\"");
                    for (int i = 0; i < line.X.Length; i++)
                    {
                        Number(i == 0 ? h : h.Append(' '), line.X[i]);
                        Number(h.Append(','), line.Y[i]);
                    }

                    h.Append("\"/>\n");
                    break;
                case SceneMarkers m:
                    if (m.Shape == MarkerShape.Disc)
                    {
                        h.Append("<g fill=\"").Append(m.Color.ToString()).Append('"');
                        Common(h, shape, clipId, "fill-opacity"); // per disc, so overlapping discs build up as in the PNG
                        h.Append('>');
                        for (int i = 0; i < m.X.Length; i++)
                        {
                            Number(h.Append("<circle cx=\""), m.X[i]);
                            Number(h.Append("\" cy=\""), m.Y[i]);
                            Number(h.Append("\" r=\""), m.Size / 2).Append("\"/>");
                        }
                    }
                    else
                    {
                        h.Append("<g fill=\"none\" stroke=\"").Append(m.Color.ToString()).Append(ci, $"\" stroke-width=\"{m.LineWidth:0.##}\"");
                        Common(h, shape, clipId);
                        h.Append('>');
                        double r = m.Size / 2;
                        for (int i = 0; i < m.X.Length; i++)
                        {
                            h.Append(ci, $"<path d=\"M{m.X[i]:0.##} {m.Y[i] - r:0.##}L{m.X[i] + r:0.##} {m.Y[i]:0.##}L{m.X[i]:0.##} {m.Y[i] + r:0.##}L{m.X[i] - r:0.##} {m.Y[i]:0.##}z\"/>");
                        }
                    }

                    h.Append("</g>\n");
                    break;
                case SceneText text:
                    string anchor = text.Anchor switch { TextAnchor.Middle => "middle", TextAnchor.End => "end", _ => "start" };
                    h.Append(ci, $"<text x=\"{text.X:0.##}\" y=\"{text.Y:0.##}\" font-size=\"{text.Size:0.##}\" fill=\"{text.Color}\" text-anchor=\"{anchor}\"");
                    if (text.Bold)
                    {
                        h.Append(" font-weight=\"bold\"");
                    }

                    if (text.Rotated)
                    {
                        h.Append(ci, $" transform=\"rotate(-90 {text.X:0.##} {text.Y:0.##})\"");
                    }

                    h.Append('>').Append(WebUtility.HtmlEncode(text.Text)).Append("</text>\n");
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(scene), shape.GetType().Name, "unknown shape");
            }
        }

        h.Append("</svg>\n");
        return h.ToString();
    }

    /// <summary>Appends <paramref name="v"/> as <c>v.ToString("0.##", InvariantCulture)</c> does, without its cost: the
    /// value in hundredths, rounded, written as digits. Values where the two could disagree — within 10⁻⁶ of a rounding
    /// midpoint (the format rounds the 15-digit decimal, not the double), large, negative zero results, not finite —
    /// go through ToString.</summary>
    internal static StringBuilder Number(StringBuilder h, double v)
    {
        double t = v * 100;
        double frac = Math.Abs(t - Math.Floor(t) - 0.5);
        if (!(Math.Abs(v) < 1e6) || frac < 1e-6)
        {
            return h.Append(v.ToString("0.##", CultureInfo.InvariantCulture));
        }

        long n = (long)Math.Round(t);
        if (n == 0 && (v < 0 || double.IsNegative(v)))
        {
            return h.Append(v.ToString("0.##", CultureInfo.InvariantCulture));
        }

        if (n < 0)
        {
            h.Append('-');
            n = -n;
        }

        h.Append(n / 100);
        long f = n % 100;
        if (f != 0)
        {
            h.Append('.').Append((char)('0' + (f / 10)));
            if (f % 10 != 0)
            {
                h.Append((char)('0' + (f % 10)));
            }
        }

        return h;
    }

    private static void Common(StringBuilder h, SceneShape shape, string clipId, string opacity = "opacity")
    {
        if (shape.Opacity < 1)
        {
            h.Append(CultureInfo.InvariantCulture, $" {opacity}=\"{shape.Opacity:0.###}\"");
        }

        if (shape.Clipped)
        {
            h.Append(" clip-path=\"url(#").Append(clipId).Append(")\"");
        }
    }
}
