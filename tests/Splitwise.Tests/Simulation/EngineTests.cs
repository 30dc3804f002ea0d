using Splitwise.Performance;
using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

public class EngineTests
{
    [Fact]
    public void Idle_cluster_request_matches_the_performance_model_exactly()
    {
        var perf = new AffineModel(promptBase: 5_000_000, perPromptToken: 37_123, decodeBase: 21_000_000, perDecode: 1_000);
        var trace = SimKit.Trace((0, 1000, 50));
        SimKit.Result result = SimKit.Run(trace, [SimKit.Instance(perf)]);

        RequestOutcome row = Assert.Single(result.Requests);
        long prompt = perf.IterationNanoseconds(new BatchShape(1000, 1, 0, 0));
        long decode = perf.IterationNanoseconds(new BatchShape(0, 0, 1, 1001));
        Assert.Equal(prompt, row.TtftNs);
        Assert.Equal(prompt + (49 * decode), row.E2eNs);
        Assert.Equal(0, row.QueueNs);
        Assert.Equal(decode, row.TpotNs);
        Assert.Equal(decode, row.TbtMaxNs);
        Assert.Equal(RequestStatus.Done, row.Status);
    }

    [Fact]
    public void Idle_cluster_request_matches_the_profile_model_exactly()
    {
        ProfileTable table = ProfileTable.Load(TestData.PerfModel);
        var perf = new ProfilePerformanceModel(table.Get("llama2-70b", "h100-80gb", 8));
        var trace = SimKit.Trace((1_000_000_000, 1500, 200));
        SimKit.Result result = SimKit.Run(trace, [SimKit.Instance(perf)]);
        RequestOutcome row = Assert.Single(result.Requests);
        long prompt = (long)Math.Round(perf.Curve.PredictPromptMs(1500) * 1e6);
        long token = (long)Math.Round(perf.Curve.PredictTokenMs(1) * 1e6);
        Assert.Equal(prompt, row.TtftNs);
        Assert.Equal(prompt + (199 * token), row.E2eNs);
        // SplitwiseSim's tbt_times divides by all output tokens; our TPOT by the gaps.
        Assert.Equal((double)(199 * token) / 200 / 1e9, result.Summary.Metrics["tbt_times"].Mean, 12);
        Assert.Equal((double)token / 1e9, result.Summary.Metrics["tpot_times"].Mean, 12);
    }

    [Fact]
    public void Arrival_during_a_decode_run_cuts_it_at_the_next_iteration_boundary()
    {
        // A decodes alone with 10 ms iterations; B arrives 25 ms into A's run: A's third iteration ends at 30 ms,
        // then B's prompt joins A's decode in a mixed iteration.
        var perf = new AffineModel(promptBase: 1_000_000, perPromptToken: 0, decodeBase: 9_000_000, perDecode: 1_000_000, mixedExtra: 500_000);
        const long PromptA = 1_000_000;
        var trace = SimKit.Trace((0, 100, 20), (PromptA + 25_000_000, 50, 2));
        SimKit.Result result = SimKit.Run(trace, [SimKit.Instance(perf)]);
        RequestOutcome a = result.Request(0), b = result.Request(1);

        long cut = PromptA + 30_000_000;                   // three 10 ms decode iterations of A
        long mixed = 1_000_000 + 500_000 + 1_000_000;      // B's prompt + A's decode
        long bFirst = cut + mixed;
        Assert.Equal(cut - (PromptA + 25_000_000), b.QueueNs);
        Assert.Equal(bFirst - (PromptA + 25_000_000), b.TtftNs);
        // After the mixed iteration both decode together (11 ms) until B's single remaining token; A then alone.
        long bDone = bFirst + 11_000_000;
        Assert.Equal(bDone - (PromptA + 25_000_000), b.E2eNs);
        // A: 1 prompt token + 3 + 1 (mixed) + 1 (with B) = 6 tokens by bDone; 14 more alone at 10 ms.
        long aDone = bDone + (14 * 10_000_000);
        Assert.Equal(aDone, a.E2eNs);
        Assert.Equal(11_000_000, a.TbtMaxNs);
    }

    [Fact]
    public void Prompt_over_the_token_limit_runs_alone_and_evicts_decodes()
    {
        var perf = new AffineModel(1_000_000, 1_000, 10_000_000, 0);
        var limits = new BatchLimits(MaxBatchRequests: 512, MaxBatchTokens: 100, MaxPreemptions: 4);
        // A and C decode together; B (500 tokens > 100) cannot cut their run, waits for A to finish, then runs alone
        // and evicts C.
        var trace = SimKit.Trace((0, 10, 3), (0, 10, 50), (5_000_000, 500, 2));
        SimKit.Result result = SimKit.Run(trace, [SimKit.Instance(perf, limits)]);
        Assert.Equal(3, result.Recorder.Finished);
        Assert.Equal(0, result.Request(0).Preemptions);
        Assert.True(result.Request(1).Preemptions >= 1);
        long aDone = result.Request(0).E2eNs;
        Assert.Equal(aDone, result.Request(2).QueueNs + 5_000_000);
        Assert.True(result.Outcome.Instances[0].Evictions >= 1);
    }

