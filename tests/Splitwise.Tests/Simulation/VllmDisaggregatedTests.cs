using CsCheck;
using Splitwise.Designs;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Traces;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// Phase-split (P/D) clusters of vLLM engines, as vLLM runs them with a KV connector: hand-worked timelines of the
/// prefill, the pull of the KV over the link, the decode instance's recompute of the last prompt token (the first token
/// the client sees), prefix caches on both sides, a decode instance too full to receive, the abort timeout that frees
/// a prompt nobody read; and invariants over thousands of random P/D clusters.
/// </summary>
public class VllmDisaggregatedTests
{
    // 1 kB of KV per token over DGX-H100's 400 Gb/s link: 50 bytes per ns, so a token moves in 20 ns.
    private const long KvPerToken = 1000;

    private static readonly AffineModel s_perf = new(1000, 10, 500, 10);

    /// <summary>An instance of the vLLM personality on its own machine, with <paramref name="roles"/>.</summary>
    private static InstanceSpec Instance(int index, InstanceRoles roles, int blocks, int blockSize = 4, int budget = 64, int seqs = 8, IPerformanceModel? perf = null) =>
        SimKit.VllmInstance(perf ?? s_perf, budget, seqs, blockSize, blocks, index: index, kvPerToken: KvPerToken, roles: roles);

    /// <summary>Prompt instances in turn for prompts, token instances in turn for tokens: no borrowing.</summary>
    private sealed class PdRoundRobin(IReadOnlyList<InstanceSpec> instances) : ClusterScheduler
    {
        private readonly int[] _prefill = [.. Enumerable.Range(0, instances.Count).Where(i => instances[i].Roles == InstanceRoles.Prompt)];
        private readonly int[] _decode = [.. Enumerable.Range(0, instances.Count).Where(i => instances[i].Roles == InstanceRoles.Token)];
        private int _p, _t;

        public override string Name => "pd-round-robin";

        public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
        {
            promptInstance = _prefill[_p++ % _prefill.Length];
            tokenInstance = _decode[_t++ % _decode.Length];
        }
    }

    private static SimKit.Result Run(Trace trace, params InstanceSpec[] instances) =>
        SimKit.Run(trace, instances, new PdRoundRobin(instances), new ClusterKvTransfers(instances));

    [Fact]
    public void The_decode_instance_makes_the_first_token_after_the_kv_arrives()
    {
        // A: 8 prompt tokens, 3 output. Prefill 0 -> 1080 (1000 + 8 × 10) on instance 0; the decode instance allocates
        // 2 blocks and pulls 8 tokens (8 kB, 160 ns) -> 1240; it computes the last prompt token, priced as the one
        // decode it is (510 ns) -> 1750: the first token; then 2 decode steps of 510 -> 2770.
        var result = Run(SimKit.Trace((0, 8, 3)), Instance(0, InstanceRoles.Prompt, 101), Instance(1, InstanceRoles.Token, 101));

        RequestOutcome a = result.Request(0);
        Assert.Equal(1750, a.TtftNs);
        Assert.Equal(2770, a.E2eNs);
        Assert.Equal(160, a.KvTransferNs);
        Assert.Equal(0, a.QueueNs);
        Assert.Equal((0, 1), (a.PromptInstance, a.TokenInstance));
        InstanceOutcome prefill = result.Outcome.Instances[0], decode = result.Outcome.Instances[1];
        Assert.Equal((8, 0), (prefill.PromptTokens, prefill.DecodeTokens));
        Assert.Equal((1, 8, 0), (decode.KvReceives, decode.KvReceivedTokens, decode.KvLocalHitTokens));
        Assert.Equal(2, decode.DecodeTokens); // the first token is the recompute's, the prefill's is discarded
        Assert.Equal(1, decode.Completed);
        Assert.True(result.Summary.Vllm is { PhaseSplit: true, KvReceives: 1, KvReceivedTokens: 8 });

        // Busy time (and so energy) by phase: the prefill is prompt time (1080); on the decode instance, the last
        // prompt token's step is a decode like the two after it: token time 510 + 2 × 510, no prompt time.
        Assert.Equal((1080, 0), (prefill.PromptBusyNs, prefill.TokenBusyNs));
        Assert.Equal((0, 3 * 510), (decode.PromptBusyNs, decode.TokenBusyNs));
    }

