using CsCheck;
using Splitwise.Designs;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Tests.Simulation;
using Splitwise.Traces;

namespace Splitwise.Tests.Transfer;

public class SplitwiseEngineTests
{
    // Llama2-70B GQA KV: 320 KiB per token. DGX-H100 links: 400 Gbps = 50 bytes per ns.
    private const long KvPerToken = 327_680;

    /// <summary>Prompt 1 ms + 10 us per token; decode 20 ms per iteration.</summary>
    private static readonly AffineModel s_model = new(1_000_000, 10_000, 20_000_000, 0);

    private static InstanceSpec Spec(int index, InstanceRoles roles, long capacity = 1L << 40) =>
        new($"test/{index}", SimKit.Machine, index, 8, SimKit.Llama, s_model, capacity, KvPerToken, roles, BatchLimits.Default);

    private static List<InstanceSpec> Cluster(int prompt, int token, long capacity = 1L << 40)
    {
        var list = new List<InstanceSpec>();
        for (int i = 0; i < prompt; i++)
        {
            list.Add(Spec(list.Count, InstanceRoles.Prompt, capacity));
        }

        for (int i = 0; i < token; i++)
        {
            list.Add(Spec(list.Count, InstanceRoles.Token, capacity));
        }

        return list;
    }

    private sealed record Run(SimKit.Result Result, SplitwiseScheduler? Scheduler)
    {
        public SimulationSummary Summary => Result.Summary;

        public SimulationOutcome Outcome => Result.Outcome;

        public IReadOnlyList<RequestOutcome> Rows => Result.Requests;
    }

    private static Run Simulate(Trace trace, IReadOnlyList<InstanceSpec> specs, SplitwiseOptions? options = null)
    {
        if (specs.Any(s => s.Roles != InstanceRoles.Mixed))
        {
            (IReadOnlyList<InstanceSpec> adjusted, SplitwiseScheduler scheduler, ClusterKvTransfers kv) = SplitwiseDesigns.Build(specs, options);
            return new Run(SimKit.Run(trace, adjusted, scheduler, kv), scheduler);
        }

        return new Run(SimKit.Run(trace, specs), null);
    }

    [Fact]
    public void Small_prompt_ships_its_KV_serialized_after_the_prompt()
    {
        // 100 tokens < 512: TTFT 2 ms; then 32.768 MB over 50 GB/s = 655,360 ns; then two decode iterations of 20 ms.
        Run r = Simulate(SimKit.Trace((0, 100, 3)), Cluster(1, 1));
        var row = Assert.Single(r.Rows);
        Assert.Equal(0, row.PromptInstance);
        Assert.Equal(1, row.TokenInstance);
        Assert.Equal(2_000_000, row.TtftNs);
        Assert.Equal(655_360, row.KvTransferNs);
        Assert.Equal(655_360 + 20_000_000, row.SecondTokenNs);
        Assert.Equal(2_000_000 + 655_360 + 40_000_000, row.E2eNs);
    }

    [Fact]
    public void Large_prompt_streams_layer_wise_and_exposes_one_layer()
    {
        // 1000 tokens: prompt 11 ms; 327.68 MB streamed as produced (29.8 GB/s < 50 GB/s), the last layer's 4.096 MB
        // after the prompt: 81,920 ns exposed.
        Run r = Simulate(SimKit.Trace((0, 1000, 2)), Cluster(1, 1));
        var row = Assert.Single(r.Rows);
        Assert.Equal(11_000_000, row.TtftNs);
        Assert.InRange(row.KvTransferNs, 81_920, 81_922);

        // Forced serialized: the whole 327.68 MB after the prompt, 6.5536 ms.
        Run s = Simulate(SimKit.Trace((0, 1000, 2)), Cluster(1, 1), new SplitwiseOptions(new KvTransferOptions(KvTransferMode.Serialized)));
        Assert.Equal(6_553_600, Assert.Single(s.Rows).KvTransferNs);
    }

    [Fact]
    public void Concurrent_transfers_into_one_token_machine_share_its_link()
    {
        // Two 100-token prompts on two prompt machines at once, both decoding on the one token machine: the two
        // transfers share its ingress and each takes twice as long as alone.
        Run r = Simulate(SimKit.Trace((0, 100, 2), (0, 100, 2)), Cluster(2, 1));
        Assert.Equal(2, r.Rows.Count);
        Assert.NotEqual(r.Rows[0].PromptInstance, r.Rows[1].PromptInstance);
        Assert.All(r.Rows, row => Assert.Equal(2 * 655_360, row.KvTransferNs));
    }

    [Fact]
    public void With_no_token_work_a_Splitwise_design_behaves_like_the_baseline_on_its_prompt_pool()
    {
        // One-token requests never reach the token pool: the prompt pool must do exactly what a baseline of the same
        // size does (same instance choices, same TTFT and E2E for every request).
        var rng = new Random(7);
        var rows = new List<(long, int, int)>();
        long t = 0;
        for (int i = 0; i < 400; i++)
        {
            t += rng.Next(1, 4_000_000);
            rows.Add((t, rng.Next(10, 3000), 1));
        }

        Trace trace = SimKit.Trace([.. rows]);
        var options = new SplitwiseOptions(Scheduler: new SplitwiseSchedulerOptions(PromptMaxPendingTokens: long.MaxValue));
        Run split = Simulate(trace, Cluster(1, 2), options);
        Run baseline = Simulate(trace, [Spec(0, InstanceRoles.Mixed)]);
        Assert.Equal(400, split.Summary.Finished);
        Assert.Equal(0, split.Scheduler!.Borrows);
        Assert.Equal(
            baseline.Rows.Select(r => (r.Id, r.PromptInstance, r.TtftNs, r.E2eNs, r.QueueNs)),
            split.Rows.Select(r => (r.Id, r.PromptInstance, r.TtftNs, r.E2eNs, r.QueueNs)));
        Assert.All(split.Outcome.Instances.Skip(1), o => Assert.Equal(0, o.Iterations));

        // Several prompt machines: SplitwiseSim's prompt JSQ counts prompt tokens only (the baseline's token-JSQ adds
        // one per request), so choices may differ on near-ties, but the latency distribution is the same.
        Run split3 = Simulate(trace, Cluster(3, 2), options);
        Run baseline3 = Simulate(trace, [Spec(0, InstanceRoles.Mixed), Spec(1, InstanceRoles.Mixed), Spec(2, InstanceRoles.Mixed)]);
        Assert.Equal(baseline3.Summary.Metrics["ttft_times"].Mean, split3.Summary.Metrics["ttft_times"].Mean, 0.05 * baseline3.Summary.Metrics["ttft_times"].Mean);
        Assert.All(split3.Outcome.Instances.Skip(3), o => Assert.Equal(0, o.Iterations));
    }

