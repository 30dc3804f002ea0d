using System.Buffers.Binary;

namespace Splitwise.Reports.Rendering;

/// <summary>
/// Glyph outlines and advances from a TrueType (<c>glyf</c>) font file, enough to rasterise chart text: the
/// <c>cmap</c> (formats 4 and 12), <c>hmtx</c> advances, simple and composite glyphs (offsets and scales), quadratic
/// curves flattened into line segments. No hinting, kerning or shaping.
/// </summary>
/// <remarks>Outlines are cached per glyph (thread-safe). Coordinates are in font units, y up.</remarks>
public sealed class TrueTypeFont
{
    private readonly byte[] _data;
    private readonly int _glyf, _loca, _hmtx, _cmap;
    private readonly bool _longLoca;
    private readonly int _metrics, _glyphs;
    private readonly Dictionary<int, float[][]> _outlines = [];
    private readonly Dictionary<int, int> _charToGlyph = [];

    public int UnitsPerEm { get; }

    private TrueTypeFont(byte[] data)
    {
        _data = data;
        int tables = U16(4);
        int head = 0, maxp = 0, hhea = 0;
        for (int i = 0; i < tables; i++)
        {
            int rec = 12 + (16 * i);
            string tag = System.Text.Encoding.ASCII.GetString(data, rec, 4);
            int offset = checked((int)U32(rec + 8));
            switch (tag)
            {
                case "head": head = offset; break;
                case "maxp": maxp = offset; break;
                case "hhea": hhea = offset; break;
                case "hmtx": _hmtx = offset; break;
                case "loca": _loca = offset; break;
                case "glyf": _glyf = offset; break;
                case "cmap": _cmap = CmapSubtable(offset); break;
            }
        }

        if (head == 0 || maxp == 0 || hhea == 0 || _hmtx == 0 || _loca == 0 || _glyf == 0 || _cmap == 0)
        {
            throw new InvalidDataException("not a TrueType font with glyf outlines and a Unicode cmap");
        }

        UnitsPerEm = U16(head + 18);
        _longLoca = U16(head + 50) != 0;
        _glyphs = U16(maxp + 4);
        _metrics = U16(hhea + 34);
    }

