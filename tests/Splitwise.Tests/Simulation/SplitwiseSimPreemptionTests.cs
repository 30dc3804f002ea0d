using CsCheck;
using Splitwise.Designs;
using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// <c>--splitwise-sim</c> counts SplitwiseSim's preemptions incrementally (a selection clock per instance instead of one
/// more for every waiting request at every selection): on random clusters, colocated and phase-split, cut at random
/// horizons, the engine recounts them SplitwiseSim's way and checks every count in the pool after every selection (a
/// difference throws), and the test checks every unfinished request's recorded count at the end.
/// </summary>
public class SplitwiseSimPreemptionTests
{
    private sealed record Case((long Gap, int Input, int Output)[] Requests, int Prompt, int Token, bool Split, int MaxRequests, int MaxTokens, int MaxPreemptions, long KvTokens, long Horizon);

    private static readonly Gen<Case> s_cases =
        Gen.Select(
            Gen.Select(Gen.Long[0, 20_000_000], Gen.Int[1, 2500], Gen.Int[1, 200]).Array[1, 120],
            Gen.Int[1, 3], Gen.Int[1, 3], Gen.Bool,
            Gen.Select(Gen.Int[1, 16], Gen.Int[64, 4096], Gen.Int[0, 5]),
            Gen.OneOf(Gen.Long[3_000, 30_000], Gen.Const(10_000_000L)),
            Gen.OneOf(Gen.Long[1, 2_000_000_000], Gen.Const(600_000_000_000L)), // always a horizon: a full token machine retries flows forever
            (requests, prompt, token, split, limits, kv, horizon) =>
                new Case(requests, prompt, token, split, limits.Item1, limits.Item2, limits.Item3, kv, horizon));

    [Fact]
    public void Incremental_preemption_counts_equal_splitwisesims_on_random_clusters()
    {
        const int Cases = 400;
        var perf = new AffineModel(2_000_000, 5_000, 1_000_000, 20_000, 300_000);
        long checkedRuns = 0, preempted = 0, unfinished = 0;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(11, (ulong)i), null, out _);
            var limits = new BatchLimits(c.MaxRequests, c.MaxTokens, c.MaxPreemptions, ReserveFullRequest: false, SplitwiseSimRules: true);
            int n = c.Split ? c.Prompt + c.Token : c.Prompt;
            var specs = Enumerable.Range(0, n).Select(k => SimKit.Instance(perf, limits, c.KvTokens, 1, k) with
            {
                Roles = !c.Split ? InstanceRoles.Mixed : k < c.Prompt ? InstanceRoles.Prompt : InstanceRoles.Token,
            }).ToArray();
            IReadOnlyList<InstanceSpec> instances = specs;
            ClusterScheduler scheduler;
            if (c.Split)
            {
                (instances, SplitwiseScheduler split, _) = SplitwiseDesigns.Build(specs);
                scheduler = split;
            }
            else
            {
                scheduler = ClusterScheduler.Create("token-jsq", n);
            }

            long t = 0;
            Splitwise.Traces.Trace trace = SimKit.Trace([.. c.Requests.Select(r => (t += r.Gap, r.Input, r.Output))]);
            using var recorder = new SimulationRecorder();
            var sim = new Simulator(instances, scheduler, recorder, new SimulatorOptions(c.Horizon)) { CheckPreemptionCounts = true };
            SimulationOutcome outcome;
            try
            {
                outcome = sim.Run(ArrivalSource.FromTrace(trace), cancellationToken: TestContext.Current.CancellationToken);
            }
            catch (InvalidOperationException e)
            {
                throw new Xunit.Sdk.XunitException($"case {i}: {c}: {e.Message}");
            }

            // The requests the horizon cut: their recorded counts (settled at the end of the run) are SplitwiseSim's.
            RequestTable r = sim.Requests;
            for (int slot = 0; slot < r.Capacity; slot++)
            {
                if (r.Phase[slot] != RequestPhase.Free)
                {
                    unfinished++;
                    Assert.True(r.Preemptions[slot] == sim.RecountedPreemptions(slot, tokenTask: true), $"case {i}: request {r.Id[slot]}");
                    Assert.True(r.PromptPreemptions[slot] == sim.RecountedPreemptions(slot, tokenTask: false), $"case {i}: request {r.Id[slot]}");
                }
            }

            checkedRuns++;
            preempted += outcome.Instances.Sum(o => o.Evictions);
        }

        // The cases do exercise preemption (decodes left out of a batch), not only queued prompts.
        Assert.Equal(Cases, checkedRuns);
        Assert.True(preempted > 100, $"only {preempted} decodes were preempted over {Cases} cases");
        Assert.True(unfinished > 100, $"only {unfinished} requests were cut by a horizon over {Cases} cases");
    }
}
