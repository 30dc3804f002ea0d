using Splitwise.Reports;
using Splitwise.Sweeps;

namespace Splitwise.Tests.Sweeps;

public sealed class SimulationEvaluatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("split-eval").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Real_sweep_of_both_design_kinds_is_deterministic_and_writes_cdfs()
    {
        string trace = TestData.ConvTrace;
        string profile = TestData.PerfModel;
        string yaml = $"""
            duration: 20s
            profile: {profile}
            traces: [{trace}]
            rates: [1]
            designs:
              - {"{"}design: baseline-a100, machines: [4]{"}"}
              - {"{"}design: splitwise-aa, splits: ["2/2"]{"}"}
            """;
        SweepConfig config = SweepConfig.Parse(yaml, Path.Combine(_dir, "s.yaml"));
        var ct = TestContext.Current.CancellationToken;
        var evaluator = new SimulationEvaluator(Path.GetDirectoryName(trace), null, Path.Combine(_dir, "a", "cdf"));
        SweepRunSummary a = await SweepRunner.RunAsync(config, new SweepRunOptions(Path.Combine(_dir, "a"), SweepShard.All), evaluator.Evaluate, null, ct);
        var again = new SimulationEvaluator(Path.GetDirectoryName(trace), null, null);
        SweepRunSummary b = await SweepRunner.RunAsync(config, new SweepRunOptions(Path.Combine(_dir, "b"), SweepShard.All, Parallelism: 1), again.Evaluate, null, ct);
        Assert.Equal(File.ReadAllBytes(a.ResultsPath), File.ReadAllBytes(b.ResultsPath));

        string[] lines = File.ReadAllLines(a.ResultsPath);
        Assert.Equal(3, lines.Length);
        string[] header = lines[0].Split(',');
        var split = header.Zip(lines[2].Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("splitwise-aa", split["design"]);
        Assert.Equal("2", split["prompt_machines"]);
        Assert.Equal("true", split["slo_pass"]);
        Assert.True(double.Parse(split["kv_transfer_mean_ms"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_dir, "a", "cdf")).Length);

        // engine: vllm runs the same grid on vLLM engines (the split design as prefill and decode instances).
        SweepConfig vllm = SweepConfig.Parse("engine: vllm\n" + yaml, Path.Combine(_dir, "v.yaml"));
        Assert.Equal("vllm", vllm.Settings.Engine);
        Assert.NotNull(SimulationEvaluator.Cluster(vllm.Enumerate()[1], Splitwise.Performance.PerformanceModelKind.Profile).Vllm);
        SweepRunSummary v = await SweepRunner.RunAsync(vllm, new SweepRunOptions(Path.Combine(_dir, "v"), SweepShard.All, Parallelism: 1), again.Evaluate, null, ct);
        string[] vlines = File.ReadAllLines(v.ResultsPath);
        Assert.Equal(3, vlines.Length);
        Assert.NotEqual(lines[2], vlines[2]); // another engine, other latencies

        string html = SweepReport.Write(a.ResultsPath, Path.Combine(_dir, "report.html"));
        string text = File.ReadAllText(html);
        Assert.Contains("<svg", text, StringComparison.Ordinal);
        Assert.Contains("Patel et al.", text, StringComparison.Ordinal);
    }
}
