using CsCheck;
using Splitwise.Simulation;
using Splitwise.Simulation.Paging;
using Splitwise.Tests.Simulation.Reference;
using Splitwise.Traces;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// The vLLM V1 personality: hand-worked steps of its scheduler (the token budget shared by decodes and prefill chunks,
/// recompute preemption of the last admitted request, prefix-cache hits on hash chains), the block pool's LRU order,
/// a closed form for the hit rate of a shared system prompt, and invariants over thousands of random clusters.
/// </summary>
public class VllmEngineTests
{
    // Prompt steps: 1000 + 10 ns per prompt token (+ 10 ns per decode in a mixed step); decode steps: 500 + 10 ns per decode.
    private static readonly AffineModel s_perf = new(1000, 10, 500, 10);

    private static (Dictionary<long, RequestOutcome> Requests, SimulationOutcome Outcome, Simulator Engine) Run(Trace trace, params InstanceSpec[] instances)
    {
        using var recorder = new SimulationRecorder(null);
        var requests = new Dictionary<long, RequestOutcome>();
        recorder.RequestObserver = r => requests.Add(r.Id, r);
        var engine = new Simulator(instances, ClusterScheduler.Create("token-jsq", instances.Length), recorder);
        SimulationOutcome outcome = engine.Run(ArrivalSource.FromTrace(trace), cancellationToken: TestContext.Current.CancellationToken);
        return (requests, outcome, engine);
    }

    [Fact]
    public void Step_budget_is_shared_by_running_requests_first_then_waiting_ones_in_chunks()
    {
        // Budget 8. A (10 tokens) arrives to an idle instance: step 1 prefills 8 of its tokens, 0 -> 1080.
        // Step 2: A's last 2 tokens, then B's 6 (the budget's rest): 8 prompt tokens, 1080 -> 2160; both give a first token.
        // Step 3: two decodes, 520 ns (B's last token); step 4: A alone, 510 ns (A's last).
        var instance = SimKit.VllmInstance(s_perf, budget: 8, seqs: 4, blockSize: 4, blocks: 101);
        var (requests, outcome, _) = Run(SimKit.Trace((0, 10, 3), (0, 6, 2)), instance);

        Assert.Equal(2160, requests[0].TtftNs);
        Assert.Equal(2160 + 520 + 510, requests[0].E2eNs);
        Assert.Equal(2160, requests[1].TtftNs);
        Assert.Equal(2160 + 520, requests[1].E2eNs);
        Assert.Equal(1080, requests[1].QueueNs); // B first ran in step 2
        Assert.Equal(4, outcome.Instances[0].Iterations);
        Assert.Equal(0, outcome.Instances[0].Evictions);
    }

    [Fact]
    public void A_request_that_cannot_get_a_block_preempts_the_last_admitted_by_recompute()
    {
        // 7 usable blocks of 4 tokens; A and B: 8-token prompts, 10 output tokens. Worked by hand:
        //  step 1  0    -> 1080  A prefill (blocks 2)                                      A token 1
        //  step 2  1080 -> 2170  A decode + B prefill (mixed: 1080 + 10)                  A 2, B 1; 1 block free
        //  step 3  2170 -> 4250  4 decode steps of 520 (the 5th would need 2 blocks)      A 6, B 5; 0 free
        //  step 4  4250 -> 4760  B needs a block: B (last admitted) is preempted; A alone  A 7
        //  step 5  4760 -> 6290  A's last 3 tokens (B needs 4 blocks, 3 are free)          A done
        //  step 6  6290 -> 7340  B recomputes: 2 of its blocks still cached, 5 tokens left  B 6 (gap 3090)
        //  step 7  7340 -> 9380  B's last 4 tokens
        var instance = SimKit.VllmInstance(s_perf, budget: 64, seqs: 8, blockSize: 4, blocks: 8);
        var (requests, outcome, engine) = Run(SimKit.Trace((0, 8, 10), (0, 8, 10)), instance);

        Assert.Equal(1080, requests[0].TtftNs);
        Assert.Equal(6290, requests[0].E2eNs);
        Assert.Equal(0, requests[0].Preemptions);
        Assert.Equal(2170, requests[1].TtftNs);
        Assert.Equal(9380, requests[1].E2eNs);
        Assert.Equal(1, requests[1].Preemptions);
        Assert.Equal(3090, requests[1].TbtMaxNs);
        Assert.Equal(0, requests[1].CachedTokens); // counted at the first admission only, as vLLM's num_cached_tokens
        Assert.Equal(1, outcome.Instances[0].Evictions);
        Assert.Equal(3, outcome.Instances[0].Admissions);
        Assert.Equal(8 + 8 + 13, outcome.Instances[0].PrefixQueryTokens); // admissions: A with 8 tokens, B with 8, B again with 13
        Assert.Equal(8, outcome.Instances[0].PrefixHitTokens);
        Assert.Equal(0, engine.KvUsedBytes(0));
    }

