using System.Buffers.Binary;
using System.Xml.Linq;
using CsCheck;
using Splitwise.Reports;
using Splitwise.Traces;

namespace Splitwise.Tests.Reports;

public class FigureDataTests
{
    [Fact]
    public void Histogram_puts_every_value_in_its_bin_and_keeps_the_total()
    {
        Gen.Int[0, 20_000].Array[1, 500].Sample(data =>
        {
            IntDistribution d = IntDistribution.Of(data);
            FigureSeries h = FigureData.Histogram("x", d, FigureData.MaxBins);
            Assert.InRange(h.X.Length, 1, FigureData.MaxBins);
            Assert.Equal(data.Length, h.Y.Sum());
            double width = h.BarWidth;
            Assert.Equal(Math.Floor(width), width);
            foreach (int v in data)
            {
                // The bar centred at X covers [X - (w-1)/2, X + (w-1)/2] in integers.
                int bin = Array.FindIndex(h.X, c => v >= c - ((width - 1) / 2) && v <= c + ((width - 1) / 2));
                Assert.True(bin >= 0 && h.Y[bin] > 0, $"value {v} has no non-empty bin");
            }
        }, seed: "0N0XIzNsQ0O2", iter: 100);
    }

    [Fact]
    public void Cdf_rises_to_100_percent_at_the_maximum()
    {
        Gen.Int[1, 5000].Array[1, 2000].Sample(data =>
        {
            FigureSeries cdf = FigureData.Cdf("x", IntDistribution.Of(data));
            Assert.Equal(100.0, cdf.Y[^1], 9);
            Assert.Equal(data.Max(), cdf.X[^1]);
            Assert.Equal(data.Min(), cdf.X[0]);
            for (int i = 1; i < cdf.X.Length; i++)
            {
                Assert.True(cdf.X[i] > cdf.X[i - 1] && cdf.Y[i] > cdf.Y[i - 1]);
                Assert.Equal(100.0 * data.Count(v => v <= cdf.X[i]) / data.Length, cdf.Y[i], 9);
            }
        }, seed: "0N0XIzNsQ0O2", iter: 100);
    }

    [Fact]
    public void Arrival_histogram_groups_whole_minutes()
    {
        var perMinute = new MinuteSeries(new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero), [.. Enumerable.Range(0, 250).Select(i => (long)i)], new long[250], new long[250]);
        FigureSeries h = FigureData.ArrivalHistogram("x", perMinute, 100);
        Assert.Equal(84, h.X.Length); // 3-minute bins
        Assert.Equal(0 + 1 + 2, h.Y[0]);
        Assert.Equal(perMinute.Requests.Sum(), h.Y.Sum());
        Assert.Equal(3.0 / (24 * 60), h.BarWidth, 12);
    }

    [Fact]
    public void Every_notebook_figure_is_built_per_trace_and_the_cdfs_span_all_traces()
    {
        TraceAnalysis a = TraceAnalyzer.Analyze(SmallTrace("conv 2023"), sampleSize: 100);
        TraceAnalysis b = TraceAnalyzer.Analyze(SmallTrace("conv 2023"), sampleSize: 100);
        IReadOnlyList<Figure> figures = FigureData.Build([a, b]);
        string[] ids = [.. figures.Select(f => f.Id)];
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.Contains("cdf-input-tokens", ids);
        Assert.Contains("cdf-output-tokens", ids);
        foreach (string slug in new[] { "conv-2023", "conv-2023-2" })
        {
            foreach (string kind in new[] { "arrivals", "input-tokens", "output-tokens", "scatter", "requests-per-minute", "tokens-per-minute" })
            {
                Assert.Contains($"{slug}-{kind}", ids);
            }
        }

        Assert.Equal(2, figures.Single(f => f.Id == "cdf-input-tokens").Series.Count);
        Assert.True(figures.Single(f => f.Id == "cdf-output-tokens").YIsPercent);
    }

    [Fact]
    public void Renderer_writes_a_decodable_png_and_an_svg_document()
    {
        IReadOnlyList<Figure> figures = FigureData.Build([TraceAnalyzer.Analyze(SmallTrace("t"), sampleSize: 50)]);
        foreach (Figure figure in figures)
        {
            byte[] png = FigureRenderer.RenderPng(figure, 400, 300);
            AssertPng(png, 400, 300);
            XDocument svg = XDocument.Parse(FigureRenderer.RenderSvg(figure, 400, 300));
            Assert.Equal("svg", svg.Root!.Name.LocalName);
        }
    }

    [Fact]
    public void Rendering_is_deterministic()
    {
        Figure figure = FigureData.Build([TraceAnalyzer.Analyze(SmallTrace("t"), sampleSize: 50)])[0];
        Assert.Equal(FigureRenderer.RenderSvg(figure), FigureRenderer.RenderSvg(figure));
        Assert.Equal(FigureRenderer.RenderPng(figure), FigureRenderer.RenderPng(figure));
    }

    [Fact]
    public void Slug_makes_file_names_safe() => Assert.Equal("my-trace.csv", FigureData.Slug("My trace.csv"));

    /// <summary>PNG signature, then an IHDR chunk with the expected size.</summary>
    internal static void AssertPng(byte[] png, int width, int height)
    {
        Assert.True(png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "not a PNG");
        Assert.True(png.AsSpan(12, 4).SequenceEqual("IHDR"u8), "no IHDR chunk");
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.True(png.AsSpan(png.Length - 8, 4).SequenceEqual("IEND"u8), "no IEND chunk");
        Assert.True(png.Length > 2000, "image suspiciously small");
    }

    private static Trace SmallTrace(string name)
    {
        var rng = new Random(11);
        int n = 600;
        long[] t = [.. Enumerable.Range(0, n).Select(i => (long)i * 37 * TimeSpan.TicksPerSecond / 10)];
        int[] x = [.. Enumerable.Range(0, n).Select(_ => rng.Next(10, 4000))];
        int[] y = [.. Enumerable.Range(0, n).Select(_ => rng.Next(1, 500))];
        return new Trace(name, new DateTimeOffset(2023, 11, 16, 18, 15, 0, TimeSpan.Zero), t, x, y, n);
    }
}
