using System.Text.RegularExpressions;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// <c>simulate</c>'s files and text summary on hand-written inputs (<see cref="GoldenInputs"/>) against the golden
/// files in <c>Fixtures/simulate/</c>: a Baseline, a Splitwise and a vLLM-engine run. They pin the output format and
/// guard against unintended change; the engine's behaviour is tested on typed results elsewhere.
/// </summary>
public sealed partial class SimulateGoldenTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("simulate-golden").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("baseline-h100", "--design baseline-h100 --machines 2")]
    [InlineData("splitwise-hh", "--design splitwise-hh --prompt-machines 1 --token-machines 1")]
    [InlineData("splitwise-ha", "--design splitwise-ha --prompt-machines 1 --token-machines 1 --kv-transfer serialized")]
    public async Task Simulate_outputs_match_the_golden_files(string name, string design)
    {
        string trace = GoldenInputs.Write(_dir, "trace.csv", GoldenInputs.Trace);
        await Check(name, ["simulate", "--trace", trace, .. design.Split(' '), "--slo", "ttft_p90=100ms,e2e_p50=300ms"], ["requests.csv", "instances.csv", "summary.csv", "summary.json"]);
    }

    [Fact]
    public async Task Simulate_with_the_vllm_engine_matches_the_golden_files()
    {
        string trace = GoldenInputs.Write(_dir, "turns.jsonl", GoldenInputs.Turns);
        await Check("vllm", ["simulate", "--trace", trace, "--engine", "vllm", "--machines", "1", "--max-num-batched-tokens", "1024"], ["requests.csv", "instances.csv", "summary.csv", "summary.json"]);
    }

    private async Task Check(string name, string[] args, string[] files)
    {
        string profile = GoldenInputs.Write(_dir, "profile.csv", GoldenInputs.Profile);
        string outDir = Path.Combine(_dir, "out-" + name);
        (int code, string stdout, string stderr) = await CliRunner.RunAsync([.. args, "--profile", profile, "--out", outDir]);
        Assert.True(code == 0, stderr);
        foreach (string file in files)
        {
            Golden.Check($"simulate/{name}/{file}", Normalize(File.ReadAllText(Path.Combine(outDir, file)), outDir));
        }

        Golden.Check($"simulate/{name}/stdout.txt", Normalize(stdout, outDir));
    }

    /// <summary>An output without what varies run to run: the wall-clock figures and the temporary directories.</summary>
    private string Normalize(string text, string outDir) =>
        WallClock().Replace(text.Replace(outDir, "<out>", StringComparison.Ordinal).Replace(_dir, "<dir>", StringComparison.Ordinal), "in <wall> s (<rate> M events/s)");

    [GeneratedRegex(@"in [0-9.]+ s \([0-9.]+ M events/s\)")]
    private static partial Regex WallClock();
}