    [Fact]
    public void Token_jsq_follows_splitwise_sim_pending_token_accounting()
    {
        // Three instances; arrivals at the same instant see +prompt+1 on each choice.
        var perf = new AffineModel(1_000_000, 0, 1_000_000, 0);
        var instances = Enumerable.Range(0, 3).Select(i => SimKit.Instance(perf, index: i)).ToArray();
        var trace = SimKit.Trace((0, 100, 2), (0, 10, 2), (0, 50, 2), (0, 5, 2), (0, 1, 2));
        SimKit.Result result = SimKit.Run(trace, instances);
        // pending: [0,0,0] → r0→0 [101,0,0] → r1→1 [101,11,0] → r2→2 [101,11,51] → r3→1 [101,17,51] → r4→1
        Assert.Equal([0, 1, 2, 1, 1], Enumerable.Range(0, 5).Select(i => result.Request(i).PromptInstance));
    }

    [Fact]
    public void Round_robin_and_jsq_spread_requests()
    {
        var perf = new AffineModel(1_000_000, 0, 1_000_000, 0);
        var instances = Enumerable.Range(0, 2).Select(i => SimKit.Instance(perf, index: i)).ToArray();
        var trace = SimKit.Trace((0, 100, 2), (0, 10, 2), (0, 50, 2), (0, 5, 2));
        var rr = SimKit.Run(trace, instances, "round-robin").Requests.OrderBy(r => r.Id).Select(r => r.PromptInstance);
        Assert.Equal([0, 1, 0, 1], rr);
        var jsq = SimKit.Run(trace, instances, "jsq").Requests.OrderBy(r => r.Id).Select(r => r.PromptInstance);
        Assert.Equal([0, 1, 0, 1], jsq);
    }

    [Fact]
    public void Overloaded_run_terminates_and_reports_unfinished_requests()
    {
        var perf = new AffineModel(100_000_000, 0, 50_000_000, 0);
        var rows = Enumerable.Range(0, 200).Select(i => ((long)i * 10_000_000, 100, 50)).ToArray();
        SimKit.Result result = SimKit.Run(SimKit.Trace(rows), [SimKit.Instance(perf, new BatchLimits(4, 2048, 4))], horizon: 3_000_000_000);
        Assert.True(result.Summary.Unfinished + result.Summary.NotArrived > 0);
        Assert.Equal(200, result.Summary.Finished + result.Summary.Unfinished + result.Summary.NotArrived + result.Summary.Rejected);
        Assert.False(result.Summary.Complete);
        Assert.Contains("did not finish", result.Summary.ToText(), StringComparison.Ordinal);
        Assert.Contains(result.Requests, r => r.Status == RequestStatus.Unfinished);
    }

    [Fact]
    public void Request_larger_than_kv_capacity_is_rejected_not_hung()
    {
        var perf = new AffineModel(1_000_000, 0, 1_000_000, 0);
        var trace = SimKit.Trace((0, 900, 200), (0, 10, 3));
        SimKit.Result result = SimKit.Run(trace, [SimKit.Instance(perf, kvCapacity: 1000)]);
        Assert.Equal(1, result.Summary.Rejected);
        Assert.Equal(1, result.Summary.Finished);
    }

    [Fact]
    public void Splitwise_sim_reservation_can_stall_and_the_stall_is_reported()
    {
        // Both prompts fit (41 + 41 of 100), then A's decode needs 49 more: SplitwiseSim's rule stalls the instance.
        var perf = new AffineModel(1_000_000, 0, 1_000_000, 0);
        var compat = new BatchLimits(512, 2048, 4, ReserveFullRequest: false);
        var trace = SimKit.Trace((0, 40, 50), (0, 40, 10));
        SimKit.Result stalled = SimKit.Run(trace, [SimKit.Instance(perf, compat, kvCapacity: 100)]);
        Assert.Equal(2, stalled.Summary.Unfinished);
        SimKit.Result full = SimKit.Run(trace, [SimKit.Instance(perf, kvCapacity: 100)]);
        Assert.Equal(2, full.Summary.Finished);
    }

    [Fact]
    public void Single_token_requests_finish_with_their_prompt()
    {
        var perf = new AffineModel(7_000_000, 0, 1_000_000, 0);
        SimKit.Result result = SimKit.Run(SimKit.Trace((0, 10, 1)), [SimKit.Instance(perf)]);
        RequestOutcome row = Assert.Single(result.Requests);
        Assert.Equal(7_000_000, row.TtftNs);
        Assert.Equal(7_000_000, row.E2eNs);
        Assert.Equal(-1, row.TpotNs);
        Assert.Equal(0, result.Summary.Metrics["tpot_times"].Count);
    }
}