    [Fact]
    public void Both_sides_reuse_their_prefix_caches_and_only_the_uncached_tokens_move()
    {
        // A and B share a 512-token chain block, so their first 4-token block is the same content (the last token of an
        // 8-token prompt is always computed, so one block can hit). A as above (done at 2770). B at 10,000: the prefill
        // instance has its first block: 4 tokens to prefill, 1040 ns -> 11,040; the decode instance has it too (cached
        // when A's KV arrived), so 4 tokens move (80 ns) -> 11,120; the last token, 510 -> 11,630; 2 decodes -> 12,650.
        var trace = SimKit.ChainTrace((0, 8, 3, [7]), (10_000, 8, 3, [7]));
        var result = Run(trace, Instance(0, InstanceRoles.Prompt, 101), Instance(1, InstanceRoles.Token, 101));

        RequestOutcome b = result.Request(1);
        Assert.Equal(4, b.CachedTokens);
        Assert.Equal(80, b.KvTransferNs);
        Assert.Equal(1630, b.TtftNs);
        Assert.Equal(2650, b.E2eNs);
        InstanceOutcome decode = result.Outcome.Instances[1];
        Assert.Equal((2, 12, 4), (decode.KvReceives, decode.KvReceivedTokens, decode.KvLocalHitTokens));
        Assert.Equal(4, result.Outcome.Instances[0].PrefixHitTokens);
    }

    [Fact]
    public void A_decode_instance_without_room_keeps_the_prompt_at_its_head_while_the_prefill_instance_holds_the_blocks()
    {
        // The decode instance has 3 blocks of 4 tokens; A and B (8 prompt tokens, 3 output) arrive together. A prefills
        // 0 -> 1080, B 1080 -> 2160. A is received (2 blocks, 160 ns -> 1240), its last token -> 1750, then a run of 2
        // decodes, which B's arrival at 2160 cuts at 2260 (A now holds all 3 blocks; B needs 2: it waits at the head);
        // A's last decode -> 2770, A done. B is received: 160 ns -> 2930 (the prefill instance held B's blocks until
        // then, A's and B's at once from 1080 to 1240). B's last token -> 3440, 2 decodes -> 4460.
        var result = Run(SimKit.Trace((0, 8, 3), (0, 8, 3)), Instance(0, InstanceRoles.Prompt, 101), Instance(1, InstanceRoles.Token, 4));

        RequestOutcome a = result.Request(0), b = result.Request(1);
        Assert.Equal((1750, 2770), (a.TtftNs, a.E2eNs));
        Assert.Equal((3440, 4460), (b.TtftNs, b.E2eNs));
        Assert.Equal(2930 - 2160, b.KvTransferNs); // from the prompt's end: the wait for room, then the pull
        Assert.Equal(0, b.Preemptions);
        Assert.Equal(4 * 4 * KvPerToken, result.Outcome.Instances[0].KvPeakBytes); // both prompts' blocks held at once
        Assert.Equal(3 * 4 * KvPerToken, result.Outcome.Instances[1].KvPeakBytes);
    }

    [Fact]
    public void A_prompt_nobody_reads_within_the_abort_timeout_is_freed_and_computed_on_the_decode_instance()
    {
        // Decode steps of 100 s. X (4 prompt tokens, 8 output) prefills 0 -> 1040, moves 80 ns -> 1120; its last
        // token ends at 100 s + 1120, then 7 decodes as one run to 800 s + 1120, using all 3 blocks. Y (8 tokens, 2
        // output) arrives at 2000, prefills -> 3080 and waits: 2 blocks never free before X ends. vLLM's NixlConnector
        // frees Y's blocks 480 s after its prompt ended (checked each simulated second: at 481 s); when X is done the
        // decode instance computes Y's prompt itself (1080 ns) and decodes once (100 s).
        var slow = new AffineModel(1000, 10, 100_000_000_000, 0);
        var result = Run(SimKit.Trace((0, 4, 8), (2000, 8, 2)), Instance(0, InstanceRoles.Prompt, 101, perf: slow), Instance(1, InstanceRoles.Token, 4, perf: slow));

        RequestOutcome x = result.Request(0), y = result.Request(1);
        Assert.Equal((100_000_001_120, 800_000_001_120), (x.TtftNs, x.E2eNs));
        Assert.Equal(800_000_001_120 + 1080 - 2000, y.TtftNs);
        Assert.Equal(y.TtftNs + 100_000_000_000, y.E2eNs);
        Assert.Equal(-1, y.KvTransferNs); // nothing was moved
        Assert.Equal(1, result.Outcome.Instances[0].KvSendTimeouts);
        Assert.Equal(1, result.Outcome.Instances[1].KvReceives);
        Assert.Equal(900_000_001_120 + 1080, result.Outcome.EndNs); // the timer never outlives the run
    }

    private sealed record Case((long Gap, int Input, int Output, int Chain)[] Requests, int Prefill, int Decode, bool Borrowing, int BlockSize, int Blocks, int Budget, int Seqs);

