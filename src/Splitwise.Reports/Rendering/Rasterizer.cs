using System.Runtime.InteropServices;

namespace Splitwise.Reports.Rendering;

/// <summary>
/// Draws a <see cref="ChartScene"/> into pixels: every shape is a set of closed polygons (a stroked line is one quad per
/// segment plus a bevel per joint; text is its glyph outlines) filled with exact-area anti-aliasing, then blended over
/// the canvas once, so a shape's own overlaps never double its opacity.
/// </summary>
/// <remarks>
/// <para>Coverage is accumulated as signed area per cell and summed along each row (the algorithm of Raph Levien's
/// font-rs), only over the cells each row's edges touched. Cost: O(edge length + touched cells) per shape.</para>
/// <para>The canvas holds a palette index per pixel, not RGB: coverage is rounded to 1/16, so blending colour c over
/// pixel colour p at level k always gives the same colour, looked up once per (p, k) for the shape's colour and then
/// read from a table; fully covered pixels take c's index directly. A chart has a few hundred colours, so the PNG is
/// written from the indices with no RGB pass and no indexing pass (<see cref="PngEncoder.EncodeIndexed"/>).</para>
/// <para>Deterministic: the same scene gives the same pixels and the same bytes.</para>
/// </remarks>
public sealed class Rasterizer
{
    private const int CoverageLevels = 16;

    private readonly int _width, _height, _stride;
    private readonly ushort[] _pixels; // palette index per pixel, row by row
    private readonly float[] _acc;
    private readonly int[] _rowMin, _rowMax;
    private int _yMin, _yMax;
    private readonly TrueTypeFont? _font;

    // The palette: RGB (0xRRGGBB) per index, white first, and its reverse lookup.
    private int[] _palette = new int[256];
    private int _colours;
    private readonly Dictionary<int, ushort> _paletteIndex = [];

    // Blends of the current colour: _blendTo[p * 16 + k] is the index of colour _colour blended over palette colour p
    // at level k, valid when _blendStamp[...] == _stamp (a new colour bumps the stamp instead of clearing the table).
    private ushort[] _blendTo = new ushort[256 * CoverageLevels];
    private int[] _blendStamp = new int[256 * CoverageLevels];
    private int _stamp;
    private int _colour = -1;
    private ushort _colourIndex;

