using System.Buffers.Binary;
using System.IO.Compression;
using System.Xml.Linq;
using Splitwise.Reports;
using Splitwise.Reports.Rendering;

namespace Splitwise.Tests.Reports;

/// <summary>The figure renderer's parts: ticks, layout, the SVG writer, the rasteriser, the PNG encoder and the font reader.</summary>
public class RenderingTests
{
    [Theory]
    [InlineData(0, 100, 5, 20)]
    [InlineData(0.0266, 0.0537, 8, 0.005)]
    [InlineData(-3, 7, 4, 5)]
    [InlineData(1, 27_303_998, 6, 5_000_000)]
    public void Linear_ticks_are_multiples_of_a_1_2_5_step_inside_the_range(double min, double max, int target, double step)
    {
        (double[] values, string[] labels) = AxisTicks.Linear(min, max, target);

        Assert.Equal(values.Length, labels.Length);
        Assert.All(values, v => Assert.InRange(v, min, max));
        Assert.All(values, v => Assert.Equal(0, Math.Round(v / step) - (v / step), 6));
        Assert.All(values.Zip(values.Skip(1)), p => Assert.Equal(step, p.Second - p.First, 9));
        Assert.True(values[0] - min < step && max - values[^1] < step, "a tick step is missing at an end");
    }

    [Fact]
    public void Linear_tick_labels_have_the_step_s_decimals_and_no_negative_zero()
    {
        Assert.Equal(["0.030", "0.035", "0.040"], AxisTicks.Linear(0.028, 0.041, 3).Labels);
        Assert.Equal(["-1", "0", "1"], AxisTicks.Linear(-1.2, 1.2, 3).Labels);
    }

    [Fact]
    public void Time_ticks_fall_on_whole_minutes_and_are_labelled_in_utc()
    {
        double start = new DateTime(2023, 11, 16, 18, 15, 46, DateTimeKind.Utc).ToOADate();
        double end = new DateTime(2023, 11, 16, 19, 14, 10, DateTimeKind.Utc).ToOADate();

        (double[] values, string[] labels) = AxisTicks.Time(start, end, 7);

        Assert.Equal(["18:20", "18:30", "18:40", "18:50", "19:00", "19:10"], labels);
        Assert.All(values, v => Assert.Equal(0, Math.Round(v * 86400) % 600));
    }

    [Fact]
    public void Time_ticks_over_a_week_are_days()
    {
        double start = new DateTime(2024, 5, 12, 0, 0, 0, DateTimeKind.Utc).ToOADate();
        string[] labels = AxisTicks.Time(start, start + 7, 8).Labels;
        Assert.Equal("2024-05-12", labels[0]);
        Assert.Equal("2024-05-19", labels[^1]);
    }

    [Fact]
    public void Layout_maps_the_data_into_the_plot_area_and_percent_axes_span_0_to_100()
    {
        var figure = new Figure("f", "title", "x", "y", [new FigureSeries("a", SeriesKind.Line, [0, 1, 2], [0, 50, 100])]) { YIsPercent = true };

        ChartScene scene = ChartLayout.Build(figure, 900, 500);

        (double left, double top, double right, double bottom) = scene.Plot;
        SceneLine line = scene.Shapes.OfType<SceneLine>().First(l => l.Clipped);
        Assert.Equal(bottom, line.Y[0], 9); // y = 0 % on the bottom edge, 100 % on the top edge
        Assert.Equal(top, line.Y[^1], 9);
        Assert.All(line.X, x => Assert.InRange(x, left, right));
        Assert.Contains(scene.Shapes.OfType<SceneText>(), t => t.Text == "100");
        Assert.DoesNotContain(scene.Shapes.OfType<SceneText>(), t => t.Text == "a"); // one series: no legend
    }

