using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Profiling;
using Splitwise.Replay;
using Splitwise.Serving;

namespace Splitwise.Tests.Profiling;

/// <summary>
/// Profiles <c>splitwise serve</c> — driven by SplitwiseSim's <c>perf_model.csv</c> (Llama2-70B on one DGX-A100) —
/// through the real HTTP stack and checks that the profile recovers what the emulator runs. The emulated prefills are
/// long against the scheduling delays of a loaded 2-core machine (points of 160–280 ms, run at half speed: a chunk
/// delivered 10 ms late is 3 % of the shortest, 60 % of it at speed-up 10), the median of 7 measurements per point.
/// </summary>
[Collection("ClosedLoop")]
public class ProfileRoundTripTests
{
    /// <summary>The emulator at half real time: wall-clock prefills of 320–570 ms.</summary>
    private const double Speedup = 0.5;

    [Fact]
    public async Task Profiling_serve_recovers_the_prompt_and_decode_times_it_emulates_within_5_percent()
    {
        ProfileTable perfModel = ProfileTable.Load(TestData.PerfModel);
        ClusterConfig design = ClusterConfig.ForDesign("baseline-a100", 1);
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, Catalog.BuiltIn, perfModel, speedup: Speedup);
        await using OpenAiServer server = await OpenAiServer.StartAsync(new ServeOptions { Port = 0 }, cluster, cancellationToken: TestContext.Current.CancellationToken);
        string dir = Directory.CreateTempSubdirectory("profile-roundtrip").FullName;
        var options = new ProfileOptions
        {
            Client = new ReplayOptions { Endpoint = server.BaseAddress, Model = "llama2-70b", OutputDirectory = dir, PrefixSeed = 7 },
            Hardware = "a100-80gb",
            TensorParallel = 8,
            PromptSizes = [1024, 2048],
            BatchSizes = [1, 2],
            MaxBatchTokens = 2048, // the emulator's batch token budget (SplitwiseSim's 2048): 2048 × 2 would take two steps
            Repeats = 7,
            OutputTokens = 6,
            ServerSpeedup = Speedup,
            OutputPath = Path.Combine(dir, "profile.csv"),
        };

        ProfileResult result = await new ServerProfiler(options).RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3 * 7, result.Samples.Count);
        Assert.True(result.Calibration is { AddedTokens: 0 }, result.Calibration?.Describe());
        ProfileTable recovered = ProfileTable.Load(options.OutputPath);
        Assert.Equal(server.BaseAddress + "v1/completions", recovered.Metadata["server"]);
        Assert.Equal("7", recovered.Metadata["prefix_seed"]);

        // Prompt: the emulator's prefill of b prompts of p tokens is perf_model.csv's median prompt time at x = p × b
        // (1024 and 2048 are profiled points); the recovered curve holds the median of the measurements there.
        ProfileCurve truth = perfModel.Get("llama2-70b", "a100-80gb", 8);
        ProfileCurve measured = recovered.Get("llama2-70b", "a100-80gb", 8);
        Assert.Equal([1024L, 2048], measured.X);
        for (int i = 0; i < measured.X.Length; i++)
        {
            int at = Array.IndexOf(truth.X, measured.X[i]);
            Assert.True(at >= 0, $"x = {measured.X[i]} is not a point of perf_model.csv");
            AssertWithin(truth.PromptMs[at], measured.PromptMs[i], 0.05, $"prompt time at x = {measured.X[i]} (samples {string.Join(", ", measured.PromptSamples[i].Select(v => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))})");
        }

        // Decode: a batch of b decoding requests costs the token curve at x = b in the emulator (SplitwiseSim's
        // DatabasePerformanceModel, extrapolated below the first point), whatever the context.
        var model = new ProfilePerformanceModel(truth);
        foreach (var point in result.Samples.GroupBy(s => (s.PromptSize, s.BatchSize)))
        {
            double expected = model.IterationMilliseconds(new BatchShape(0, 0, point.Key.BatchSize, (long)point.Key.BatchSize * point.Key.PromptSize));
            AssertWithin(expected, ProfileTable.Median(point.Select(s => s.TokenMs)), 0.05, $"decode time at {point.Key.PromptSize} × {point.Key.BatchSize}");
        }
    }

    private static void AssertWithin(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * expected, $"{what}: measured {actual:0.00} ms, emulated {expected:0.00} ms ({(actual - expected) / expected:+0.0%;-0.0%})");
}