    [Fact]
    public void Overloaded_prompt_pool_borrows_a_token_machine_and_gets_it_back()
    {
        // Scheduler level: two prompt and two token machines; 5000-token prompts overload a prompt machine that
        // already has one queued (5000 + 5000 > 8192).
        var specs = Cluster(2, 2);
        var scheduler = new SplitwiseScheduler(specs);
        scheduler.Assign(5000, 10, out int p0, out int t0);
        scheduler.Assign(5000, 10, out int p1, out int t1);
        Assert.Equal([0, 1], new[] { p0, p1 });
        Assert.Equal(0, scheduler.MixedCount);
        scheduler.Assign(5000, 10, out int p2, out int t2);
        Assert.True(p2 >= 2, "the third prompt goes to a borrowed token machine");
        Assert.True(scheduler.IsMixed(p2));
        Assert.Equal(1, scheduler.Borrows);

        // Its queue drains: prompt done, then every request assigned to it done.
        scheduler.OnPromptDone(p2, 5000);
        foreach ((int p, int t) in new[] { (p0, t0), (p1, t1), (p2, t2) })
        {
            if (p != p2)
            {
                scheduler.OnPromptDone(p, 5000);
            }

            scheduler.OnRequestDone(p, t, 5000, 10);
        }

        Assert.False(scheduler.IsMixed(p2));
        Assert.Equal(1, scheduler.Returns);
        Assert.Equal(0, scheduler.MixedCount);
    }

    [Fact]
    public void Token_memory_overflow_borrows_a_prompt_machine()
    {
        // Token machines hold 1000 tokens of KV: a 900-token request fills one, the next cannot fit on the other
        // after a second 900-token request, so a prompt machine joins the mixed pool for tokens.
        var specs = Cluster(2, 2, capacity: 1000 * KvPerToken);
        var scheduler = new SplitwiseScheduler(specs);
        scheduler.Assign(800, 100, out _, out int t0);
        scheduler.Assign(800, 100, out _, out int t1);
        Assert.NotEqual(t0, t1);
        scheduler.Assign(800, 100, out _, out int t2);
        Assert.True(t2 < 2, "a prompt machine takes the token phase");
        Assert.True(scheduler.IsMixed(t2));
    }

    [Fact]
    public void Burst_on_a_small_prompt_pool_borrows_and_returns_every_machine_and_finishes_everything()
    {
        var rows = new List<(long, int, int)>();
        for (int i = 0; i < 60; i++)
        {
            rows.Add((i * 100_000L, 4000, 5)); // 60 big prompts in 6 ms on one prompt machine
        }

        Run r = Simulate(SimKit.Trace([.. rows]), Cluster(1, 3));
        Assert.Equal(60, r.Summary.Finished);
        Assert.True(r.Scheduler!.Borrows > 0);
        Assert.Equal(r.Scheduler.Borrows, r.Scheduler.Returns);
        Assert.Equal(0, r.Scheduler.MixedCount);
        // Borrowed token machines ran prompts.
        Assert.Contains(r.Outcome.Instances.Skip(1), o => o.PromptTokens > 0);
    }

    [Fact]
    public void Random_Splitwise_runs_finish_every_request_once_within_memory_and_deterministically()
    {
        Gen.Select(Gen.Int[1, 3], Gen.Int[1, 3], Gen.Select(Gen.Int[1, 3_000_000], Gen.Int[1, 3000], Gen.Int[1, 300]).Array[1, 80])
            .Sample((p, t, reqs) =>
            {
                long at = 0;
                var rows = new List<(long, int, int)>();
                foreach ((int gap, int input, int output) in reqs)
                {
                    at += gap;
                    rows.Add((at, input, output));
                }

                Trace trace = SimKit.Trace([.. rows]);
                long capacity = 8000 * KvPerToken; // tight: memory pressure, waiting transfers
                Run a = Simulate(trace, Cluster(p, t, capacity));
                Run b = Simulate(trace, Cluster(p, t, capacity));
                Assert.Equal(reqs.Length, a.Summary.Finished + a.Summary.Rejected);
                Assert.Equal(reqs.Length, a.Rows.Select(r => r.Id).Distinct().Count());
                Assert.All(a.Outcome.Instances, o => Assert.True(o.KvPeakBytes <= capacity, "KV over capacity"));
                Assert.Equal(0, a.Outcome.TimeViolations);
                Assert.Equal(a.Rows, b.Rows);
                Assert.Equal(a.Scheduler!.Borrows, a.Scheduler.Returns);
            }, seed: "0N0XIzNsQ0O2", iter: 150);
    }
}
