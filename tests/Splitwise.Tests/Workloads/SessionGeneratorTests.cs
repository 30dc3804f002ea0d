using Splitwise.Reports;
using Splitwise.Traces;
using Splitwise.Workloads;

namespace Splitwise.Tests.Workloads;

/// <summary><c>generate --sessions</c>: multi-turn conversations with shared system prompts and prefix hash chains.</summary>
public sealed class SessionGeneratorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("splitwise-sessions-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static WorkloadSpec Spec(SessionSpec sessions, long count, int user, int answer) => new()
    {
        Rate = 0.5,
        Count = count,
        Seed = 11,
        Format = TraceFormat.Mooncake,
        Input = new SizeDistribution.Constant(user),
        Output = new SizeDistribution.Constant(answer),
        Sessions = sessions,
    };

    private string Generate(WorkloadSpec spec, out WorkloadSummary summary)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");
        using (var stream = File.Create(path))
        using (var writer = new TraceRowWriter(stream, spec.Format, spec.Start))
        {
            summary = WorkloadGenerator.Generate(spec, writer);
        }

        return path;
    }

    private static Trace Read(string path) => TraceReader.Read(path, new TraceReadOptions { Sort = false });

    [Theory]
    [InlineData(1300, 4, 1024)] // two full system-prompt blocks; the third holds the user's tokens too
    [InlineData(1024, 3, 1024)]
    [InlineData(511, 2, 0)] // no full block inside the system prompt: nothing to share
    public void Shared_system_prompts_single_turn_hit_n_minus_k_times_the_full_blocks(int systemTokens, int prompts, int sharedTokens)
    {
        const int N = 3000;
        var sessions = new SessionSpec { Turns = new SizeDistribution.Constant(1), SystemPromptTokens = systemTokens, SystemPrompts = prompts };
        Trace trace = Read(Generate(Spec(sessions, N, user: 100, answer: 10), out WorkloadSummary summary));
        Assert.Equal(N, trace.Count);
        Assert.Equal(N, summary.Sessions);
        Assert.All(Enumerable.Range(0, N), i => Assert.Equal(systemTokens + 100, trace.Inputs[i]));

        PrefixReuse p = TraceAnalyzer.Analyze(trace).Statistics.Prefix!;
        int sharedBlocks = sharedTokens / 512;
        // Every system prompt is drawn at least once in 3000 sessions (seeded): the first use of each misses.
        int used = sharedBlocks == 0 ? prompts : Enumerable.Range(0, N).Select(i => trace.HashChain(i)[0]).Distinct().Count();
        Assert.Equal(prompts, used);
        Assert.Equal((long)(N - prompts) * sharedTokens, p.HitTokens);
        Assert.Equal(sharedBlocks == 0 ? 0 : N - prompts, p.HitRequests);
        Assert.Equal((long)(N - prompts) * sharedBlocks, p.BlocksSeenBefore);
        Assert.Equal((double)(N - prompts) * sharedTokens / ((long)N * (systemTokens + 100)), p.TokenHitRate, 12);
    }

    [Fact]
    public void Multi_turn_hits_exactly_the_previous_turns_full_blocks()
    {
        // Turn k's prompt: 700 + (k − 1)·(100 + 700) = 700, 1500, 2300, 3100 tokens; turn k + 1 hits turn k's full blocks:
        // ⌊700/512⌋ = 1, ⌊1500/512⌋ = 2, ⌊2300/512⌋ = 4 blocks. Sessions cut short by --count keep the formula per turn.
        var sessions = new SessionSpec { Turns = new SizeDistribution.Constant(4), ThinkTime = new DurationDistribution.Constant(10) };
        Trace trace = Read(Generate(Spec(sessions, 2001, user: 700, answer: 100), out _));
        int[] lengths = [700, 1500, 2300, 3100];
        long[] hits = [0, 512, 1024, 2048];
        long expected = 0, hitRequests = 0;
        bool interleaved = false;
        for (int i = 0; i < trace.Count; i++)
        {
            int turn = Array.IndexOf(lengths, trace.Inputs[i]);
            Assert.True(turn >= 0, $"request {i}: unexpected prompt {trace.Inputs[i]}");
            Assert.Equal((trace.Inputs[i] + 511) / 512, trace.HashChain(i).Length);
            expected += hits[turn];
            hitRequests += turn > 0 ? 1 : 0;
            interleaved |= i > 0 && turn > 0 && trace.Inputs[i - 1] != lengths[turn - 1];
            Assert.True(i == 0 || trace.Arrivals[i] >= trace.Arrivals[i - 1], "requests are written in arrival order");
        }

        Assert.True(interleaved, "turns of concurrent sessions interleave");
        PrefixReuse p = TraceAnalyzer.Analyze(trace).Statistics.Prefix!;
        Assert.Equal(expected, p.HitTokens);
        Assert.Equal(hitRequests, p.HitRequests);
        // A reuse comes from the session's previous turn, 10 s earlier: the time distance is exactly 10 s.
        Assert.InRange(p.DistanceSeconds.P50, 10 * 0.992, 10 * 1.008);
        Assert.Equal(10, p.DistanceSeconds.Max, 2);
    }

    [Fact]
    public void Equal_ids_mean_equal_prefixes_and_partial_blocks_are_never_shared()
    {
        var sessions = new SessionSpec { SystemPromptTokens = 1800, SystemPrompts = 3, ThinkTime = new DurationDistribution.Exponential(5) };
        WorkloadSpec spec = Spec(sessions, 5000, 1, 1) with { Input = new SizeDistribution.LogNormal(6, 1), Output = new SizeDistribution.LogNormal(5, 1) };
        Trace trace = Read(Generate(spec, out _));
        var predecessor = new Dictionary<long, (int Position, long Previous)>();
        var partial = new HashSet<long>();
        for (int i = 0; i < trace.Count; i++)
        {
            ReadOnlySpan<long> chain = trace.HashChain(i);
            Assert.Equal((trace.Inputs[i] + 511) / 512, chain.Length);
            for (int j = 0; j < chain.Length; j++)
            {
                (int, long) here = (j, j == 0 ? -1 : chain[j - 1]);
                Assert.Equal(here, predecessor.TryAdd(chain[j], here) ? here : predecessor[chain[j]]);
            }

            if (trace.Inputs[i] % 512 != 0)
            {
                Assert.True(partial.Add(chain[^1]), $"request {i}: a partial block's id was seen before");
            }
        }
    }

    [Fact]
    public void Same_seed_gives_the_same_bytes_and_another_seed_does_not()
    {
        var sessions = new SessionSpec { SystemPromptTokens = 600, SystemPrompts = 2 };
        WorkloadSpec spec = Spec(sessions, 4000, 1, 1) with { Input = new SizeDistribution.LogNormal(6, 1), Output = new SizeDistribution.Uniform(1, 500), Arrival = ArrivalKind.Gamma, Cv = 2 };
        byte[] a = File.ReadAllBytes(Generate(spec, out _));
        Assert.Equal(a, File.ReadAllBytes(Generate(spec, out _)));
        Assert.NotEqual(a, File.ReadAllBytes(Generate(spec with { Seed = 12 }, out _)));
    }

    [Fact]
    public void Duration_keeps_the_requests_arriving_within_it_and_rate_counts_sessions()
    {
        var sessions = new SessionSpec { Turns = new SizeDistribution.Constant(3), ThinkTime = new DurationDistribution.Constant(1) };
        WorkloadSpec spec = Spec(sessions, 0, 10, 10) with { Count = null, Duration = TimeSpan.FromSeconds(2000), Rate = 2 };
        Trace trace = Read(Generate(spec, out WorkloadSummary summary));
        Assert.True(trace.Arrivals[^1] <= TimeSpan.FromSeconds(2000).Ticks);
        // 2 sessions/s for 2000 s: 4000 sessions (sd 63; allow 5 sd), three requests each but for the last second's.
        Assert.InRange(summary.Sessions, 4000 - 316, 4000 + 316);
        Assert.InRange(trace.Count, (3 * summary.Sessions) - 20, 3 * summary.Sessions);
    }

    [Fact]
    public void Streaming_analysis_equals_in_memory_analysis()
    {
        // 80 k requests of Mooncake lines: several 4 MiB blocks, so the streamed pass crosses chunk boundaries.
        var sessions = new SessionSpec { SystemPromptTokens = 2048, SystemPrompts = 5, ThinkTime = new DurationDistribution.Exponential(30) };
        WorkloadSpec spec = Spec(sessions, 80_000, 1, 1) with { Rate = 3, Input = new SizeDistribution.LogNormal(6, 1), Output = new SizeDistribution.LogNormal(5, 1) };
        string path = Generate(spec, out _);
        Assert.True(new FileInfo(path).Length > 8 << 20);
        PrefixReuse streamed = TraceAnalyzer.AnalyzeFile(path, "s").Statistics.Prefix!;
        PrefixReuse memory = TraceAnalyzer.Analyze(Read(path)).Statistics.Prefix!;
        Assert.Equal(memory, streamed);
        Assert.Equal(80_000, streamed.Requests);
        Assert.True(streamed.TokenHitRate > 0.5);
    }

    [Theory]
    [InlineData("exponential:30s", 30)]
    [InlineData("constant:2m", 120)]
    [InlineData("uniform:1s,3s", 2)]
    public void Think_time_distributions_parse_with_units(string text, double mean)
    {
        Assert.Equal(mean, DurationDistribution.Parse(text, "--think-time").MeanSeconds, 9);
    }

    [Theory]
    [InlineData("exponential")]
    [InlineData("exponential:soon")]
    [InlineData("uniform:3s,1s")]
    [InlineData("weibull:1,2")]
    [InlineData("constant:-1s")]
    public void Bad_think_times_are_usage_errors(string text)
    {
        var e = Assert.Throws<SplitwiseException>(() => DurationDistribution.Parse(text, "--think-time"));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith("--think-time " + text, e.Message, StringComparison.Ordinal);
    }
}