    private static readonly Gen<Case> s_cases =
        Gen.Select(
            Gen.Select(Gen.Long[0, 30_000], Gen.Int[1, 600], Gen.Int[1, 60], Gen.Int[0, 2]).Array[1, 30],
            Gen.Select(Gen.Int[1, 3], Gen.Int[1, 3], Gen.Bool),
            Gen.OneOfConst(1, 4, 16),
            Gen.Int[2, 200],
            Gen.Select(Gen.Int[1, 1024], Gen.Int[1, 16]),
            (requests, shape, blockSize, blocks, limits) => new Case(requests, shape.Item1, shape.Item2, shape.Item3, blockSize, blocks, limits.Item1, limits.Item2));

    [Fact]
    public void Invariants_hold_on_thousands_of_random_pd_clusters()
    {
        const int Cases = 1500;
        int moved = 0, timeouts = 0;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(23, (ulong)i), null, out _);
            long t = 0;
            var rows = c.Requests.Select((r, k) => (t += r.Gap, r.Input, r.Output,
                r.Chain == 0 ? Array.Empty<long>() : [.. Enumerable.Range(0, (r.Input + 511) / 512).Select(b => b == 0 ? r.Chain : 100L + (k * 10) + b)])).ToArray();
            // Splitwise's scheduler borrows machines across the pools (so an instance can be prefill and decode side at
            // once); the round-robin one never does.
            int blocks = c.Borrowing ? c.Blocks * 8 : c.Blocks;
            InstanceSpec[] instances = [.. Enumerable.Range(0, c.Prefill + c.Decode).Select(k =>
                Instance(k, k < c.Prefill ? InstanceRoles.Prompt : InstanceRoles.Token, blocks, c.BlockSize, c.Budget, c.Seqs))];
            SimKit.Result result = RunCase(c, rows, instances);

            string context = $"case {i}: {c} blocks {blocks}";
            long capacity = (long)(blocks - 1) * c.BlockSize;
            Assert.True(result.Requests.Count == rows.Length, context);
            foreach (RequestOutcome r in result.Requests)
            {
                // Rejected exactly when it can never fit; every other request finishes (the abort timeout breaks any
                // wait for blocks that prompts held elsewhere would never free).
                bool fits = r.InputTokens + r.OutputTokens <= capacity;
                Assert.True(r.Finished == fits, $"{context}: request {r.Id} finished {r.Finished}, fits {fits}");
                if (!r.Finished)
                {
                    continue;
                }

                Assert.True(r.QueueNs >= 0 && r.QueueNs < r.TtftNs && r.TtftNs <= r.E2eNs, context);
                Assert.True(r.CachedTokens >= 0 && r.CachedTokens < r.InputTokens, context);
                if (r.PromptInstance != r.TokenInstance && r.KvTransferNs >= 0)
                {
                    moved++;
                    Assert.True(r.QueueNs + r.KvTransferNs < r.TtftNs, $"{context}: request {r.Id}: the first token comes after the KV");
                }
            }

            long decodeTokens = result.Outcome.Instances.Sum(o => o.DecodeTokens) + result.Requests.Count(r => r.Finished);
            Assert.True(decodeTokens == result.Requests.Where(r => r.Finished).Sum(r => (long)r.OutputTokens), $"{context}: tokens not conserved");
            Assert.True(result.Outcome.TimeViolations == 0, context);
            foreach (InstanceOutcome o in result.Outcome.Instances)
            {
                Assert.True(o.KvPeakBytes <= capacity * KvPerToken, context);
                Assert.True(o.PrefixHitTokens <= o.PrefixQueryTokens, context);
                Assert.True(o.KvLocalHitTokens % c.BlockSize == 0, context);
                timeouts += (int)o.KvSendTimeouts;
            }

            Assert.True(result.Outcome.Instances.Sum(o => o.KvReceives) + result.Outcome.Instances.Sum(o => o.KvSendTimeouts) ==
                result.Requests.Count(r => r.Finished && r.PromptInstance != r.TokenInstance), $"{context}: every P/D request received or timed out once");
            if (i % 25 == 0)
            {
                Assert.Equal(result.Requests, RunCase(c, rows, instances).Requests);
            }
        }

        Assert.True(moved > Cases, $"only {moved} KV caches moved: the P/D path is not exercised ({timeouts} timed out)");
    }

    private static SimKit.Result RunCase(Case c, (long, int, int, long[])[] rows, InstanceSpec[] instances)
    {
        if (!c.Borrowing)
        {
            return Run(SimKit.ChainTrace(rows), instances);
        }

        (IReadOnlyList<InstanceSpec> specs, SplitwiseScheduler scheduler, ClusterKvTransfers transfers) = SplitwiseDesigns.Build(instances);
        return SimKit.Run(SimKit.ChainTrace(rows), specs, scheduler, transfers);
    }
}