    [Fact]
    public void Layout_draws_a_legend_entry_per_series_and_a_step_holds_each_value()
    {
        var figure = new Figure("f", "t", "x", "y",
        [
            new FigureSeries("steps", SeriesKind.Step, [0, 1, 2], [1, 2, 3]),
            new FigureSeries("bars", SeriesKind.Bars, [1], [2], 0.5),
        ]);

        ChartScene scene = ChartLayout.Build(figure, 600, 400);

        Assert.Contains(scene.Shapes.OfType<SceneText>(), t => t.Text == "steps");
        Assert.Contains(scene.Shapes.OfType<SceneText>(), t => t.Text == "bars");
        SceneLine step = scene.Shapes.OfType<SceneLine>().First(l => l.Clipped);
        Assert.Equal(5, step.X.Length); // (0,1) (1,1) (1,2) (2,2) (2,3)
        Assert.Equal(step.Y[0], step.Y[1]);
        Assert.Equal(step.X[1], step.X[2]);
    }

    [Fact]
    public void XMax_cuts_the_axis_and_clipped_shapes_say_so()
    {
        var figure = new Figure("f", "t", "x", "y", [new FigureSeries("a", SeriesKind.Line, [0, 1, 100], [0, 50, 100])]) { XMax = 2 };

        ChartScene scene = ChartLayout.Build(figure, 600, 400);

        SceneLine line = scene.Shapes.OfType<SceneLine>().First(l => l.Clipped);
        Assert.True(line.X[^1] > scene.Plot.Right, "the tail should run off the plot, to be clipped");
        Assert.Equal("2", scene.Shapes.OfType<SceneText>().Where(t => t.Anchor == TextAnchor.Middle && !t.Bold).Last().Text);
    }

