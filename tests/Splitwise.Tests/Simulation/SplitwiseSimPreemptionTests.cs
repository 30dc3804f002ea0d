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

    [Fact]
    public void Shortcut_selections_give_what_the_general_selection_gives_on_random_clusters()
    {
        // The engine skips the general batch selection for an instance holding nothing and for a request arriving
        // alone at an idle instance; the recount mode (CheckPreemptionCounts) always runs the general one. Both must
        // give every request's row and every instance's counters identically.
        const int Cases = 300;
        var perf = new AffineModel(2_000_000, 5_000, 1_000_000, 20_000, 300_000);
        long rows = 0;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(23, (ulong)i), null, out _);
            var limits = new BatchLimits(c.MaxRequests, c.MaxTokens, c.MaxPreemptions, ReserveFullRequest: false, SplitwiseSimRules: true);
            int n = c.Split ? c.Prompt + c.Token : c.Prompt;
            long t = 0;
            Splitwise.Traces.Trace trace = SimKit.Trace([.. c.Requests.Select(r => (t += r.Gap, r.Input, r.Output))]);
            (List<RequestOutcome> Rows, SimulationOutcome Outcome) Run(bool general)
            {
                var specs = Enumerable.Range(0, n).Select(k => SimKit.Instance(perf, limits, c.KvTokens, 1, k) with
                {
                    Roles = !c.Split ? InstanceRoles.Mixed : k < c.Prompt ? InstanceRoles.Prompt : InstanceRoles.Token,
                }).ToArray();
                IReadOnlyList<InstanceSpec> instances = specs;
                ClusterScheduler scheduler = ClusterScheduler.Create("token-jsq", n);
                if (c.Split)
                {
                    (instances, SplitwiseScheduler split, _) = SplitwiseDesigns.Build(specs);
                    scheduler = split;
                }

                var requests = new List<RequestOutcome>();
                using var recorder = new SimulationRecorder { RequestObserver = requests.Add };
                var sim = new Simulator(instances, scheduler, recorder, new SimulatorOptions(c.Horizon)) { CheckPreemptionCounts = general };
                return (requests, sim.Run(ArrivalSource.FromTrace(trace), cancellationToken: TestContext.Current.CancellationToken));
            }

            (List<RequestOutcome> fastRows, SimulationOutcome fast) = Run(general: false);
            (List<RequestOutcome> generalRows, SimulationOutcome general) = Run(general: true);
            Assert.True(generalRows.SequenceEqual(fastRows), $"case {i}: {c}");
            Assert.True(general.Instances.SequenceEqual(fast.Instances), $"case {i}: {c}");
            Assert.Equal(general.Events, fast.Events);
            rows += fastRows.Count;
        }

        Assert.True(rows > 10_000, $"only {rows} requests over {Cases} cases");
    }

    [Fact]
    public void Pending_queue_equals_a_plain_list_with_bisect_right_under_random_operations()
    {
        // SimPendingQueue moves its start for tasks leaving from the head and inserts a new request's two tasks in one
        // call; a plain list doing each insert as CPython's bisect.insort (on the entries' current counts, so the list
        // is not sorted) and each removal as list.remove must hold the same tasks in the same order.
        const int Slots = 24;
        var gen = new Random(5); // seeded: the same operations every run
        for (int round = 0; round < 200; round++)
        {
            var r = new RequestTable();
            for (int k = 0; k < Slots; k++)
            {
                r.Allocate();
            }

            var queue = new SimPendingQueue();
            var model = new List<int>();
            int selections = 0;
            var phases = new[] { RequestPhase.QueuedPrompt, RequestPhase.Prompting, RequestPhase.WaitingToken, RequestPhase.Decoding, RequestPhase.Blocked };
            void Scramble(int slot)
            {
                r.Arrival[slot] = gen.Next(8) * 1000L; // ties on purpose
                r.Phase[slot] = phases[gen.Next(phases.Length)];
                r.PromptPreemptions[slot] = gen.Next(3);
                r.Preemptions[slot] = gen.Next(3);
                r.PendingSince[slot] = selections - gen.Next(3);
            }

            for (int k = 0; k < Slots; k++)
            {
                Scramble(k);
            }

            void ModelInsert(int task)
            {
                int pre = Simulator.SimPreemptions(r, task, selections);
                long arrival = r.Arrival[task >> 1];
                int lo = 0, hi = model.Count;
                while (lo < hi)
                {
                    int mid = (lo + hi) / 2;
                    int other = model[mid];
                    int otherPre = Simulator.SimPreemptions(r, other, selections);
                    if (pre < otherPre || (pre == otherPre && arrival < r.Arrival[other >> 1]))
                    {
                        hi = mid;
                    }
                    else
                    {
                        lo = mid + 1;
                    }
                }

                model.Insert(lo, task);
            }

            for (int op = 0; op < 300; op++)
            {
                int slot = gen.Next(Slots);
                switch (gen.Next(6))
                {
                    case 0:
                    case 1:
                        {
                            int task = (slot << 1) | gen.Next(2);
                            queue.Insert(task, r, selections);
                            ModelInsert(task);
                            break;
                        }

                    case 2:
                        queue.InsertPair(slot << 1, (slot << 1) | 1, r, selections);
                        ModelInsert(slot << 1);
                        ModelInsert((slot << 1) | 1);
                        break;
                    case 3:
                        {
                            int count = gen.Next(4);
                            queue.RemoveTaken(r, count);
                            for (int i = 0; i < model.Count && count > 0;)
                            {
                                int task = model[i];
                                RequestPhase phase = r.Phase[task >> 1];
                                if ((task & 1) == 0 ? phase == RequestPhase.Prompting : phase == RequestPhase.Decoding)
                                {
                                    model.RemoveAt(i);
                                    count--;
                                }
                                else
                                {
                                    i++;
                                }
                            }

                            break;
                        }

                    case 4:
                        {
                            int task = (slot << 1) | gen.Next(2);
                            queue.Remove(task);
                            model.Remove(task);
                            break;
                        }

                    default:
                        Scramble(slot); // counts and phases drift while tasks wait
                        selections += gen.Next(2);
                        break;
                }

                Assert.True(queue.AsSpan().SequenceEqual(model.ToArray()), $"round {round}, op {op}");
            }
        }
    }
}
