using System.Text.Json;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Serving;
using Splitwise.Tests.Cli;
using Splitwise.Tests.Serving;

namespace Splitwise.Tests.Profiling;

/// <summary>
/// A profile of a server nobody catalogued (model <c>tiny</c> on GPU <c>box-gpu</c>, as <c>splitwise profile</c>
/// writes it) used by simulate, serve and replay --predict, with the model and machine from a --catalog file.
/// </summary>
public sealed class MeasuredProfileUseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("measured-profile").FullName;

    public MeasuredProfileUseTests()
    {
        File.WriteAllText(CatalogPath, BoxCatalog.Yaml());
        // Prompt 10 ms at 128 tokens and 20 ms at 256; decode 2 and 3 ms there.
        File.WriteAllText(Profile, """
            # served_model: tiny
            model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,e2e_time,tensor_parallel
            tiny,box-gpu,128,1,16,0,0,10,2,0,1
            tiny,box-gpu,256,1,16,0,0,20,3,0,1
            """);
        File.WriteAllText(Trace, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,100,5\n");
    }

    private string CatalogPath => Path.Combine(_dir, "catalog.yaml");

    private string Profile => Path.Combine(_dir, "profile.csv");

    private string Trace => Path.Combine(_dir, "trace.csv");

    [Fact]
    public async Task Simulate_runs_the_measured_model_on_the_users_machine_exactly_as_the_profile_says()
    {
        string outDir = Path.Combine(_dir, "sim");
        (int code, _, string err) = await CliRunner.RunAsync(["simulate", "--trace", Trace, "--profile", Profile, "--catalog", CatalogPath, "--model", "tiny", "--machine", "box", "--machines", "1", "--out", outDir]);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal("baseline-box", doc.RootElement.GetProperty("design").GetString());
        Assert.Equal("tiny", doc.RootElement.GetProperty("model").GetString());
        // One request alone: prompt curve at x = 100 (extrapolated: 10 − 28 × 10/128 ms), then 4 decodes at x = 1
        // (2 − 127 × 1/128 ms each), as SplitwiseSim's interpolation gives; iterations are whole nanoseconds.
        double expectedMs = (10 - (28 * 10.0 / 128)) + (4 * (2 - (127 / 128.0)));
        Assert.Equal(expectedMs / 1000, doc.RootElement.GetProperty("span_s").GetDouble(), 1e-8);
    }

    [Theory]
    [InlineData("--model", "tiny", "--machine", "box", "unknown machine 'box'", "--catalog")]
    [InlineData("--model", "tiny", "--design", "baseline-a100", "unknown model 'tiny'", "--catalog")]
    public async Task Without_the_catalog_the_error_says_what_to_define(string o1, string v1, string o2, string v2, string what, string hint)
    {
        (int code, _, string err) = await CliRunner.RunAsync(["simulate", "--trace", Trace, "--profile", Profile, o1, v1, o2, v2, "--out", Path.Combine(_dir, "x")]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(what, err, StringComparison.Ordinal);
        Assert.Contains(hint, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task A_machine_whose_gpu_the_profile_lacks_is_an_error_naming_what_the_profile_has()
    {
        (int code, _, string err) = await CliRunner.RunAsync(["simulate", "--trace", Trace, "--profile", Profile, "--catalog", CatalogPath, "--model", "tiny", "--machine", "dgx-a100", "--out", Path.Combine(_dir, "x")]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("no profile rows for model 'tiny' on 'a100-80gb' at tensor parallelism 8", err, StringComparison.Ordinal);
        Assert.Contains("the profile has: tiny/box-gpu/tp1", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_emulates_the_measured_model_on_the_users_machine()
    {
        // serve runs until stopped: the timeout stops it once it has printed its banner.
        (_, string output, string err) = await CliRunner.RunAsync(["serve", "--port", "0", "--profile", Profile, "--catalog", CatalogPath, "--model", "tiny", "--machine", "box"], TimeSpan.FromSeconds(5));
        Assert.Contains("serving tiny at http://127.0.0.1:", output, StringComparison.Ordinal);
        Assert.Contains("baseline-box, 1 × box, 1 instance(s), profile model", output, StringComparison.Ordinal);
        Assert.Contains("max_model_len 4096", output, StringComparison.Ordinal);
        Assert.DoesNotContain("error", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_predicts_on_the_measured_model_and_machine()
    {
        Catalog catalog = Catalog.Load(CatalogPath);
        ClusterConfig design = ClusterConfig.ForDesign("baseline-a100", 1) with { Design = "box", Model = "tiny", Pools = [new PoolSpec("box", 1, TensorParallel: 1)] };
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, catalog, ProfileTable.Load(Profile), speedup: 1);
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster, new ServeOptions { ModelName = "tiny" });
        (int code, string output, string err) = await CliRunner.RunAsync(["replay", "--endpoint", server.BaseAddress.ToString(), "--model", "tiny", "--trace", Trace, "--out", Path.Combine(_dir, "replay"),
            "--predict", "baseline-a100", "--predict-machine", "box", "--predict-model", "tiny", "--catalog", CatalogPath, "--profile", Profile, "--no-warmup"]);
        Assert.True(code == 0, err);
        Assert.Contains("predicting on baseline-box: tiny on 1 × box (tp 1), 1 instance(s), profile model from " + Profile, err, StringComparison.Ordinal);
        Assert.Contains("TTFT  measured/predicted ms", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--predict-model", "tiny")]
    [InlineData("--predict-machine", "box")]
    public async Task Replay_prediction_flags_without_a_design_are_usage_errors_before_sending(string flag, string value)
    {
        // Port 9 (discard): if replay sent anything it would fail with exit 1, not 2.
        (int code, _, string err) = await CliRunner.RunAsync(["replay", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--trace", Trace, "--out", Path.Combine(_dir, "r"), flag, value]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("go with --predict DESIGN", err, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