    [Fact]
    public void Svg_has_one_element_per_shape_text_encoded_and_clipped_series()
    {
        var figure = new Figure("f", "a < b & c → d", "x", "y",
        [
            new FigureSeries("one", SeriesKind.Line, [0, 1, 2], [0, 1, 4]),
            new FigureSeries("two", SeriesKind.Points, [1], [2]) { Emphasis = true },
        ]);
        ChartScene scene = ChartLayout.Build(figure, 600, 400);

        XDocument svg = XDocument.Parse(SvgWriter.Write(scene));

        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(scene.Shapes.OfType<SceneText>().Count(), svg.Descendants(ns + "text").Count());
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "a < b & c → d");
        XElement series = svg.Descendants(ns + "polyline").First(p => p.Attribute("clip-path") is not null);
        Assert.Equal(3, series.Attribute("points")!.Value.Split(' ').Length);
        Assert.Equal("#1f77b4", series.Attribute("stroke")!.Value);
        Assert.Equal("600", svg.Root!.Attribute("width")!.Value);
    }

    [Fact]
    public void Svg_numbers_are_written_exactly_as_the_0_hash_hash_format_writes_them()
    {
        var rng = new Random(20261202);
        var values = new List<double> { 0, -0.0, -0.001, -0.005, 0.005, 1.005, 2.675, 0.125, -0.125, 999_999.995, 1e6, 1e7 + 0.005, double.NaN, 1e-12 };
        for (int i = 0; i < 20_000; i++)
        {
            values.Add((rng.NextDouble() - 0.3) * 1000);
            values.Add(Math.Round((rng.NextDouble() - 0.2) * 100_000) / 1000); // x.xx5 midpoints, where rounding is delicate
            values.Add(rng.Next(-4000, 4000) / 8.0);
        }

        var h = new System.Text.StringBuilder();
        foreach (double v in values)
        {
            h.Clear();
            Assert.Equal(v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), SvgWriter.Number(h, v).ToString());
        }
    }

    [Fact]
    public void A_pixel_aligned_rectangle_covers_exactly_its_pixels_and_a_half_pixel_edge_blends_half()
    {
        var scene = new ChartScene(10, 10, (0, 0, 10, 10),
        [
            new SceneRects(new Rgb(0, 0, 0), 1, false, [(2, 2, 3, 3)]),
            new SceneRects(new Rgb(0, 0, 0), 1, false, [(7, 7, 1.5, 1)]),
        ]);

        byte[] rgb = Rasterizer.Render(scene, null);

        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                byte expected = x is >= 2 and < 5 && y is >= 2 and < 5 ? (byte)0
                    : y == 7 && x == 7 ? (byte)0
                    : y == 7 && x == 8 ? (byte)128 // half covered: 255 − 255 × 0.5, rounded
                    : (byte)255;
                Assert.True(expected == rgb[((y * 10) + x) * 3], $"pixel ({x}, {y}) is {rgb[((y * 10) + x) * 3]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Random_strokes_darken_the_canvas_by_their_area_and_clipping_keeps_ink_inside()
    {
        // A two-point stroke is a rectangle of length × width at any angle: its ink (sum of 1 − value / 255) is its area.
        var rng = new Random(20261202);
        for (int trial = 0; trial < 300; trial++)
        {
            double x0 = 8 + (rng.NextDouble() * 48), y0 = 8 + (rng.NextDouble() * 48), x1 = 8 + (rng.NextDouble() * 48), y1 = 8 + (rng.NextDouble() * 48);
            double w = 0.5 + (rng.NextDouble() * 5);
            double area = Math.Sqrt(((x1 - x0) * (x1 - x0)) + ((y1 - y0) * (y1 - y0))) * w;
            var scene = new ChartScene(64, 64, (0, 0, 64, 64), [new SceneLine(new Rgb(0, 0, 0), 1, false, [x0, x1], [y0, y1], w)]);

            double ink = Ink(Rasterizer.Render(scene, null));

            // Coverage is rounded to 1/16 per pixel: at most 1/32 of error on each edge pixel.
            double edgePixels = (2 * (Math.Abs(x1 - x0) + Math.Abs(y1 - y0) + (2 * w))) + 8;
            Assert.True(Math.Abs(ink - area) < (0.01 * area) + (edgePixels / 32), $"trial {trial}: ink {ink:F3}, area {area:F3}");
        }

        var clipped = new ChartScene(64, 64, (10, 10, 40, 40), [new SceneRects(new Rgb(0, 0, 0), 1, true, [(0, 0, 64, 64)])]);
        Assert.Equal(30 * 30, Ink(Rasterizer.Render(clipped, null)), 6);
    }

    [Fact]
    public void Simplified_polylines_keep_their_ends_and_pass_within_the_tolerance_of_every_dropped_point()
    {
        var rng = new Random(20261203);
        for (int trial = 0; trial < 200; trial++)
        {
            // A CDF-like walk: sub-pixel steps, mostly up, sometimes a long run across.
            int n = 2 + rng.Next(1500);
            double[] x = new double[n], y = new double[n];
            for (int i = 1; i < n; i++)
            {
                x[i] = x[i - 1] + (rng.NextDouble() < 0.02 ? rng.NextDouble() * 40 : rng.NextDouble() * 0.3);
                y[i] = y[i - 1] - (rng.NextDouble() * (trial % 2 == 0 ? 0.5 : 3));
            }

            double[]? xs = null, ys = null;
            int kept = Rasterizer.Simplify(x, y, Rasterizer.SimplifyTolerance, ref xs, ref ys);
            double[] kx = xs is null ? x : xs[..kept], ky = ys is null ? y : ys[..kept];

            Assert.Equal(xs is null, kept == n);
            Assert.Equal((x[0], y[0], x[^1], y[^1]), (kx[0], ky[0], kx[^1], ky[^1]));
            for (int i = 0, k = 0; i < n; i++)
            {
                // The kept points are a subsequence; a dropped one lies near the segment between the kept ones around it.
                if (k < kept && x[i] == kx[k] && y[i] == ky[k])
                {
                    k++;
                    continue;
                }

                Assert.True(Distance(x[i], y[i], kx[k - 1], ky[k - 1], kx[k], ky[k]) <= Rasterizer.SimplifyTolerance + 1e-12, $"trial {trial}, point {i}");
            }
        }

        double[] line = [.. Enumerable.Range(0, 1000).Select(i => i * 0.25)];
        double[]? lx = null, ly = null;
        Assert.Equal(2, Rasterizer.Simplify(line, line, 0.1, ref lx, ref ly));
        double[] zig = [.. Enumerable.Range(0, 100).Select(i => i % 2 * 0.25)];
        Assert.Equal(100, Rasterizer.Simplify(line[..100], zig, 0.1, ref lx, ref ly));

        static double Distance(double px, double py, double ax, double ay, double bx, double by)
        {
            double dx = bx - ax, dy = by - ay, len2 = (dx * dx) + (dy * dy);
            double t = len2 > 0 ? Math.Clamp((((px - ax) * dx) + ((py - ay) * dy)) / len2, 0, 1) : 0;
            return Math.Sqrt(Math.Pow(px - ax - (t * dx), 2) + Math.Pow(py - ay - (t * dy), 2));
        }
    }

    [Fact]
    public void Coverage_rounding_matches_MathF_Round_halves_to_even_included()
    {
        var values = new List<float>();
        for (int k = 0; k <= 16 * 1024; k++)
        {
            float v = k / 1024f;
            values.AddRange([v, MathF.BitIncrement(v), MathF.BitDecrement(v) is var d && d >= 0 ? d : 0]);
        }

        var rng = new Random(20261204);
        values.AddRange(Enumerable.Range(0, 100_000).Select(_ => (float)(rng.NextDouble() * 16)));
        Assert.All(values, v => Assert.Equal((int)MathF.Round(v), Rasterizer.RoundHalfEven(v)));
    }

    [Fact]
    public void Overlapping_parts_of_one_shape_do_not_double_its_opacity()
    {
        // A polyline folding back over itself at half opacity: the overlap is as light as a single pass.
        var scene = new ChartScene(40, 20, (0, 0, 40, 20), [new SceneLine(new Rgb(0, 0, 0), 0.5, false, [5, 35, 5], [10, 10, 10.0001], 4)]);
        byte[] rgb = Rasterizer.Render(scene, null);
        Assert.Equal(128, rgb[((10 * 40) + 20) * 3]);
    }

    [Fact]
    public void Png_round_trips_through_inflate_in_both_the_indexed_and_the_rgb_form()
    {
        var rng = new Random(5);
        byte[] few = new byte[37 * 23 * 3];
        for (int i = 0; i < few.Length; i += 3)
        {
            byte v = (byte)(rng.Next(4) * 60);
            // Runs of white (skipped by the encoder's search) between a few colours, some of them 255 in one channel.
            (few[i], few[i + 1], few[i + 2]) = rng.Next(3) > 0 ? ((byte)255, (byte)255, (byte)255) : (v, (byte)(255 - v), (byte)7);
        }

        byte[] many = new byte[37 * 23 * 3];
        rng.NextBytes(many);

        foreach (byte[] rgb in new[] { few, many })
        {
            byte[] png = PngEncoder.Encode(rgb, 37, 23);
            Assert.Equal(rgb, Decode(png, out int colourType));
            Assert.Equal(rgb == few ? 3 : 2, colourType);
        }
    }

    [Fact]
    public void Deflate_round_trips_through_zlib_on_rows_runs_and_noise()
    {
        // Rows that repeat the row above, runs, repeated 3-byte pixels, and noise; lengths around the 258-byte match cap
        // and the Adler-32 block sizes (16 bytes, 5552 bytes). The compressor holds a few rows at a time: tall images
        // move its window many times, and rows far shorter than a match make it hold many rows ahead.
        var rng = new Random(12);
        foreach ((int width, int height, int bpp) in new[] { (1, 1, 1), (37, 23, 1), (900, 40, 1), (300, 30, 3), (2000, 7, 1), (3, 500, 1), (899, 300, 3), (64, 1000, 1) })
        {
            int rowBytes = (width * bpp) + 1;
            byte[] data = new byte[rowBytes * height];
            for (int y = 0; y < height; y++)
            {
                int row = y * rowBytes;
                int kind = rng.Next(4);
                for (int x = 1; x < rowBytes; x++)
                {
                    data[row + x] = kind switch
                    {
                        0 when y > 0 => data[row + x - rowBytes],
                        1 => (byte)(x / 300),
                        2 => (byte)(x % 3 * 80),
                        _ => (byte)rng.Next(256),
                    };
                }
            }

            byte[] output = new byte[(data.Length * 9 / 8) + 64];
            int length = Deflate.Compress(data, rowBytes, bpp, output);

            using var z = new ZLibStream(new MemoryStream(output, 0, length), CompressionMode.Decompress); // checks the Adler-32 too
            var back = new MemoryStream();
            z.CopyTo(back);
            Assert.Equal(data, back.ToArray());
        }
    }

    [Fact]
    public void Adler32_matches_the_definition_at_every_length_around_its_block_sizes()
    {
        var rng = new Random(3);
        byte[] data = new byte[12_000];
        rng.NextBytes(data);
        Array.Fill(data, (byte)255, 6000, 6000); // long runs of the largest byte stress the lane sums
        foreach (int n in new[] { 0, 1, 15, 16, 17, 31, 5551, 5552, 5553, 5568, 11_104, 12_000 })
        {
            ulong a = 1, b = 0;
            foreach (byte v in data.AsSpan(0, n))
            {
                a = (a + v) % 65521;
                b = (b + a) % 65521;
            }

            Assert.Equal((uint)((b << 16) | a), Deflate.Adler32(data.AsSpan(0, n)));
        }
    }

    [Fact]
    public void A_pooled_canvas_draws_the_next_figure_as_a_fresh_one_would()
    {
        // The encoder whitens the canvas row by row as it reads it, and the pool hands the canvas on without clearing it:
        // a sparse figure after a busy one must show nothing of the busy one. An odd size keeps other tests' canvases out.
        var busy = new ChartScene(123, 77, (0, 0, 123, 77),
        [
            new SceneRects(new Rgb(200, 30, 30), 1, false, [(0, 0, 123, 77)]),
            new SceneLine(new Rgb(31, 119, 180), 1, false, [0, 60, 123], [70, 5, 70], 3),
        ]);
        var sparse = new ChartScene(123, 77, (0, 0, 123, 77), [new SceneRects(new Rgb(0, 0, 0), 0.5, false, [(10.5, 20.25, 30, 7)])]);

        foreach (ChartScene first in new[] { busy, sparse })
        {
            _ = Rasterizer.RenderPng(first, null);
            byte[] again = Rasterizer.RenderPng(sparse, null);

            Assert.Equal(Rasterizer.Render(sparse, null), Decode(again, out _));
        }
    }

    [Fact]
    public void Indexed_canvas_drops_unused_palette_entries_and_falls_back_to_rgb_past_256_colours()
    {
        // 300 palette entries, 200 of them used: indexed. All 300 used: RGB.
        int[] palette = [.. Enumerable.Range(0, 300).Select(i => 0xFFFFFF - (i * 997))];
        ushort[] fewUsed = [.. Enumerable.Range(0, 20 * 10).Select(i => (ushort)(i % 200 * 3 / 2))];
        ushort[] allUsed = [.. Enumerable.Range(0, 30 * 10).Select(i => (ushort)i)];
        foreach ((ushort[] pixels, int width, int type) in new[] { (fewUsed, 20, 3), (allUsed, 30, 2) })
        {
            byte[] png = PngEncoder.EncodeIndexed(pixels, palette, width, 10);

            byte[] rgb = Decode(png, out int colourType);
            Assert.Equal(type, colourType);
            for (int i = 0; i < pixels.Length; i++)
            {
                int c = palette[pixels[i]];
                Assert.Equal(((byte)(c >> 16), (byte)(c >> 8), (byte)c), (rgb[3 * i], rgb[(3 * i) + 1], rgb[(3 * i) + 2]));
            }
        }
    }

    [Fact]
    public void A_nearly_horizontal_edge_whose_ends_round_to_one_float_leaves_no_stray_pixels()
    {
        // The ends differ in double but not in float: dx/dy was 0/0, and the NaN painted the rest of the row black.
        var scene = new ChartScene(60, 20, (0, 0, 60, 20),
            [new SceneLine(new Rgb(31, 119, 180), 1, false, [5, 30, 30, 55], [10.3, 10.3, 10.3 + 1e-9, 10.3 + 1e-9], 1.5)]);

        byte[] rgb = Rasterizer.Render(scene, null);

        for (int i = 0; i < rgb.Length; i += 3)
        {
            Assert.False(rgb[i] == 0 && rgb[i + 1] == 0 && rgb[i + 2] == 0, $"black pixel at ({i / 3 % 60}, {i / 3 / 60})");
        }

        double red = 1 - (31 / 255.0); // Ink reads the red channel
        Assert.InRange(Ink(rgb), 50 * 1.5 * red * 0.9, 50 * 1.5 * red * 1.1); // and the line is all there
    }

    [Fact]
    public void Png_chunk_crcs_are_the_standard_crc32()
    {
        // The CRC of the IEND chunk (type only, no data) is the well-known AE 42 60 82.
        byte[] png = PngEncoder.Encode(new byte[3], 1, 1);
        Assert.Equal([0xAE, 0x42, 0x60, 0x82], png[^4..]);
    }

    [Fact]
    public void Font_reader_maps_characters_to_glyphs_with_outlines_and_advances()
    {
        TrueTypeFont font = RequireFont();

        int zero = font.GlyphIndex('0'), nine = font.GlyphIndex('9'), arrow = font.GlyphIndex('→');
        Assert.NotEqual(0, zero);
        Assert.NotEqual(zero, nine);
        Assert.NotEqual(0, arrow);
        Assert.Equal(font.Advance(zero), font.Advance(nine)); // tabular digits
        Assert.True(font.Advance(font.GlyphIndex('m')) > font.Advance(font.GlyphIndex('i')));
        float[][] o = font.Outline(font.GlyphIndex('o'));
        Assert.Equal(2, o.Length); // outer ring and counter
        Assert.All(o.SelectMany(c => c.Where((_, i) => i % 2 == 0)), x => Assert.InRange(x, -0.1 * font.UnitsPerEm, font.Advance(font.GlyphIndex('o'))));
        Assert.Empty(font.Outline(font.GlyphIndex(' ')));
    }

    [Fact]
    public void Text_is_drawn_when_a_font_is_there_and_anchors_as_the_svg_does()
    {
        TrueTypeFont font = RequireFont();
        var black = new Rgb(0, 0, 0);
        (int Min, int Max) Extent(TextAnchor anchor)
        {
            var scene = new ChartScene(200, 40, (0, 0, 200, 40), [new SceneText(black, 100, 25, "0123", 16, anchor)]);
            byte[] rgb = Rasterizer.Render(scene, font);
            int[] columns = [.. Enumerable.Range(0, 200).Where(x => Enumerable.Range(0, 40).Any(y => rgb[((y * 200) + x) * 3] < 128))];
            return (columns.Min(), columns.Max());
        }

        (int sMin, _) = Extent(TextAnchor.Start);
        (_, int eMax) = Extent(TextAnchor.End);
        (int mMin, int mMax) = Extent(TextAnchor.Middle);
        Assert.InRange(sMin, 100, 103);
        Assert.InRange(eMax, 96, 100);
        Assert.InRange(((mMin + mMax) / 2.0) - 100, -2, 2);
    }

    [Fact]
    public void Text_has_the_same_ink_at_every_subpixel_position_and_drawn_from_outlines_at_the_canvas_edge()
    {
        // Mid-canvas glyphs come from the cache of quarter-pixel positions; a glyph touching the edge is drawn from its
        // outlines. Coverage is area: the ink must not depend on the path or the position beyond the rounding of coverage
        // to 1/16 (±2 % here); a glyph lost or added would be ±9 %.
        TrueTypeFont font = RequireFont();
        var black = new Rgb(0, 0, 0);
        double InkAt(double x, bool rotated) =>
            Ink(Rasterizer.Render(new ChartScene(300, 300, (0, 0, 300, 300), [new SceneText(black, x, 150, "Tail 0.25 s", 13, TextAnchor.Start, Bold: true, Rotated: rotated)]), font));

        double reference = InkAt(100, rotated: false);
        Assert.True(reference > 50, $"ink {reference}");
        for (int k = 0; k < 16; k++)
        {
            Assert.Equal(reference, InkAt(100 + (k / 16.0), rotated: false), reference * 0.03);
            Assert.Equal(reference, InkAt(100 + (k / 16.0), rotated: true), reference * 0.03);
        }

        Assert.Equal(reference, InkAt(0.4, rotated: false), reference * 0.03); // the first glyph at the edge: outlines
    }

    private static TrueTypeFont RequireFont()
    {
        string? path = FigureRenderer.FontPath;
        if (path is null)
        {
            const string Why = "no TrueType font found (DejaVu Sans, Liberation Sans, Arial; or set SPLITWISE_FONT): apt-get install fonts-dejavu-core";
            Assert.SkipWhen(Environment.GetEnvironmentVariable("CI") != "true", Why);
            Assert.Fail(Why + " (.ci/run installs it)");
        }

        return TrueTypeFont.TryLoad(path!)!;
    }

    private static double Ink(byte[] rgb)
    {
        double sum = 0;
        for (int i = 0; i < rgb.Length; i += 3)
        {
            sum += 1 - (rgb[i] / 255.0);
        }

        return sum;
    }

    /// <summary>A minimal PNG decoder for the encoder's own output (filter 0 only): the RGB pixels and the colour type.</summary>
    private static byte[] Decode(byte[] png, out int colourType)
    {
        int p = 8, width = 0, height = 0;
        byte[] palette = [];
        var idat = new MemoryStream();
        colourType = 0;
        while (p < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(p));
            string type = System.Text.Encoding.ASCII.GetString(png, p + 4, 4);
            ReadOnlySpan<byte> data = png.AsSpan(p + 8, length);
            switch (type)
            {
                case "IHDR":
                    (width, height, colourType) = (BinaryPrimitives.ReadInt32BigEndian(data), BinaryPrimitives.ReadInt32BigEndian(data[4..]), data[9]);
                    break;
                case "PLTE":
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
            }

            p += 12 + length;
        }

        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] bytes = raw.ToArray();
        int bpp = colourType == 3 ? 1 : 3;
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int row = y * ((width * bpp) + 1);
            Assert.Equal(0, bytes[row]);
            for (int x = 0; x < width; x++)
            {
                int o = ((y * width) + x) * 3;
                if (colourType == 3)
                {
                    int k = bytes[row + 1 + x] * 3;
                    (rgb[o], rgb[o + 1], rgb[o + 2]) = (palette[k], palette[k + 1], palette[k + 2]);
                }
                else
                {
                    (rgb[o], rgb[o + 1], rgb[o + 2]) = (bytes[row + 1 + (x * 3)], bytes[row + 2 + (x * 3)], bytes[row + 3 + (x * 3)]);
                }
            }
        }

        return rgb;
    }
}
