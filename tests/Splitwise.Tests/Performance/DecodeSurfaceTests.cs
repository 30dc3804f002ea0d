using System.Globalization;
using CsCheck;
using Splitwise.Performance;

namespace Splitwise.Tests.Performance;

/// <summary>The optional <c>decode_context</c> column: a decode surface by batch size × context.</summary>
public class DecodeSurfaceTests
{
    private const string Header = "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,e2e_time,tensor_parallel,decode_context\n";

    private static string WriteProfile(string header, string body)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("decode-surface").FullName, "profile.csv");
        File.WriteAllText(path, header + body);
        return path;
    }

    /// <summary>A server whose decode step costs a + β·n + γ·n·c ms (weights, per-sequence work, KV reads).</summary>
    private static double Linear(double a, double beta, double gamma, double n, double c) => a + (beta * n) + (gamma * n * c);

    private static string Rows(Func<int, double, double> tokenMs, int[] prompts, int[] batches, double contextOffset = 8) =>
        string.Concat(prompts.SelectMany(p => batches.Select(b => string.Create(CultureInfo.InvariantCulture,
            $"m,g,{p},{b},16,0,0,{10.0 * p * b / 128},{tokenMs(b, p + contextOffset):R},0,1,{p + contextOffset:R}\n"))));

    [Fact]
    public void A_profile_without_the_column_has_no_surface_and_prices_decode_as_splitwise_sim()
    {
        string path = WriteProfile(Header.Replace(",decode_context", "", StringComparison.Ordinal),
            "m,g,128,1,16,0,0,10,3,0,1\nm,g,256,1,16,0,0,26,2,0,1\n");
        ProfileCurve curve = ProfileTable.Load(path).Get("m", "g", 1);
        Assert.Null(curve.Decode);
        var model = new ProfilePerformanceModel(curve);
        Assert.Equal(curve.PredictTokenMs(4), model.IterationMilliseconds(new BatchShape(0, 0, 4, 4 * 5000)));
    }

    [Fact]
    public void The_surface_holds_the_median_per_batch_and_prompt_size_and_the_model_prices_decode_by_it()
    {
        // Three repeats at (b 2, p 128): token times 5, 9, 6 → median 6 at the median context 136.
        string path = WriteProfile(Header,
            "m,g,128,1,16,0,0,10,4,0,1,136\n" +
            "m,g,512,1,16,0,0,40,8,0,1,520\n" +
            "m,g,128,2,16,0,0,20,5,0,1,135\n" +
            "m,g,128,2,16,0,0,20,9,0,1,137\n" +
            "m,g,128,2,16,0,0,20,6,0,1,136\n" +
            "m,g,512,2,16,0,0,80,12,0,1,520\n");
        ProfileCurve curve = ProfileTable.Load(path).Get("m", "g", 1);
        DecodeSurface surface = Assert.IsType<DecodeSurface>(curve.Decode);
        Assert.Equal([1, 2], surface.BatchSizes);
        Assert.Equal([136.0, 520], surface.Contexts(1));
        Assert.Equal(6, surface.PredictMs(2, 136));
        Assert.Equal(9, surface.PredictMs(2, 328));  // halfway between 6 and 12 in context
        Assert.Equal(5, surface.PredictMs(1.5, 136)); // halfway between 4 and 6 in batch size

        var model = new ProfilePerformanceModel(curve);
        Assert.Equal(12_000_000, model.IterationNanoseconds(new BatchShape(0, 0, 2, 2 * 520)));
        // A mixed batch: the prompt curve over its 130 tokens plus what the 2 decodes' context (mean 150) costs them on
        // the surface: at batch 2 it rises 3 ms per 192 tokens of context (6 at 136, 9 at 328), so 150 × 3 / 192 ms.
        Assert.Equal((long)Math.Round((curve.PredictPromptMs(130) + (150 * 3.0 / 192)) * 1e6),
            model.IterationNanoseconds(new BatchShape(128, 1, 2, 300)));
        // The prompt curve is unchanged by the column.
        Assert.Equal([128L, 256, 512, 1024], curve.X);
    }

    [Fact]
    public void A_linear_server_is_recovered_exactly_between_and_beyond_the_profiled_points() =>
        Gen.Select(Gen.Double[0.5, 50], Gen.Double[0, 5], Gen.Double[0, 0.01], Gen.Double[1, 12], Gen.Double[50, 8000])
            .Sample((a, beta, gamma, n, c) =>
            {
                string path = WriteProfile(Header, Rows((b, ctx) => Linear(a, beta, gamma, b, ctx), [128, 512, 2048], [1, 2, 4, 8]));
                DecodeSurface surface = ProfileTable.Load(path).Get("m", "g", 1).Decode!;
                double expected = Linear(a, beta, gamma, n, c);
                return Math.Abs(surface.PredictMs(n, c) - expected) <= 1e-9 * Math.Max(1, expected);
            }, iter: 200, seed: "0N0XIzNsQ0O2");

    [Fact]
    public void One_measured_context_or_batch_size_is_held_constant()
    {
        string path = WriteProfile(Header, "m,g,128,1,16,0,0,10,4,0,1,136\nm,g,128,2,16,0,0,20,6,0,1,136\nm,g,256,1,16,0,0,20,5,0,1,264\n");
        DecodeSurface surface = ProfileTable.Load(path).Get("m", "g", 1).Decode!;
        Assert.Equal(6, surface.PredictMs(2, 5000)); // batch 2 has one context
        Assert.Equal(4 + (1.0 / 128 * (1000 - 136)), surface.PredictMs(1, 1000), 12);
    }

    [Fact]
    public void A_bad_decode_context_is_a_usage_error_naming_line_and_column()
    {
        string path = WriteProfile(Header, "m,g,128,1,16,0,0,10,4,0,1,136\nm,g,256,1,16,0,0,20,5,0,1,-3\n");
        var error = Assert.Throws<SplitwiseException>(() => ProfileTable.Load(path));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains($"{path}:3:12: decode_context must be a positive number", error.Message, StringComparison.Ordinal);
    }
}