    /// <summary>Reads a font file; null when it is missing or not a TrueType font this reader understands.</summary>
    public static TrueTypeFont? TryLoad(string path)
    {
        try
        {
            byte[] data = File.ReadAllBytes(path);
            return data.Length > 12 && BinaryPrimitives.ReadUInt32BigEndian(data) is 0x00010000 or 0x74727565 ? new TrueTypeFont(data) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>The glyph for a character (0, the missing glyph, when the font has none).</summary>
    public int GlyphIndex(int codePoint)
    {
        lock (_charToGlyph)
        {
            if (!_charToGlyph.TryGetValue(codePoint, out int g))
            {
                g = Lookup(codePoint);
                _charToGlyph.Add(codePoint, g);
            }

            return g;
        }
    }

    /// <summary>Horizontal advance in font units.</summary>
    public int Advance(int glyph) => U16(_hmtx + (4 * Math.Min(glyph, _metrics - 1)));

    /// <summary>The glyph's contours as flat (x, y) pairs in font units, curves flattened; closed implicitly.</summary>
    public float[][] Outline(int glyph)
    {
        lock (_outlines)
        {
            if (!_outlines.TryGetValue(glyph, out float[][]? contours))
            {
                var list = new List<float[]>();
                AppendGlyph(glyph, 1, 0, 0, 1, 0, 0, list, 0);
                contours = [.. list];
                _outlines.Add(glyph, contours);
            }

            return contours;
        }
    }

    private int CmapSubtable(int cmap)
    {
        int count = U16(cmap + 2);
        int best = 0, bestRank = 0;
        for (int i = 0; i < count; i++)
        {
            int rec = cmap + 4 + (8 * i);
            int platform = U16(rec), encoding = U16(rec + 2);
            int sub = cmap + (int)U32(rec + 4);
            int format = U16(sub);
            int rank = (platform, encoding, format) switch
            {
                (3, 10, 12) or (0, 4, 12) or (0, 6, 12) => 3,
                (3, 1, 4) or (0, 3, 4) => 2,
                (0, _, 4) => 1,
                _ => 0,
            };
            if (rank > bestRank)
            {
                (best, bestRank) = (sub, rank);
            }
        }

        return best;
    }

    private int Lookup(int c)
    {
        int format = U16(_cmap);
        if (format == 12)
        {
            long groups = U32(_cmap + 12);
            for (long i = 0; i < groups; i++)
            {
                int g = _cmap + 16 + (int)(12 * i);
                long start = U32(g), end = U32(g + 4);
                if (c >= start && c <= end)
                {
                    return (int)(U32(g + 8) + (c - start));
                }
            }

            return 0;
        }

        if (c > 0xFFFF)
        {
            return 0;
        }

        int segments = U16(_cmap + 6) / 2;
        int ends = _cmap + 14, starts = ends + (2 * segments) + 2, deltas = starts + (2 * segments), ranges = deltas + (2 * segments);
        for (int i = 0; i < segments; i++)
        {
            if (U16(ends + (2 * i)) < c)
            {
                continue;
            }

            int start = U16(starts + (2 * i));
            if (start > c)
            {
                return 0;
            }

            int delta = (short)U16(deltas + (2 * i));
            int range = U16(ranges + (2 * i));
            if (range == 0)
            {
                return (c + delta) & 0xFFFF;
            }

            int glyph = U16(ranges + (2 * i) + range + (2 * (c - start)));
            return glyph == 0 ? 0 : (glyph + delta) & 0xFFFF;
        }

        return 0;
    }

    private (int Start, int End) GlyphRange(int glyph)
    {
        if (glyph < 0 || glyph >= _glyphs)
        {
            return (0, 0);
        }

        return _longLoca
            ? ((int)U32(_loca + (4 * glyph)), (int)U32(_loca + (4 * glyph) + 4))
            : (2 * U16(_loca + (2 * glyph)), 2 * U16(_loca + (2 * glyph) + 2));
    }

    private void AppendGlyph(int glyph, float a, float b, float c, float d, float dx, float dy, List<float[]> contours, int depth)
    {
        (int start, int end) = GlyphRange(glyph);
        if (end <= start || depth > 8)
        {
            return;
        }

        int p = _glyf + start;
        int count = (short)U16(p);
        if (count >= 0)
        {
            AppendSimple(p, count, a, b, c, d, dx, dy, contours);
            return;
        }

        int q = p + 10;
        while (true)
        {
            int flags = U16(q), component = U16(q + 2);
            q += 4;
            float ox, oy;
            if ((flags & 1) != 0)
            {
                (ox, oy) = ((short)U16(q), (short)U16(q + 2));
                q += 4;
            }
            else
            {
                (ox, oy) = ((sbyte)_data[q], (sbyte)_data[q + 1]);
                q += 2;
            }

            if ((flags & 2) == 0)
            {
                (ox, oy) = (0, 0); // point-matched components: rare in text fonts; placed at the origin
            }

            float ca = 1, cb = 0, cc = 0, cd = 1;
            if ((flags & 8) != 0)
            {
                ca = cd = F2Dot14(q);
                q += 2;
            }
            else if ((flags & 0x40) != 0)
            {
                (ca, cd) = (F2Dot14(q), F2Dot14(q + 2));
                q += 4;
            }
            else if ((flags & 0x80) != 0)
            {
                (ca, cb, cc, cd) = (F2Dot14(q), F2Dot14(q + 2), F2Dot14(q + 4), F2Dot14(q + 6));
                q += 8;
            }

            // Compose: the component's transform, then the parent's.
            AppendGlyph(component, (a * ca) + (c * cb), (b * ca) + (d * cb), (a * cc) + (c * cd), (b * cc) + (d * cd),
                (a * ox) + (c * oy) + dx, (b * ox) + (d * oy) + dy, contours, depth + 1);
            if ((flags & 0x20) == 0)
            {
                break;
            }
        }
    }

    private void AppendSimple(int p, int contourCount, float a, float b, float c, float d, float dx, float dy, List<float[]> contours)
    {
        int endPts = p + 10;
        int points = contourCount == 0 ? 0 : U16(endPts + (2 * (contourCount - 1))) + 1;
        int q = endPts + (2 * contourCount);
        q += 2 + U16(q); // instructions
        var flags = new byte[points];
        for (int i = 0; i < points;)
        {
            byte f = _data[q++];
            flags[i++] = f;
            if ((f & 8) != 0)
            {
                int repeat = _data[q++];
                for (; repeat > 0 && i < points; repeat--)
                {
                    flags[i++] = f;
                }
            }
        }

        float[] xs = Coordinates(flags, ref q, 2, 16);
        float[] ys = Coordinates(flags, ref q, 4, 32);

        int first = 0;
        var flat = new List<float>();
        for (int k = 0; k < contourCount; k++)
        {
            int last = U16(endPts + (2 * k));
            flat.Clear();
            Flatten(xs, ys, flags, first, last, flat);
            var contour = new float[flat.Count];
            for (int i = 0; i + 1 < flat.Count; i += 2)
            {
                contour[i] = (a * flat[i]) + (c * flat[i + 1]) + dx;
                contour[i + 1] = (b * flat[i]) + (d * flat[i + 1]) + dy;
            }

            if (contour.Length >= 6)
            {
                contours.Add(contour);
            }

            first = last + 1;
        }
    }

    /// <summary>One axis of a simple glyph's points: per flag a byte (sign in <paramref name="same"/>), nothing (same as
    /// before, when <paramref name="same"/> is set) or a signed 16-bit delta.</summary>
    private float[] Coordinates(byte[] flags, ref int q, int shortBit, int same)
    {
        var values = new float[flags.Length];
        int v = 0;
        for (int i = 0; i < flags.Length; i++)
        {
            byte f = flags[i];
            if ((f & shortBit) != 0)
            {
                int delta = _data[q++];
                v += (f & same) != 0 ? delta : -delta;
            }
            else if ((f & same) == 0)
            {
                v += (short)U16(q);
                q += 2;
            }

            values[i] = v;
        }

        return values;
    }

    /// <summary>One contour of on- and off-curve points as a polyline: implied on-curve midpoints between consecutive
    /// off-curve points, each quadratic piece cut into segments of about 40 font units (≤ 0.5 px at chart sizes).</summary>
    private static void Flatten(float[] xs, float[] ys, byte[] flags, int first, int last, List<float> output)
    {
        int n = last - first + 1;
        if (n < 2)
        {
            return;
        }

        bool On(int i) => (flags[first + (((i % n) + n) % n)] & 1) != 0;
        float X(int i) => xs[first + (((i % n) + n) % n)];
        float Y(int i) => ys[first + (((i % n) + n) % n)];

        // Start on an on-curve point (or the midpoint of the first two off-curve points).
        int s = 0;
        while (s < n && !On(s))
        {
            s++;
        }

        float sx, sy;
        if (s == n)
        {
            (sx, sy) = ((X(0) + X(1)) / 2, (Y(0) + Y(1)) / 2);
            s = 0; // the first control point is point 1
        }
        else
        {
            (sx, sy) = (X(s), Y(s));
        }

        output.Add(sx);
        output.Add(sy);
        float px = sx, py = sy;
        for (int k = 1; k <= n; k++)
        {
            int i = s + k;
            if (On(i))
            {
                (px, py) = (X(i), Y(i));
                output.Add(px);
                output.Add(py);
                continue;
            }

            float cx = X(i), cy = Y(i);
            float ex, ey;
            if (On(i + 1))
            {
                (ex, ey) = (X(i + 1), Y(i + 1));
                k++;
            }
            else
            {
                (ex, ey) = ((cx + X(i + 1)) / 2, (cy + Y(i + 1)) / 2);
            }

            float length = MathF.Abs(cx - px) + MathF.Abs(cy - py) + MathF.Abs(ex - cx) + MathF.Abs(ey - cy);
            int steps = Math.Clamp((int)(length / 40), 2, 16);
            for (int j = 1; j <= steps; j++)
            {
                float t = j / (float)steps, u = 1 - t;
                output.Add((u * u * px) + (2 * u * t * cx) + (t * t * ex));
                output.Add((u * u * py) + (2 * u * t * cy) + (t * t * ey));
            }

            (px, py) = (ex, ey);
        }
    }

    private float F2Dot14(int p) => (short)U16(p) / 16384f;

    private int U16(int p) => BinaryPrimitives.ReadUInt16BigEndian(_data.AsSpan(p));

    private long U32(int p) => BinaryPrimitives.ReadUInt32BigEndian(_data.AsSpan(p));
}