    [Fact]
    public void Prefix_cache_reuses_blocks_of_a_shared_hash_chain_and_nothing_else()
    {
        // Mooncake-style chains, one id per 512 tokens. Request 2 shares the first 512 tokens of request 1; request 3
        // all of them, so it reuses every full block but the one holding its last token (always computed); request 4
        // has no chain; request 5 shares request 1's chain but not its length (same first block only).
        const long Second = 1_000_000_000;
        Trace trace = SimKit.ChainTrace(
            (0, 1024, 2, [7, 8]),
            (Second, 1024, 2, [7, 9]),
            (2 * Second, 1024, 2, [7, 8]),
            (3 * Second, 1024, 2, []),
            (4 * Second, 600, 2, [7, 10]));
        var (requests, outcome, _) = Run(trace, SimKit.VllmInstance(s_perf, budget: 8192, seqs: 64, blockSize: 16, blocks: 10_000));

        Assert.Equal(0, requests[0].CachedTokens);
        Assert.Equal(512, requests[1].CachedTokens);
        Assert.Equal(1008, requests[2].CachedTokens); // (1024 - 1) / 16 = 63 blocks
        Assert.Equal(0, requests[3].CachedTokens);
        Assert.Equal(512, requests[4].CachedTokens);
        Assert.Equal(3, outcome.Instances[0].PrefixHitRequests);

        // A hit shortens the prefill: request 3 computes 16 tokens (1000 + 160 ns) where request 1 computed 1024.
        Assert.Equal(1000 + (10 * 1024), requests[0].TtftNs);
        Assert.Equal(1000 + (10 * 16), requests[2].TtftNs);

        var off = SimKit.VllmInstance(s_perf, budget: 8192, seqs: 64, blockSize: 16, blocks: 10_000, caching: false);
        var (cold, _, _) = Run(trace, off);
        Assert.All(cold.Values, r => Assert.Equal(0, r.CachedTokens));
        Assert.All(cold.Values, r => Assert.Equal(1000 + (10 * r.InputTokens), r.TtftNs));
    }

    [Fact]
    public void Block_pool_evicts_the_least_recently_freed_blocks_first_and_a_hit_takes_a_block_off_the_free_queue()
    {
        // The per-block pool (the oracle PagedKvCache's runs are checked against, in PagedKvRunsTests) block by block.
        var pool = new PerBlockKvCache(blocks: 5, blockSize: 16, prefixCaching: true); // blocks 1..4 usable, 32 per record
        Assert.Equal(4, pool.FreeBlocks);
        int a = pool.Allocate(), b = pool.Allocate(), c = pool.Allocate();
        Assert.Equal([1, 2, 3], [a, b, c]); // the free queue starts in block order; block 0 is the null block
        pool.RegisterShared(a, 100, 0);
        pool.RegisterShared(b, 100, 1);
        pool.RegisterShared(c, 100, 0); // content cached already keeps its first block
        int record = pool.FindRecord(100);
        Assert.Equal(a, pool.RecordBlock(record, 0));
        Assert.Equal(b, pool.RecordBlock(record, 1));
        Assert.Equal(-1, pool.RecordBlock(record, 2));

        // A request frees its blocks last first: the queue is now 4, c, b, a.
        pool.Release(c);
        pool.Release(b);
        pool.Release(a);
        Assert.Equal(4, pool.FreeBlocks);
        Assert.True(pool.IsFree(a));

        // A hit on b takes it out of the queue; new blocks come from the head: 4, then c, then a (evicting offset 0).
        pool.Touch(b);
        Assert.Equal(3, pool.FreeBlocks);
        Assert.Equal(4, pool.Allocate());
        Assert.Equal(c, pool.Allocate());
        Assert.Equal(0, pool.Evictions); // c cached nothing of its own
        Assert.Equal(a, pool.Allocate());
        Assert.Equal(1, pool.Evictions);
        Assert.Equal(-1, pool.RecordBlock(pool.FindRecord(100), 0));
        Assert.Equal(b, pool.RecordBlock(pool.FindRecord(100), 1));
        Assert.Equal(0, pool.FreeBlocks);

        // The record goes when its last block is evicted; a private block is found by its tag only while it holds it.
        pool.Release(b);
        pool.RegisterPrivate(a, 7);
        Assert.True(pool.Holds(a, 7));
        Assert.False(pool.Holds(a, 8));
        Assert.Equal(b, pool.Allocate());
        Assert.Equal(-1, pool.FindRecord(100));
        pool.Release(a);
        Assert.Equal(a, pool.Allocate());
        Assert.False(pool.Holds(a, 7));
        Assert.Equal(3, pool.Evictions);
    }