    public Rasterizer(int width, int height, TrueTypeFont? font)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        (_width, _height, _stride, _font) = (width, height, width + 3, font);
        _pixels = new ushort[width * height];
        _acc = new float[_stride * height];
        _rowMin = new int[height];
        _rowMax = new int[height];
        Array.Fill(_rowMin, int.MaxValue);
        Array.Fill(_rowMax, -1);
        (_yMin, _yMax) = (int.MaxValue, -1);
        // Written now, not on first use: a fresh array's pages are mapped on the first write, and on a multi-threaded
        // process each such fault flushes the other cores' TLBs.
        _acc.AsSpan().Clear();
        _encoder.Reserve(width, height);
        Clear();
    }

    private readonly PngEncoder.Scratch _encoder = new();

    private static readonly System.Collections.Concurrent.ConcurrentBag<Rasterizer> s_pool = [];

    /// <summary>Puts canvases of the given size into the pool, their pages touched, so the first figures do not pay for
    /// fresh memory (<see cref="FigureRenderer.Prewarm"/> calls this while the simulation runs).</summary>
    public static void Prewarm(int width, int height, TrueTypeFont? font, int count)
    {
        for (int i = 0; i < count; i++)
        {
            s_pool.Add(new Rasterizer(width, height, font));
        }
    }

    /// <summary>Renders the scene and encodes it as a PNG, on a pooled canvas (no fresh buffers per figure).</summary>
    public static byte[] RenderPng(ChartScene scene, TrueTypeFont? font)
    {
        ArgumentNullException.ThrowIfNull(scene);
        Rasterizer r = Rent(scene.Width, scene.Height, font);
        r.DrawScene(scene);
        // The encoder whitens each row once it has read it, so the pooled canvas is white for the next figure.
        byte[] png = PngEncoder.EncodeCanvas(r._pixels, r._pixels, r._palette.AsSpan(0, r._colours), scene.Width, scene.Height, r._encoder);
        s_pool.Add(r); // only after a finished drawing: an exception could leave the accumulator and the pixels dirty
        return png;
    }

    /// <summary>Renders the scene onto a white canvas; <paramref name="font"/> draws the text (null: no text). Returns
    /// the pixels, 3 bytes (R, G, B) each, row by row from the top.</summary>
    public static byte[] Render(ChartScene scene, TrueTypeFont? font)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var r = new Rasterizer(scene.Width, scene.Height, font);
        r.DrawScene(scene);
        byte[] rgb = new byte[r._pixels.Length * 3];
        for (int i = 0; i < r._pixels.Length; i++)
        {
            int c = r._palette[r._pixels[i]];
            (rgb[3 * i], rgb[(3 * i) + 1], rgb[(3 * i) + 2]) = ((byte)(c >> 16), (byte)(c >> 8), (byte)c);
        }

        return rgb;
    }

    private static Rasterizer Rent(int width, int height, TrueTypeFont? font)
    {
        Rasterizer? r = null;
        List<Rasterizer>? mismatched = null;
        while (s_pool.TryTake(out Rasterizer? c))
        {
            if (c._width == width && c._height == height && c._font == font)
            {
                r = c;
                break;
            }

            (mismatched ??= []).Add(c);
        }

        foreach (Rasterizer m in mismatched ?? [])
        {
            s_pool.Add(m);
        }

        if (r is null)
        {
            return new Rasterizer(width, height, font);
        }

        r.ResetPalette(); // the pixels are white already (RenderPng's encoding cleared them)
        return r;
    }

    /// <summary>A white canvas and a palette of white alone.</summary>
    private void Clear()
    {
        _pixels.AsSpan().Clear();
        ResetPalette();
    }

    /// <summary>A palette of white alone (index 0, which a white canvas' pixels hold).</summary>
    private void ResetPalette()
    {
        _paletteIndex.Clear();
        _palette[0] = 0xFFFFFF;
        _paletteIndex.Add(0xFFFFFF, 0);
        _colours = 1;
        _colour = -1;
        _stamp++;
    }

    private void DrawScene(ChartScene scene)
    {
        foreach (SceneShape shape in scene.Shapes)
        {
            Draw(shape, scene.Plot);
        }
    }

    private void Draw(SceneShape shape, (double Left, double Top, double Right, double Bottom) plot)
    {
        (double cl, double ct, double cr, double cb) = shape.Clipped ? plot : (0, 0, _width, _height);
        switch (shape)
        {
            case SceneRects rects:
                foreach ((double x, double y, double w, double h) in rects.Rects)
                {
                    Rect(Math.Max(x, cl), Math.Max(y, ct), Math.Min(x + w, cr), Math.Min(y + h, cb), rects.Color, (float)rects.Opacity);
                }

                return;
            case SceneLine line:
                Stroke(line, (cl - line.Width, ct - line.Width, cr + line.Width, cb + line.Width), cl, ct, cr, cb);
                break;
            case SceneMarkers m:
                for (int i = 0; i < m.X.Length; i++)
                {
                    if (m.X[i] < cl - m.Size || m.X[i] > cr + m.Size || m.Y[i] < ct - m.Size || m.Y[i] > cb + m.Size)
                    {
                        continue;
                    }

                    if (m.Shape == MarkerShape.Disc)
                    {
                        Disc(m.X[i], m.Y[i], m.Size / 2);
                        if (m.Opacity < 1)
                        {
                            Fill(m.Color, m.Opacity, cl, ct, cr, cb); // each disc on its own: overlaps build up
                        }
                    }
                    else
                    {
                        double r = m.Size / 2, inner = r - (m.LineWidth * Math.Sqrt(2));
                        double x = m.X[i], y = m.Y[i];
                        Polygon([x, y - r, x + r, y, x, y + r, x - r, y]);
                        if (inner > 0)
                        {
                            Polygon([x, y - inner, x - inner, y, x, y + inner, x + inner, y]); // reversed: a hole
                        }
                    }
                }

                break;
            case SceneText text:
                Text(text);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape.GetType().Name, "unknown shape");
        }

        Fill(shape.Color, shape.Opacity, cl, ct, cr, cb);
    }

    /// <summary>An axis-aligned rectangle, blended directly: each pixel's coverage is its overlap with the rectangle;
    /// runs of whole pixels at full opacity are filled with the colour's index.</summary>
    private void Rect(double x0, double y0, double x1, double y1, Rgb color, float alpha)
    {
        (x0, y0, x1, y1) = (Math.Max(x0, 0), Math.Max(y0, 0), Math.Min(x1, _width), Math.Min(y1, _height));
        if (!(x1 > x0 && y1 > y0))
        {
            return;
        }

        UseColour(color);
        int xa = (int)x0, xb = (int)Math.Ceiling(x1), ya = (int)y0, yb = (int)Math.Ceiling(y1);
        Span<float> cx = xb - xa <= 4096 ? stackalloc float[xb - xa] : new float[xb - xa];
        int fullFrom = cx.Length, fullTo = 0; // the columns of whole coverage, [fullFrom, fullTo)
        for (int x = xa; x < xb; x++)
        {
            float c = (float)(Math.Min(x1, x + 1) - Math.Max(x0, x));
            cx[x - xa] = c;
            if (c == 1)
            {
                fullFrom = Math.Min(fullFrom, x - xa);
                fullTo = x - xa + 1;
            }
        }

        for (int y = ya; y < yb; y++)
        {
            float cy = (float)(Math.Min(y1, y + 1) - Math.Max(y0, y)) * alpha;
            int row = (y * _width) + xa;
            int x = 0;
            if (cy == 1 && fullTo > fullFrom)
            {
                // Whole pixels (coverage 1 between the partial ends) take the colour itself, whatever was under them.
                for (; x < fullFrom; x++)
                {
                    BlendAt(row + x, cx[x]);
                }

                _pixels.AsSpan(row + fullFrom, fullTo - fullFrom).Fill(_colourIndex);
                x = fullTo;
            }

            for (; x < cx.Length; x++)
            {
                BlendAt(row + x, cx[x] * cy);
            }
        }
    }

    /// <summary>A stroke as one quad per segment and a bevel triangle in each joint's outer gap, filled in pieces about
    /// 64 px wide so each fill scans only the rows' short touched spans (a piece's end pixels are blended twice;
    /// invisible at the opacity 1 lines are drawn with).</summary>
    private void Stroke(SceneLine line, (double L, double T, double R, double B) clip, double cl, double ct, double cr, double cb)
    {
        double[]? xs = null, ys = null;
        int n = line.Closed ? line.X.Length : Simplify(line.X, line.Y, SimplifyTolerance, ref xs, ref ys);
        ReadOnlySpan<double> lx = xs is null ? line.X : xs.AsSpan(0, n), ly = ys is null ? line.Y : ys.AsSpan(0, n);
        double half = line.Width / 2;
        double pieceMin = double.PositiveInfinity, pieceMax = double.NegativeInfinity;
        int segments = line.Closed ? n : n - 1;
        bool joined = false; // the previous segment was drawn and ended where this one starts
        double pdx = 0, pdy = 0, pnx = 0, pny = 0;
        for (int i = 0; i < segments; i++)
        {
            double x0 = lx[i], y0 = ly[i], x1 = lx[(i + 1) % n], y1 = ly[(i + 1) % n];
            double ex = x1, ey = y1;
            if (!ClipSegment(ref x0, ref y0, ref x1, ref y1, clip))
            {
                joined = false;
                continue;
            }

            double dx = x1 - x0, dy = y1 - y0, len = Math.Sqrt((dx * dx) + (dy * dy));
            if (len < 1e-9)
            {
                continue;
            }

            double nx = -dy / len * half, ny = dx / len * half;
            Polygon([x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny]);
            if (joined)
            {
                // The outer side is where this segment's offset points along the previous direction.
                double side = (nx * pdx) + (ny * pdy) >= 0 ? 1 : -1;
                double bx = x0 + (side * pnx), by = y0 + (side * pny), qx = x0 + (side * nx), qy = y0 + (side * ny);
                double turn = ((bx - x0) * (qy - y0)) - ((by - y0) * (qx - x0));
                // The quads wind negatively (shoelace); the triangle must too, or it would cancel them.
                Polygon(turn < 0 ? [x0, y0, bx, by, qx, qy] : [x0, y0, qx, qy, bx, by]);
            }

            (joined, pdx, pdy, pnx, pny) = (x1 == ex && y1 == ey, dx, dy, nx, ny);
            pieceMin = Math.Min(pieceMin, Math.Min(x0, x1));
            pieceMax = Math.Max(pieceMax, Math.Max(x0, x1));
            if (pieceMax - pieceMin > 64 && line.Opacity >= 1)
            {
                Fill(line.Color, line.Opacity, cl, ct, cr, cb);
                (pieceMin, pieceMax) = (double.PositiveInfinity, double.NegativeInfinity);
            }
        }

        if (xs is not null)
        {
            System.Buffers.ArrayPool<double>.Shared.Return(xs);
            System.Buffers.ArrayPool<double>.Shared.Return(ys!);
        }
    }

    /// <summary>How far (px) a simplified polyline may pass from a point it drops: far below what 1/16 coverage levels
    /// show on a 1.5 px line, and enough to merge the sub-pixel steps of a 1000-point CDF.</summary>
    internal const double SimplifyTolerance = 0.1;

    /// <summary>
    /// Douglas–Peucker: the points of the open polyline to keep so that every dropped point lies within
    /// <paramref name="tolerance"/> px of the simplified line's segment that replaces it. Returns the number kept; when
    /// points are dropped, <paramref name="xs"/>/<paramref name="ys"/> are rented arrays holding them (else left null).
    /// </summary>
    /// <remarks>A CDF drawn from 1000 quantiles is mostly segments under a pixel long on nearly straight runs; each was a
    /// quad and a bevel to rasterise. O(n log n) typically, O(n²) at worst (a line where every point is kept).
    /// Deterministic.</remarks>
    internal static int Simplify(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double tolerance, ref double[]? xs, ref double[]? ys)
    {
        int n = x.Length;
        if (n <= 2)
        {
            return n;
        }

        bool[] keep = System.Buffers.ArrayPool<bool>.Shared.Rent(n);
        int[] stack = System.Buffers.ArrayPool<int>.Shared.Rent(2 * n);
        keep.AsSpan(0, n).Clear();
        (keep[0], keep[n - 1]) = (true, true);
        int top = 0, kept = 2;
        (stack[top++], stack[top++]) = (0, n - 1);
        double tol2 = tolerance * tolerance;
        while (top > 0)
        {
            int b = stack[--top], a = stack[--top];
            double ax = x[a], ay = y[a], dx = x[b] - ax, dy = y[b] - ay, len2 = (dx * dx) + (dy * dy);
            double worst = -1;
            int at = -1;
            for (int i = a + 1; i < b; i++)
            {
                // Squared distance from point i to the segment a–b.
                double px = x[i] - ax, py = y[i] - ay;
                double t = len2 > 0 ? Math.Clamp(((px * dx) + (py * dy)) / len2, 0, 1) : 0;
                double ex = px - (t * dx), ey = py - (t * dy), d = (ex * ex) + (ey * ey);
                if (d > worst)
                {
                    (worst, at) = (d, i);
                }
            }

            if (worst > tol2)
            {
                keep[at] = true;
                kept++;
                (stack[top++], stack[top++]) = (a, at);
                (stack[top++], stack[top++]) = (at, b);
            }
        }

        System.Buffers.ArrayPool<int>.Shared.Return(stack);
        if (kept < n)
        {
            xs = System.Buffers.ArrayPool<double>.Shared.Rent(kept);
            ys = System.Buffers.ArrayPool<double>.Shared.Rent(kept);
            for (int i = 0, k = 0; i < n; i++)
            {
                if (keep[i])
                {
                    (xs[k], ys[k]) = (x[i], y[i]);
                    k++;
                }
            }
        }

        System.Buffers.ArrayPool<bool>.Shared.Return(keep);
        return kept;
    }

    /// <summary>Liang–Barsky: the part of the segment inside the rectangle; false when none is.</summary>
    private static bool ClipSegment(ref double x0, ref double y0, ref double x1, ref double y1, (double L, double T, double R, double B) c)
    {
        double t0 = 0, t1 = 1, dx = x1 - x0, dy = y1 - y0;
        ReadOnlySpan<double> p = [-dx, dx, -dy, dy];
        ReadOnlySpan<double> q = [x0 - c.L, c.R - x0, y0 - c.T, c.B - y0];
        for (int i = 0; i < 4; i++)
        {
            if (p[i] == 0)
            {
                if (q[i] < 0)
                {
                    return false;
                }

                continue;
            }

            double t = q[i] / p[i];
            if (p[i] < 0)
            {
                t0 = Math.Max(t0, t);
            }
            else
            {
                t1 = Math.Min(t1, t);
            }
        }

        if (t0 > t1)
        {
            return false;
        }

        (double sx, double sy) = (x0, y0);
        (x0, y0, x1, y1) = (sx + (t0 * dx), sy + (t0 * dy), sx + (t1 * dx), sy + (t1 * dy));
        return true;
    }

    private void Disc(double cx, double cy, double r)
    {
        int k = r < 2 ? 8 : r < 5 ? 12 : 20;
        Span<double> pts = stackalloc double[2 * k];
        for (int i = 0; i < k; i++)
        {
            double a = -2 * Math.PI * i / k; // the same turning sense as a stroke's quads, so a joint adds to them
            pts[2 * i] = cx + (r * Math.Cos(a));
            pts[(2 * i) + 1] = cy + (r * Math.Sin(a));
        }

        Polygon(pts);
    }

    private void Text(SceneText text)
    {
        if (_font is null || text.Text.Length == 0)
        {
            return;
        }

        float scale = (float)(text.Size / _font.UnitsPerEm);
        var glyphs = new List<int>(text.Text.Length);
        float advance = 0;
        for (int i = 0; i < text.Text.Length; i++)
        {
            int cp = char.IsSurrogatePair(text.Text, i) ? char.ConvertToUtf32(text.Text[i], text.Text[++i]) : text.Text[i];
            int g = _font.GlyphIndex(cp);
            glyphs.Add(g);
            advance += _font.Advance(g) * scale;
        }

        float bold = text.Bold ? (float)(text.Size * 0.06) : 0;
        float start = text.Anchor switch { TextAnchor.Middle => -(advance + bold) / 2, TextAnchor.End => -(advance + bold), _ => 0 };
        float pen = start;
        foreach (int g in glyphs)
        {
            if (_font.Outline(g).Length > 0 && !AddCachedGlyph(g, text, scale, bold, pen))
            {
                AddGlyph(_font, g, scale, bold, text.X, text.Y, pen, text.Rotated);
            }

            pen += _font.Advance(g) * scale;
        }
    }

    /// <summary>Adds glyph <paramref name="g"/>'s outlines (and a second pass <paramref name="bold"/> px along for
    /// bold) to the current shape, its pen <paramref name="pen"/> px along the baseline from (x0, y0).</summary>
    private void AddGlyph(TrueTypeFont font, int g, float scale, float bold, double x0, double y0, float pen, bool rotated)
    {
        Span<double> buffer = stackalloc double[256];
        foreach (float[] contour in font.Outline(g))
        {
            int count = contour.Length / 2;
            if (buffer.Length < contour.Length)
            {
                buffer = new double[contour.Length];
            }

            for (int pass = 0; pass < (bold > 0 ? 2 : 1); pass++)
            {
                float shift = pen + (pass * bold);
                for (int i = 0; i < count; i++)
                {
                    // Font units are y up; the canvas is y down. Rotated: (u, v) → (v, −u) about the anchor.
                    double u = shift + (contour[2 * i] * scale), v = -contour[(2 * i) + 1] * scale;
                    (buffer[2 * i], buffer[(2 * i) + 1]) = rotated ? (x0 + v, y0 - u) : (x0 + u, y0 + v);
                }

                Polygon(buffer[..contour.Length]);
            }
        }
    }

    /// <summary>Glyph cells already accumulated, per font, glyph, size, style and quarter-pixel position.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<GlyphKey, GlyphCells> s_glyphs = new();

    private Rasterizer? _glyphScratch;

    private readonly record struct GlyphKey(TrueTypeFont Font, int Glyph, double Size, bool Bold, bool Rotated, int Qx, int Qy);

    /// <summary>A glyph's accumulated signed areas (what <see cref="Edge"/> leaves for it), rows
    /// <see cref="Top"/>.. relative to its pen position's whole pixel, each row's cells from <c>Lo[r]</c> to <c>Hi[r]</c>.</summary>
    private sealed record GlyphCells(int Top, int Width, int[] Lo, int[] Hi, float[] Cells);

    /// <summary>
    /// Adds a glyph from the cache: its cells as accumulated once at the nearest quarter-pixel position, added to the
    /// accumulator like a stamp (signed areas add, so overlapping glyphs combine as if drawn from outlines). False when
    /// the glyph would reach the canvas' edge (the outlines are clamped there), leaving the caller to draw it.
    /// </summary>
    /// <remarks>Text is the same few characters in every figure; this draws each once per position class instead of
    /// per use. The glyph moves by at most 1/8 px from its exact place.</remarks>
    private bool AddCachedGlyph(int g, SceneText text, float scale, float bold, float pen)
    {
        TrueTypeFont font = _font!;
        (double ox, double oy) = text.Rotated ? (text.X, text.Y - pen) : (text.X + pen, text.Y);
        double fx = Math.Floor(ox), fy = Math.Floor(oy);
        int qx = (int)Math.Round((ox - fx) * 4), qy = (int)Math.Round((oy - fy) * 4);
        (int ix, int iy) = ((int)fx + (qx >> 2), (int)fy + (qy >> 2)); // a position that rounds up to 4/4 is the next pixel's 0
        var key = new GlyphKey(font, g, text.Size, text.Bold, text.Rotated, qx & 3, qy & 3);
        if (!s_glyphs.TryGetValue(key, out GlyphCells? cells))
        {
            cells = BuildGlyph(key, scale, bold);
            if (cells is null)
            {
                return false;
            }

            s_glyphs.TryAdd(key, cells);
        }

        int rows = cells.Lo.Length;
        if (iy + cells.Top < 0 || iy + cells.Top + rows > _height || ix - cells.Width < 0 || ix + cells.Width >= _width)
        {
            return false;
        }

        float[] acc = _acc;
        for (int r = 0, at = 0; r < rows; r++)
        {
            int y = iy + cells.Top + r, lo = ix + cells.Lo[r], hi = ix + cells.Hi[r];
            if (hi < lo)
            {
                continue;
            }

            Span<float> target = acc.AsSpan((y * _stride) + lo, hi - lo + 1);
            ReadOnlySpan<float> source = cells.Cells.AsSpan(at, hi - lo + 1);
            for (int i = 0; i < target.Length; i++)
            {
                target[i] += source[i];
            }

            at += hi - lo + 1;
            _rowMin[y] = Math.Min(_rowMin[y], lo);
            _rowMax[y] = Math.Max(_rowMax[y], hi);
            _yMin = Math.Min(_yMin, y);
            _yMax = Math.Max(_yMax, y);
        }

        return true;
    }

    /// <summary>Accumulates the glyph alone on a scratch canvas, its pen at (P + qx/4, P + qy/4), and keeps the cells;
    /// null when it does not fit the scratch canvas.</summary>
    private GlyphCells? BuildGlyph(GlyphKey key, float scale, float bold)
    {
        int pad = (int)Math.Ceiling((key.Size * 2) + bold) + 2, size = (2 * pad) + 2;
        if (_glyphScratch is null || _glyphScratch._width < size)
        {
            _glyphScratch = new Rasterizer(Math.Max(size, 64), Math.Max(size, 64), null);
        }

        Rasterizer s = _glyphScratch;
        s.AddGlyph(key.Font, key.Glyph, scale, bold, pad + (key.Qx / 4.0), pad + (key.Qy / 4.0), 0, key.Rotated);
        bool fits = s._yMin >= 1 && s._yMax < s._height - 1;
        int top = s._yMin, rows = fits ? s._yMax - s._yMin + 1 : 0, width = 0;
        var lo = new int[rows];
        var hi = new int[rows];
        var cells = new List<float>();
        for (int y = s._yMin; y <= s._yMax; y++)
        {
            int a = s._rowMin[y], b = s._rowMax[y];
            if (b >= 0)
            {
                fits &= a >= 1 && b < s._width - 1;
                if (fits)
                {
                    (lo[y - top], hi[y - top]) = (a - pad, b - pad);
                    width = Math.Max(width, Math.Max(pad - a, b - pad) + 1);
                    cells.AddRange(s._acc.AsSpan((y * s._stride) + a, b - a + 1));
                }

                s._acc.AsSpan((y * s._stride) + a, b - a + 1).Clear();
            }
            else if (fits)
            {
                (lo[y - top], hi[y - top]) = (0, -1);
            }

            s._rowMin[y] = int.MaxValue;
            s._rowMax[y] = -1;
        }

        (s._yMin, s._yMax) = (int.MaxValue, -1);
        return fits ? new GlyphCells(top - pad, width, lo, hi, [.. cells]) : null;
    }

    /// <summary>Adds a closed polygon (x, y pairs) to the current shape.</summary>
    private void Polygon(ReadOnlySpan<double> pts)
    {
        int n = pts.Length / 2;
        for (int i = 0; i < n; i++)
        {
            int j = i + 1 == n ? 0 : i + 1;
            Edge(pts[2 * i], pts[(2 * i) + 1], pts[2 * j], pts[(2 * j) + 1]);
        }
    }

    /// <summary>Accumulates one edge's signed area (font-rs's <c>draw_line</c>); x is clamped to the canvas.</summary>
    private void Edge(double ax, double ay, double bx, double by)
    {
        float x0p = (float)Math.Clamp(ax, 0, _width), y0p = (float)ay, x1p = (float)Math.Clamp(bx, 0, _width), y1p = (float)by;
        // Compared as floats: two ends a hair apart in double can round to the same float, and dx/dy would be 0/0.
        if (y0p == y1p)
        {
            return;
        }

        float dir = 1;
        if (y0p > y1p)
        {
            (x0p, y0p, x1p, y1p) = (x1p, y1p, x0p, y0p);
            dir = -1;
        }

        float dxdy = (x1p - x0p) / (y1p - y0p);
        float x = x0p;
        if (y0p < 0)
        {
            x -= y0p * dxdy;
        }

        int yStart = Math.Max(0, (int)y0p);
        int yEnd = Math.Min(_height, (int)MathF.Ceiling(y1p));
        float[] acc = _acc;
        for (int y = yStart; y < yEnd; y++)
        {
            int row = y * _stride;
            float dy = MathF.Min(y + 1, y1p) - MathF.Max(y, y0p);
            float xnext = x + (dxdy * dy);
            float d = dy * dir;
            (float xa, float xb) = x < xnext ? (x, xnext) : (xnext, x);
            float xaFloor = MathF.Floor(xa);
            int xai = (int)xaFloor;
            float xbCeil = MathF.Ceiling(xb);
            int xbi = (int)xbCeil;
            int touchedEnd;
            if (xbi <= xai + 1)
            {
                float xmf = (0.5f * (x + xnext)) - xaFloor;
                acc[row + xai] += d - (d * xmf);
                acc[row + xai + 1] += d * xmf;
                touchedEnd = xai + 1;
            }
            else
            {
                float s = 1 / (xb - xa);
                float xaf = xa - xaFloor;
                float a0 = 0.5f * s * (1 - xaf) * (1 - xaf);
                float xbf = xb - xbCeil + 1;
                float am = 0.5f * s * xbf * xbf;
                acc[row + xai] += d * a0;
                if (xbi == xai + 2)
                {
                    acc[row + xai + 1] += d * (1 - a0 - am);
                }
                else
                {
                    float a1 = s * (1.5f - xaf);
                    acc[row + xai + 1] += d * (a1 - a0);
                    for (int xi = xai + 2; xi < xbi - 1; xi++)
                    {
                        acc[row + xi] += d * s;
                    }

                    float a2 = a1 + ((xbi - xai - 3) * s);
                    acc[row + xbi - 1] += d * (1 - a2 - am);
                }

                acc[row + xbi] += d * am;
                touchedEnd = xbi;
            }

            if (xai < _rowMin[y])
            {
                _rowMin[y] = xai;
            }

            if (touchedEnd > _rowMax[y])
            {
                _rowMax[y] = touchedEnd;
            }

            x = xnext;
        }

        if (yStart < _yMin)
        {
            _yMin = yStart;
        }

        if (yEnd - 1 > _yMax)
        {
            _yMax = yEnd - 1;
        }
    }

    /// <summary>Blends the accumulated shape into the canvas inside the clip rectangle and clears the accumulator.</summary>
    private void Fill(Rgb color, double opacity, double cl, double ct, double cr, double cb)
    {
        int clipL = Math.Max(0, (int)Math.Floor(cl)), clipR = Math.Min(_width, (int)Math.Ceiling(cr));
        int clipT = Math.Max(0, (int)Math.Floor(ct)), clipB = Math.Min(_height, (int)Math.Ceiling(cb));
        float alpha = (float)opacity;
        float[] acc = _acc;
        UseColour(color);
        for (int y = _yMin; y <= _yMax; y++)
        {
            int lo = _rowMin[y], hi = _rowMax[y];
            if (hi < 0)
            {
                continue;
            }

            int row = y * _stride, pixels = y * _width;
            bool visible = y >= clipT && y < clipB;
            float sum = 0;
            for (int x = lo; x <= hi; x++)
            {
                float a = acc[row + x];
                if (a != 0)
                {
                    sum += a;
                    acc[row + x] = 0;
                }
                else if (MathF.Abs(sum) * alpha < 1f / 32)
                {
                    // Nothing to paint (the coverage rounds to 0) until the next cell an edge touched: skip to it. Most
                    // of a row's span is such gaps when one fill holds many crossings (a jagged line, a text).
                    int next = MemoryMarshal.Cast<float, int>(acc.AsSpan(row + x + 1, hi - x)).IndexOfAnyExcept(0);
                    if (next < 0)
                    {
                        break;
                    }

                    x += next;
                    continue;
                }

                if (!visible || x < clipL || x >= clipR)
                {
                    continue;
                }

                BlendAt(pixels + x, MathF.Min(1, MathF.Abs(sum)) * alpha);
            }

            _rowMin[y] = int.MaxValue;
            _rowMax[y] = -1;
        }

        (_yMin, _yMax) = (int.MaxValue, -1);
    }

    /// <summary>Makes <paramref name="color"/> the colour <see cref="BlendAt"/> paints with.</summary>
    private void UseColour(Rgb color)
    {
        int c = (color.R << 16) | (color.G << 8) | color.B;
        if (c != _colour)
        {
            (_colour, _colourIndex) = (c, IndexOf(c));
            _stamp++;
        }
    }

    /// <summary>Blends the current colour over pixel <paramref name="p"/> with a coverage rounded to 1/16 (coverage below
    /// 1/512 leaves it alone).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void BlendAt(int p, float coverage)
    {
        if (coverage < 1f / 512)
        {
            return;
        }

        int level = RoundHalfEven(coverage * CoverageLevels);
        if (level >= CoverageLevels)
        {
            _pixels[p] = _colourIndex;
        }
        else if (level > 0)
        {
            int key = (_pixels[p] * CoverageLevels) + level;
            _pixels[p] = _blendStamp[key] == _stamp ? _blendTo[key] : Blended(key, level);
        }
    }

    /// <summary><see cref="MathF.Round(float)"/> (halves to even) of a value ≥ 0, without its call: Native AOT's default
    /// x64 target has no SSE4.1 <c>roundss</c>, so the library call was ~2 % of a report's drawing.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int RoundHalfEven(float v)
    {
        int i = (int)v; // truncation is the floor for v ≥ 0
        float d = v - i; // exact
        return d > 0.5f || (d == 0.5f && (i & 1) == 1) ? i + 1 : i;
    }

    /// <summary>The palette index of the current colour over palette colour key / 16 at <paramref name="level"/>
    /// sixteenths, remembered for the current colour.</summary>
    private ushort Blended(int key, int level)
    {
        int under = _palette[key / CoverageLevels];
        float a = level * (1f / CoverageLevels);
        int r = Channel(under >> 16, _colour >> 16, a), g = Channel(under >> 8, _colour >> 8, a), b = Channel(under, _colour, a);
        ushort index = IndexOf((r << 16) | (g << 8) | b);
        _blendTo[key] = index;
        _blendStamp[key] = _stamp;
        return index;

        static int Channel(int under, int over, float a)
        {
            (under, over) = (under & 0xFF, over & 0xFF);
            return (byte)(under + ((over - under) * a) + 0.5f);
        }
    }

    /// <summary>The palette index of RGB colour <paramref name="c"/>, added when new. Past 65,536 colours (no chart
    /// comes near: a few hundred is usual) a new colour takes the nearest one's index instead.</summary>
    private ushort IndexOf(int c)
    {
        if (_paletteIndex.TryGetValue(c, out ushort index))
        {
            return index;
        }

        if (_colours > ushort.MaxValue)
        {
            return Nearest(c);
        }

        index = (ushort)_colours++;
        if (index == _palette.Length)
        {
            Array.Resize(ref _palette, 2 * index);
            Array.Resize(ref _blendTo, 2 * index * CoverageLevels);
            Array.Resize(ref _blendStamp, 2 * index * CoverageLevels);
        }

        _palette[index] = c;
        _paletteIndex.Add(c, index);
        return index;
    }

    private ushort Nearest(int c)
    {
        int best = 0;
        long bestDistance = long.MaxValue;
        for (int i = 0; i < _colours; i++)
        {
            int p = _palette[i];
            int dr = ((p >> 16) & 0xFF) - ((c >> 16) & 0xFF), dg = ((p >> 8) & 0xFF) - ((c >> 8) & 0xFF), db = (p & 0xFF) - (c & 0xFF);
            long d = (dr * dr) + (dg * dg) + (db * db);
            if (d < bestDistance)
            {
                (best, bestDistance) = (i, d);
            }
        }

        return (ushort)best;
    }
}
