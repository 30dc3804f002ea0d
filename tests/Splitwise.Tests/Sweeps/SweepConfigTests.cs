using Splitwise.Sweeps;

namespace Splitwise.Tests.Sweeps;

public class SweepConfigTests
{
    private const string Yaml = """
        name: demo
        model: llama2-70b
        perf: profile
        seed: 7
        duration: 600s
        slo: ttft_p99=2s,e2e_p50=1.25x
        traces: [conv-2023, code-2023]
        rates: [trace, 2.5]
        designs:
          - design: baseline-a100
            machines: "10..30:10"
          - design: splitwise-aa
            prompt: [2, 3]
            token: 4
          - design: splitwise-ha
            splits: ["5/1"]
        """;

    [Fact]
    public void Parses_settings_and_enumerates_the_grid_in_config_order()
    {
        SweepConfig c = SweepConfig.Parse(Yaml, "demo.yaml");
        Assert.Equal("demo", c.Name);
        Assert.Equal(7, c.Settings.Seed);
        Assert.Equal(600, c.Settings.DurationSeconds);
        Assert.Equal("ttft_p99=2s,e2e_p50=1.25x", c.Settings.Slos.ToString());
        IReadOnlyList<SweepPoint> points = c.Enumerate();
        Assert.Equal((3 + 2 + 1) * 2 * 2, points.Count);
        Assert.Equal("baseline-a100|m0010|conv-2023|rtrace|s7", points[0].Key);
        Assert.Equal("baseline-a100|m0010|conv-2023|r0002.500|s7", points[1].Key);
        Assert.Equal("baseline-a100|m0010|code-2023|rtrace|s7", points[2].Key);
        Assert.Equal("splitwise-aa|p0002t0004|conv-2023|rtrace|s7", points[12].Key);
        Assert.Equal("splitwise-ha|p0005t0001|code-2023|r0002.500|s7", points[^1].Key);
        Assert.Equal(6, points[^1].Machines);
        Assert.Equal(points.Count, points.Select(p => p.Key).Distinct().Count());
    }

    [Fact]
    public void Overlapping_entries_give_each_point_once()
    {
        SweepConfig c = SweepConfig.Parse("""
            traces: [t]
            designs:
              - {design: baseline-h100, machines: [1, 2]}
              - {design: baseline-h100, machines: [2, 3]}
            """, "x.yaml");
        Assert.Equal(["m0001", "m0002", "m0003"], c.Enumerate().Select(p => p.Key.Split('|')[1]));
    }

    [Theory]
    [InlineData("traces: [t]\ndesigns:\n  - design: baseline-z\n    machines: [1]\n", "bad.yaml:3:13: unknown design 'baseline-z'")]
    [InlineData("traces: [t]\ndesigns:\n  - design: baseline-a100\n    machines: [0]\n", "bad.yaml:4:16: machines '0' is not an integer in 1..100000")]
    [InlineData("traces: [t]\ndesigns:\n  - design: splitwise-aa\n    machines: [4]\n", "bad.yaml:3:5: splitwise-aa splits machines into pools")]
    [InlineData("traces: [t]\ndesigns:\n  - design: splitwise-aa\n    splits: [\"4-4\"]\n", "bad.yaml:4:14: split '4-4' is not P/T")]
    [InlineData("traces: [t]\nrates: [fast]\ndesigns:\n  - {design: baseline-a100, machines: 1}\n", "bad.yaml:2:9: rate 'fast'")]
    [InlineData("traces: [t]\ndesign: []\n", "bad.yaml:2:1: unknown key 'design'")]
    [InlineData("designs:\n  - {design: baseline-a100, machines: 1}\n", "no traces")]
    [InlineData("traces: [t]\ndesigns:\n  - {design: baseline-a100, machines: \"5..2\"}\n", "machines range '5..2'")]
    [InlineData("traces: [t\n", "bad.yaml:")]
    [InlineData("engine: sglang\ntraces: [t]\ndesigns:\n  - {design: baseline-a100, machines: 1}\n", "bad.yaml:1:9: engine 'sglang' is not one of splitwise, vllm")]
    [InlineData("engine: vllm\nsplitwise_sim: true\ntraces: [t]\ndesigns:\n  - {design: baseline-a100, machines: 1}\n", "engine: vllm with splitwise_sim")]
    public void Errors_name_file_line_and_column(string yaml, string expected)
    {
        var ex = Assert.Throws<SplitwiseException>(() => SweepConfig.Parse(yaml, "bad.yaml"));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Shard_comes_from_the_option_or_the_job_environment()
    {
        Assert.Equal(new SweepShard(3, 10), SweepShard.Resolve("3/10", null, _ => null));
        Assert.Equal(SweepShard.All, SweepShard.Resolve(null, null, _ => null));
        var k8s = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "2", ["SPLITWISE_SHARDS"] = "4" };
        Assert.Equal(new SweepShard(2, 4), SweepShard.Resolve(null, null, k8s.GetValueOrDefault));
        var slurm = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "5", ["SLURM_ARRAY_TASK_COUNT"] = "8" };
        Assert.Equal(new SweepShard(5, 8), SweepShard.Resolve(null, null, slurm.GetValueOrDefault));
        Assert.Equal(new SweepShard(5, 6), SweepShard.Resolve(null, 6, slurm.GetValueOrDefault));
        Assert.Equal("results.shard-0005-of-0006.csv", new SweepShard(5, 6).FileName);

        Assert.Throws<SplitwiseException>(() => SweepShard.Resolve("10/10", null, _ => null));
        Assert.Throws<SplitwiseException>(() => SweepShard.Resolve("a/b", null, _ => null));
        var noCount = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "2" };
        var ex = Assert.Throws<SplitwiseException>(() => SweepShard.Resolve(null, null, noCount.GetValueOrDefault));
        Assert.Contains("--shards N", ex.Message, StringComparison.Ordinal);
    }
}
