using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Traces;

namespace Splitwise.Tests.Simulation;

/// <summary>Prefix-cache-aware routing (<see cref="PrefixAwareScheduler"/>, llm-d's scorers) over vLLM engines.</summary>
public sealed class PrefixRoutingTests
{
    private const long Second = 1_000_000_000;
    private static readonly AffineModel s_perf = new(1000, 10, 20_000_000, 10); // decode steps of 20 ms: 4,000 tokens take 80 s

    /// <summary>Six system prompts of 1,024 tokens (two chain blocks) each followed by 512 tokens of the request's
    /// own, arriving one a second in an irregular order, each decoding for longer than the trace lasts, on three
    /// instances with room for all of it.</summary>
    private static Trace SystemPrompts(out int[] prompt)
    {
        const int Count = 40;
        prompt = [.. Enumerable.Range(0, Count).Select(i => (i * 7 % 11) % 6)];
        var offsets = new int[Count + 1];
        var ids = new List<long>();
        for (int i = 0; i < Count; i++)
        {
            ids.AddRange([100 + (10 * prompt[i]), 101 + (10 * prompt[i]), 1000 + i]);
            offsets[i + 1] = ids.Count;
        }

        Trace plain = SimKit.Trace([.. Enumerable.Range(0, Count).Select(i => (i * Second, 1536, 4000))]);
        return new Trace("system-prompts", DateTimeOffset.UnixEpoch, plain.ArrivalTicks.ToArray(), plain.InputTokens.ToArray(), plain.OutputTokens.ToArray(), Count, offsets, [.. ids]);
    }

    private static Dictionary<long, RequestOutcome> Run(Trace trace, string scheduler)
    {
        InstanceSpec[] instances = [.. Enumerable.Range(0, 3).Select(i => SimKit.VllmInstance(s_perf, budget: 8192, seqs: 64, blockSize: 16, blocks: 10_000, index: i))];
        using var recorder = new SimulationRecorder(null);
        var requests = new Dictionary<long, RequestOutcome>();
        recorder.RequestObserver = r => requests.Add(r.Id, r);
        var engine = new Simulator(instances, ClusterScheduler.Create(scheduler, instances.Length), recorder);
        engine.Run(ArrivalSource.FromTrace(trace), cancellationToken: TestContext.Current.CancellationToken);
        return requests;
    }

    [Fact]
    public void Each_system_prompt_goes_where_it_is_cached_and_new_ones_spread_by_load()
    {
        Trace trace = SystemPrompts(out int[] prompt);
        Dictionary<long, RequestOutcome> routed = Run(trace, "prefix");

        // The first request of each system prompt finds nothing; every later one finds its 1,024 tokens (its own 512
        // are not cached anywhere): the prefix score (3 × 2/3) outweighs the KV-utilisation difference (2 × a few %),
        // and a new prompt goes to an instance whose KV is least used.
        for (int i = 0; i < prompt.Length; i++)
        {
            bool first = Array.IndexOf(prompt, prompt[i]) == i;
            Assert.Equal(first ? 0 : 1024, routed[i].CachedTokens);
        }

        // Routing by load alone sends requests of a prompt to instances that never saw it: a miss on each instance.
        int loadMisses = Run(trace, "token-jsq").Values.Count(r => r.CachedTokens == 0);
        int prefixMisses = routed.Values.Count(r => r.CachedTokens == 0);
        Assert.Equal(6, prefixMisses);
        Assert.True(loadMisses > prefixMisses, $"token-jsq missed {loadMisses} times, prefix routing {prefixMisses}");
    }

    [Fact]
    public void Prefix_routing_needs_the_vllm_engine_and_valid_weights()
    {
        InstanceSpec[] plain = [SimKit.Instance(s_perf)];
        using var recorder = new SimulationRecorder(null);
        var e = Assert.Throws<SplitwiseException>(() => new Simulator(plain, ClusterScheduler.Create("prefix", 1), recorder));
        Assert.Contains("--engine vllm", e.Message, StringComparison.Ordinal);
        Assert.Throws<SplitwiseException>(() => ClusterScheduler.Create("prefix:3:2", 2));
        Assert.Throws<SplitwiseException>(() => ClusterScheduler.Create("prefix:a:2:2", 2));
        Assert.Throws<SplitwiseException>(() => ClusterScheduler.Create("prefix:0:0:0", 2));
        Assert.Equal("prefix:1:0.5:2", ClusterScheduler.Create("prefix:1:0.5:2", 2).Name);
    }

    private static SimKit.Result RunPd(Trace trace, int threshold)
    {
        // Three prefill instances (0–2) and three decode instances (3–5), each on its own machine.
        InstanceSpec[] instances = [.. Enumerable.Range(0, 6).Select(i =>
            SimKit.VllmInstance(s_perf, budget: 8192, seqs: 64, blockSize: 16, blocks: 10_000, index: i, roles: i < 3 ? InstanceRoles.Prompt : InstanceRoles.Token))];
        var scheduler = new PrefixAwareScheduler(instances.Length, roles: [.. instances.Select(s => s.Roles)], threshold: threshold);
        return SimKit.Run(trace, instances, scheduler, new ClusterKvTransfers(instances));
    }

    [Fact]
    public void Phase_split_routing_picks_the_decode_instance_then_the_prefill_instance_by_their_caches()
    {
        Trace trace = SystemPrompts(out int[] prompt);
        SimKit.Result split = RunPd(trace, threshold: 0);

        // Decode profile over the token instances, prefill profile over the prompt instances; on both sides every
        // later request of a system prompt goes where its 1,024 tokens are cached, so the prefill skips them and the
        // decode instance pulls only the request's own 512.
        Assert.All(split.Requests, r => Assert.True(r.PromptInstance < 3 && r.TokenInstance >= 3, $"request {r.Id}: {r.PromptInstance} -> {r.TokenInstance}"));
        for (int i = 0; i < prompt.Length; i++)
        {
            bool first = Array.IndexOf(prompt, prompt[i]) == i;
            Assert.Equal(first ? 0 : 1024, split.Request(i).CachedTokens);
        }

        long later = prompt.Length - prompt.Distinct().Count();
        Assert.Equal(later * 1024, split.Outcome.Instances.Sum(o => o.KvLocalHitTokens));
        Assert.Equal("prefix:3:2:2", split.Summary.Scheduler);

        // llm-d's P/D threshold: a prompt whose uncached part on the chosen decode instance is below it runs there whole.
        SimKit.Result local = RunPd(trace, threshold: int.MaxValue);
        Assert.All(local.Requests, r => Assert.True(r.PromptInstance == r.TokenInstance && r.TokenInstance >= 3, $"request {r.Id}"));
        Assert.Equal(0, local.Outcome.Instances.Sum(o => o.KvReceives));
        SimKit.Result some = RunPd(trace, threshold: 513); // later requests lack 512 tokens: local; first ones split
        Assert.All(some.Requests, r => Assert.Equal(Array.IndexOf(prompt, prompt[(int)r.Id]) == r.Id, r.PromptInstance != r.TokenInstance));
    }
}