    [Fact]
    public void Block_index_agrees_with_a_dictionary_over_random_inserts_and_removals()
    {
        // Few distinct keys in a small table: long probe runs, wrap-around, backward shifts on every removal, and the
        // table doubling (from 16 slots) as the keys pass 2/3 of it.
        var ops = Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 40], Gen.Int[0, 1000]).Array[1, 400];
        for (int c = 0; c < 300; c++)
        {
            var index = new BlockIndex(capacity: 4);
            var model = new Dictionary<ulong, int>();
            foreach ((int op, ulong raw, int block) in ops.Generate(new PCG(23, (ulong)c), null, out _))
            {
                ulong key = raw * 0x100000000UL; // equal low bits: every key starts at one of few homes
                if (op == 0)
                {
                    Assert.Equal(model.TryAdd(key, block), index.TryAdd(key, block));
                }
                else if (op == 1 && model.Remove(key))
                {
                    index.Remove(key);
                }

                Assert.Equal(model.TryGetValue(key, out int b) ? b : -1, index.Find(key));
                Assert.Equal(model.Count, index.Count);
            }

            Assert.All(model, p => Assert.Equal(p.Value, index.Find(p.Key)));
        }
    }

    [Fact]
    public void Hit_rate_of_a_shared_system_prompt_has_a_closed_form()
    {
        // N requests one after another, each a system prompt of 512·m tokens shared by all plus a suffix of its own:
        // every request after the first finds the whole system prompt, so hits = (N − 1)·512·m tokens.
        var cases = Gen.Select(Gen.Int[1, 40], Gen.Int[1, 4], Gen.Int[1, 900].Array[40], Gen.Int[1, 50]);
        for (int c = 0; c < 200; c++)
        {
            (int n, int m, int[] suffixes, int output) = cases.Generate(new PCG(19, (ulong)c), null, out _);
            int system = 512 * m;
            var rows = new List<(long, int, int, long[])>();
            for (int i = 0; i < n; i++)
            {
                int input = system + suffixes[i];
                int blocks = (input + 511) / 512;
                long[] chain = [.. Enumerable.Range(0, blocks).Select(k => k < m ? 1L + k : 1_000_000L + (i * 100L) + k)];
                rows.Add((i * 10_000_000_000L, input, output, chain));
            }

            var (requests, outcome, _) = Run(SimKit.ChainTrace([.. rows]), SimKit.VllmInstance(s_perf, budget: 2048, seqs: 16, blockSize: 16, blocks: 100_000));
            Assert.Equal((n - 1) * (long)system, outcome.Instances[0].PrefixHitTokens);
            Assert.Equal(rows.Sum(r => (long)r.Item2), outcome.Instances[0].PrefixQueryTokens);
            Assert.Equal(n - 1, outcome.Instances[0].PrefixHitRequests);
            Assert.All(requests.Values, r => Assert.Equal(r.Id == 0 ? 0 : system, r.CachedTokens));
        }
    }

    private sealed record Case((long Gap, int Input, int Output, int Chain)[] Requests, int Instances, int Budget, int Seqs, int BlockSize, int Blocks, bool Caching, int Threshold);

    private static readonly Gen<Case> s_cases =
        Gen.Select(
            Gen.Select(Gen.Long[0, 30_000_000], Gen.Int[1, 2000], Gen.Int[1, 200], Gen.Int[0, 3]).Array[1, 40],
            Gen.Int[1, 3],
            Gen.Select(Gen.Int[1, 4096], Gen.Int[1, 32], Gen.OneOfConst(1, 4, 16, 32)),
            Gen.Int[2, 400],
            Gen.Bool,
            Gen.OneOf(Gen.Const(0), Gen.Int[1, 600]),
            (requests, instances, limits, blocks, caching, threshold) =>
                new Case(requests, instances, limits.Item1, limits.Item2, limits.Item3, blocks, caching, threshold));

    [Fact]
    public void Engine_invariants_hold_on_thousands_of_random_vllm_clusters()
    {
        const int Cases = 2000;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(17, (ulong)i), null, out _);
            // Requests share one of a few prefixes (chain 1–3) or none (0).
            long t = 0;
            var rows = c.Requests.Select((r, k) => (t += r.Gap, r.Input, r.Output,
                r.Chain == 0 ? Array.Empty<long>() : [.. Enumerable.Range(0, (r.Input + 511) / 512).Select(b => b == 0 ? r.Chain : 100L + (k * 10) + b)])).ToArray();
            var instances = Enumerable.Range(0, c.Instances)
                .Select(k => SimKit.VllmInstance(s_perf, c.Budget, c.Seqs, c.BlockSize, c.Blocks, c.Caching, c.Threshold, k)).ToArray();
            var (requests, outcome, engine) = Run(SimKit.ChainTrace(rows), instances);
            string context = $"case {i}: {c}";

            // Every request reported once; rejected exactly when its whole KV can never fit; the rest finish.
            long capacity = (long)(c.Blocks - 1) * c.BlockSize;
            Assert.True(requests.Count == rows.Length, context);
            foreach ((long id, RequestOutcome r) in requests)
            {
                bool fits = r.InputTokens + r.OutputTokens <= capacity;
                Assert.True(r.Finished == fits, $"{context}: request {id} finished {r.Finished}, fits {fits}");
                if (r.Finished)
                {
                    Assert.True(r.QueueNs >= 0 && r.QueueNs < r.TtftNs && r.TtftNs <= r.E2eNs, context);
                    Assert.True(r.CachedTokens >= 0 && r.CachedTokens < r.InputTokens, context);
                    Assert.True(r.CachedTokens == 0 || (c.Caching && r.CachedTokens % c.BlockSize == 0), context);
                }
            }

            // Tokens conserved across recompute: every finished request produced exactly its output tokens.
            long decodeTokens = outcome.Instances.Sum(o => o.DecodeTokens) + requests.Values.Count(r => r.Finished);
            Assert.True(decodeTokens == requests.Values.Where(r => r.Finished).Sum(r => (long)r.OutputTokens), context);

            // Every block freed once, never over capacity; time never goes back; preemptions only under pressure.
            for (int k = 0; k < c.Instances; k++)
            {
                Assert.True(engine.KvUsedBytes(k) == 0, context);
                Assert.True(outcome.Instances[k].KvPeakBytes <= capacity, context);
                Assert.True(outcome.Instances[k].PrefixHitTokens <= outcome.Instances[k].PrefixQueryTokens, context);
            }

            Assert.True(outcome.TimeViolations == 0, context);
            if (!c.Caching)
            {
                Assert.All(outcome.Instances, o => Assert.Equal(0, o.PrefixHitTokens));
            }

            if (i % 25 == 0)
            {
                var again = Run(SimKit.ChainTrace(rows), instances).Requests;
                Assert.Equal(requests.OrderBy(p => p.Key).Select(p => p.Value), again.OrderBy(p => p.Key).Select(p => p.Value));
            }
        }
    }
}
