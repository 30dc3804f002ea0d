using Splitwise.Sweeps;

namespace Splitwise.Tests.Sweeps;

public sealed class SweepRunnerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "splitwise-sweep-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly SweepConfig s_config = SweepConfig.Parse("""
        traces: [conv-2023, code-2023]
        rates: [1, 2, 4, 8]
        designs:
          - {design: baseline-a100, machines: "1..6"}
          - {design: splitwise-aa, prompt: [1, 2, 3], token: [1, 2]}
        """, "grid.yaml");

    private static SweepResult Evaluate(SweepPoint p, CancellationToken ct) => FakeEvaluator.Result(p, FakeEvaluator.Capacity(p));

    private static Func<SweepPoint, CancellationToken, SweepResult> Counting(List<string> log) => (p, ct) =>
    {
        lock (log)
        {
            log.Add(p.Key);
        }

        return Evaluate(p, ct);
    };

    [Fact]
    public async Task Sweep_writes_one_row_per_point_sorted_by_key()
    {
        var log = new List<string>();
        SweepRunSummary s = await SweepRunner.RunAsync(s_config, new SweepRunOptions(Path.Combine(_dir, "a"), SweepShard.All, Parallelism: 2), Counting(log), null, TestContext.Current.CancellationToken);
        string[] lines = File.ReadAllLines(s.ResultsPath);
        int points = (6 + 6) * 2 * 4;
        Assert.Equal(points, s.Points);
        Assert.Equal(points, log.Count);
        Assert.Equal(points + 1, lines.Length);
        Assert.StartsWith("key,design,machines,prompt_machines,token_machines,trace,rate,seed,", lines[0], StringComparison.Ordinal);
        string[] keys = [.. lines.Skip(1).Select(SweepCsv.KeyOf)];
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        Assert.Equal(lines[0].Split(',').Length, lines[1].Split(',').Length);
        Assert.Contains("baseline-a100|m0002|conv-2023|r0004.000|s1,baseline-a100,2,0,0,conv-2023,4,1,llama2-70b,profile,100,100,", lines[1..].Single(l => l.StartsWith("baseline-a100|m0002|conv-2023|r0004.000", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sharded_sweep_merged_equals_the_unsharded_sweep_byte_for_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        SweepRunSummary whole = await SweepRunner.RunAsync(s_config, new SweepRunOptions(Path.Combine(_dir, "whole"), SweepShard.All), Evaluate, null, ct);
        var shards = new List<string>();
        int total = 0;
        for (int i = 0; i < 3; i++)
        {
            SweepRunSummary part = await SweepRunner.RunAsync(s_config, new SweepRunOptions(Path.Combine(_dir, "shards"), new SweepShard(i, 3), Parallelism: 2), Evaluate, null, ct);
            shards.Add(part.ResultsPath);
            total += part.Points;
        }

        Assert.Equal(whole.Points, total);
        string merged = Path.Combine(_dir, "merged.csv");
        Assert.Equal(whole.Points, SweepCsv.Merge(shards, merged));
        Assert.Equal(File.ReadAllBytes(whole.ResultsPath), File.ReadAllBytes(merged));
    }

    [Fact]
    public async Task Resumed_sweep_skips_finished_points_and_drops_a_torn_last_row()
    {
        var ct = TestContext.Current.CancellationToken;
        string dir = Path.Combine(_dir, "resume");
        SweepRunSummary first = await SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All), Evaluate, null, ct);
        byte[] complete = File.ReadAllBytes(first.ResultsPath);

        // Simulate a run killed after 10 rows, the 11th half written.
        string[] lines = File.ReadAllLines(first.ResultsPath);
        File.WriteAllText(first.ResultsPath, string.Join('\n', lines.Take(11)) + "\n" + lines[11][..20]);
        var log = new List<string>();
        SweepRunSummary second = await SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All), Counting(log), null, ct);
        Assert.Equal(10, second.Resumed);
        Assert.Equal(first.Points - 10, second.Simulated);
        Assert.Equal(first.Points - 10, log.Count);
        Assert.DoesNotContain(SweepCsv.KeyOf(lines[1]), log);
        Assert.Equal(complete, File.ReadAllBytes(second.ResultsPath));

        // Nothing left: a third run simulates nothing and leaves the file as it is.
        log.Clear();
        SweepRunSummary third = await SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All), Counting(log), null, ct);
        Assert.Empty(log);
        Assert.Equal(complete, File.ReadAllBytes(third.ResultsPath));
    }

    [Fact]
    public async Task Interrupted_sweep_keeps_the_rows_it_finished()
    {
        string dir = Path.Combine(_dir, "cancel");
        using var cts = new CancellationTokenSource();
        int calls = 0;
        SweepResult Eval(SweepPoint p, CancellationToken ct)
        {
            if (Interlocked.Increment(ref calls) == 5)
            {
                cts.Cancel();
            }

            return Evaluate(p, ct);
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All, Parallelism: 1), Eval, null, cts.Token));
        string[] lines = File.ReadAllLines(Path.Combine(dir, "results.csv"));
        Assert.InRange(lines.Length - 1, 4, 5);
    }

    [Fact]
    public async Task Results_file_of_another_sweep_is_not_silently_mixed_in()
    {
        var ct = TestContext.Current.CancellationToken;
        string dir = Path.Combine(_dir, "other");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.csv"), "key,something_else\n");
        var ex = await Assert.ThrowsAsync<SplitwiseException>(() => SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All), Evaluate, null, ct));
        Assert.Contains("--restart", ex.Message, StringComparison.Ordinal);
        await SweepRunner.RunAsync(s_config, new SweepRunOptions(dir, SweepShard.All, Restart: true), Evaluate, null, ct);
    }

    [Fact]
    public void Merge_rejects_conflicting_shards()
    {
        Directory.CreateDirectory(_dir);
        string a = Path.Combine(_dir, "a.csv"), b = Path.Combine(_dir, "b.csv"), c = Path.Combine(_dir, "c.csv");
        File.WriteAllText(a, "key,x\nk1,1\n");
        File.WriteAllText(b, "key,x\nk1,2\n");
        File.WriteAllText(c, "key,y\nk2,1\n");
        Assert.Contains("different results", Assert.Throws<SplitwiseException>(() => SweepCsv.Merge([a, b], Path.Combine(_dir, "m.csv"))).Message, StringComparison.Ordinal);
        Assert.Contains("header differs", Assert.Throws<SplitwiseException>(() => SweepCsv.Merge([a, c], Path.Combine(_dir, "m.csv"))).Message, StringComparison.Ordinal);
        Assert.Equal(1, SweepCsv.Merge([a, a], Path.Combine(_dir, "m.csv")));
    }
}
