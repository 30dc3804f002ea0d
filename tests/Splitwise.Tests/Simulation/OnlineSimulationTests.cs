using CsCheck;
using Splitwise.Designs;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Traces;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// The engine driven online (serve's emulator) against the same engine run offline (simulate): same arrival times,
/// same timeline — every request's first token, last token and largest gap — and every token delivered at the
/// first step that reaches its time, never before. Baseline clusters with random limits (on the SplitwiseSim-style and
/// the vLLM engine), and Splitwise clusters with KV transfers over the links.
/// </summary>
public class OnlineSimulationTests
{
    private sealed record Case((long Gap, int Input, int Output)[] Requests, bool Split, int Instances, BatchLimits Limits, long KvTokens, ulong StepSeed)
    {
        /// <summary>Clusters whose seed is odd run the vLLM personality (blocks of 16 tokens, the limits as its budget and
        /// running-request cap); Splitwise ones as prefill and decode instances.</summary>
        public bool Vllm => (StepSeed & 1) == 1;

        /// <summary>Tokens of KV an instance holds (the vLLM engine rounds down to whole blocks).</summary>
        public long Capacity => Vllm ? KvTokens / 16 * 16 : KvTokens;

        public string Kind => (Split, Vllm) switch
        {
            (true, true) => "vllm-split",
            (true, false) => "split",
            (false, true) => "vllm",
            _ => "baseline",
        };
    }

    private static readonly Gen<Case> s_cases =
        Gen.Select(
            Gen.Select(Gen.Long[0, 80_000_000], Gen.Int[1, 3000], Gen.Int[1, 200]).Array[1, 30],
            Gen.Bool,
            Gen.Int[1, 3],
            Gen.Select(Gen.Int[1, 32], Gen.Int[16, 4096], Gen.Int[0, 3], (r, t, p) => new BatchLimits(r, t, p, true)),
            Gen.OneOf(Gen.Long[4_000, 20_000], Gen.Const(10_000_000L)),
            Gen.ULong,
            (requests, split, instances, limits, kv, seed) => new Case(requests, split, instances, limits, kv, seed));

    /// <summary>Records every token and completion, and checks each token is delivered on time.</summary>
    private sealed class RecordingSink : ITokenSink
    {
        public readonly Dictionary<long, List<(int Generated, long Time)>> Tokens = [];
        public readonly Dictionary<long, (bool Completed, long Time)> Done = [];
        public long CallTime;
        public long LastAdvance = long.MinValue;
        public string? Violation;

        public void OnToken(int slot, long id, int generated, long timeNs)
        {
            if (timeNs > CallTime || timeNs <= LastAdvance)
            {
                Violation ??= $"request {id} token {generated} at {timeNs} delivered at step {CallTime} (previous advance {LastAdvance})";
            }

            if (!Tokens.TryGetValue(id, out List<(int, long)>? list))
            {
                Tokens[id] = list = [];
            }

            list.Add((generated, timeNs));
        }

        public void OnDone(int slot, long id, bool completed, long timeNs)
        {
            if (!Done.TryAdd(id, (completed, timeNs)))
            {
                Violation ??= $"request {id} done twice";
            }
        }
    }

    private static (IReadOnlyList<InstanceSpec> Instances, ClusterScheduler Scheduler, ClusterKvTransfers? Transfers) Cluster(Case c)
    {
        var perf = new AffineModel(8_000_000, 2_000, 6_000_000, 40_000, 1_000_000);
        if (c.Split)
        {
            // Prompt and token machines with the case's KV memory (so prompts wait for token-side memory), the
            // Splitwise scheduler, and Llama-2-70B's KV cache moving over the DGX-H100 InfiniBand links.
            long perToken = SimKit.Llama.KvBytesPerToken();
            InstanceSpec Machine(int i)
            {
                InstanceRoles roles = i < c.Instances ? InstanceRoles.Prompt : InstanceRoles.Token;
                return c.Vllm
                    ? SimKit.VllmInstance(perf, c.Limits.MaxBatchTokens, c.Limits.MaxBatchRequests, 16, (int)(c.KvTokens / 16) + 1, index: i, kvPerToken: perToken, roles: roles)
                    : SimKit.Instance(perf, c.Limits, c.KvTokens * perToken, perToken, i) with { Roles = roles };
            }

            var split = Enumerable.Range(0, 2 * c.Instances).Select(Machine).ToArray();
            (IReadOnlyList<InstanceSpec> specs, SplitwiseScheduler scheduler, ClusterKvTransfers transfers) = SplitwiseDesigns.Build(split);
            return (specs, scheduler, transfers);
        }

        var instances = Enumerable.Range(0, c.Instances).Select(i => c.Vllm
            ? SimKit.VllmInstance(perf, c.Limits.MaxBatchTokens, c.Limits.MaxBatchRequests, 16, (int)(c.KvTokens / 16) + 1, index: i)
            : SimKit.Instance(perf, c.Limits, c.KvTokens, 1, i)).ToArray();
        return (instances, ClusterScheduler.Create("token-jsq", instances.Length), null);
    }

    private static List<(long Id, long Arrival, int Input, int Output, long[] Chain)> Arrivals(Case c)
    {
        // Times from 0 (the offline engine counts from the first arrival) in whole 100 ns trace ticks.
        long t = 0;
        return [.. c.Requests.Select((r, i) => ((long)i, t += i == 0 ? 0 : r.Gap / 100 * 100, r.Input, r.Output, Chain(c, i, r.Input)))];
    }

    /// <summary>A prefix hash chain per request (one id per full 512-token block, as serve makes them): every other
    /// request shares its blocks with the others of its kind (ids 1, 2, …), the rest are unique — so the vLLM
    /// engine's prefix cache hits, offline from the trace's chains and online from <see cref="OnlineSimulation.Arrive"/>.</summary>
    private static long[] Chain(Case c, int i, int input) =>
        [.. Enumerable.Range(0, input / 512).Select(j => ((int)(c.StepSeed >> 1) + i) % 2 == 0 ? 1L + j : 1000L + (i * 8) + j)];

    private static IReadOnlyList<RequestOutcome> Offline(Case c)
    {
        (IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers) = Cluster(c);
        var arrivals = Arrivals(c);
        Trace plain = SimKit.Trace([.. arrivals.Select(a => (a.Arrival, a.Input, a.Output))]);
        int[] offsets = [0, .. arrivals.Select(a => a.Chain.Length)];
        for (int i = 1; i < offsets.Length; i++)
        {
            offsets[i] += offsets[i - 1];
        }

        var trace = new Trace(plain.Name, plain.Start, plain.ArrivalTicks, plain.InputTokens, plain.OutputTokens, plain.Count, offsets, [.. arrivals.SelectMany(a => a.Chain)]);
        return SimKit.Run(trace, instances, scheduler, transfers).Requests;
    }

    /// <summary>Drives the engine online: each arrival at its time, with random clock steps in between and after.</summary>
    private static (RecordingSink Sink, OnlineSimulation Online, Dictionary<long, int> Slots) Online(Case c, Func<long, long, bool>? cancelAt = null)
    {
        (IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers) = Cluster(c);
        var sink = new RecordingSink();
        var online = new OnlineSimulation(instances, scheduler, transfers, sink);
        var rng = new Random((int)(c.StepSeed & 0x7FFFFFFF));
        var slots = new Dictionary<long, int>();
        long clock = 0;

        void StepTo(long t)
        {
            // The clock wakes at random moments up to t: sometimes at the next event, sometimes late, sometimes between.
            while (clock < t)
            {
                long next = online.NextTime;
                long step = rng.Next(3) switch
                {
                    0 => next,
                    1 => next == long.MaxValue ? t : next + rng.Next(0, 30_000_000),
                    _ => clock + rng.Next(1, 20_000_000),
                };
                clock = Math.Min(t, Math.Max(clock + 1, step));
                Advance(clock);
            }
        }

        void Advance(long t)
        {
            sink.CallTime = t;
            online.AdvanceTo(t);
            sink.LastAdvance = t;
            if (cancelAt is not null)
            {
                foreach ((long id, int slot) in slots)
                {
                    if (cancelAt(id, t))
                    {
                        online.Cancel(slot, id, t);
                    }
                }
            }
        }

        foreach ((long id, long arrival, int input, int output, long[] chain) in Arrivals(c))
        {
            StepTo(arrival - 1);
            sink.CallTime = arrival;
            int slot = online.Arrive(id, arrival, input, output, chain);
            if (slot >= 0)
            {
                slots[id] = slot;
            }
        }

        for (int guard = 0; online.NextTime != long.MaxValue; guard++)
        {
            Assert.True(guard < 10_000_000, "the online engine does not drain");
            StepTo(online.NextTime);
        }

        return (sink, online, slots);
    }

    [Fact]
    public void Online_engine_gives_the_offline_timeline_token_for_token()
    {
        const int Cases = 300;
        int hits = 0;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(11, (ulong)i), null, out _);
            string context = $"case {i}: {c.Kind} × {c.Instances}, {c.Limits}, kv {c.KvTokens}, {c.Requests.Length} requests";
            var offline = Offline(c);
            (RecordingSink sink, OnlineSimulation online, _) = Online(c);
            Assert.True(sink.Violation is null, context + ": " + sink.Violation);
            Assert.Equal(0, online.Engine.InFlight);
            Assert.Equal(0, online.Engine.KvUsedTotal);

            foreach (RequestOutcome row in offline)
            {
                long id = row.Id;
                Assert.True(sink.Done.TryGetValue(id, out var done), $"{context}: request {id} never done online");
                if (row.Status == RequestStatus.Rejected)
                {
                    Assert.False(done.Completed, context);
                    Assert.False(sink.Tokens.ContainsKey(id), context);
                    continue;
                }

                Assert.True(row.Status == RequestStatus.Done, context);
                Assert.True(done.Completed, context);
                hits += row.CachedTokens == 0 ? 0 : 1;
                var tokens = sink.Tokens[id];
                Assert.Equal(Enumerable.Range(1, row.OutputTokens), tokens.Select(t => t.Generated));
                Assert.True(row.ArrivalNs + row.TtftNs == tokens[0].Time, $"{context}: request {id} first token");
                Assert.True(row.ArrivalNs + row.E2eNs == tokens[^1].Time, $"{context}: request {id} last token");
                Assert.Equal(tokens[^1].Time, done.Time);
                if (row.OutputTokens > 1)
                {
                    long maxGap = tokens.Zip(tokens.Skip(1)).Max(p => p.Second.Time - p.First.Time);
                    Assert.True(row.TbtMaxNs == maxGap, $"{context}: request {id} largest gap");
                }
            }
        }

        Assert.True(hits > Cases / 10, $"only {hits} requests hit the prefix cache: the chains are not exercised");
    }

    [Fact]
    public void Cancelled_requests_free_their_memory_and_the_rest_finish()
    {
        const int Cases = 300;
        int dropped = 0;
        for (int i = 0; i < Cases; i++)
        {
            Case c = s_cases.Generate(new PCG(13, (ulong)i), null, out _);
            string context = $"case {i}: {c.Kind} × {c.Instances}, {c.Limits}, kv {c.KvTokens}, {c.Requests.Length} requests";
            var arrivals = Arrivals(c);
            // Every third request's client goes away some time after it arrived (queued, prompting, transferring or decoding).
            var cancelFrom = arrivals.Where(a => a.Id % 3 == 0).ToDictionary(a => a.Id, a => a.Arrival + (a.Id * 7_919_000 % 400_000_000));
            (RecordingSink sink, OnlineSimulation online, _) = Online(c, (id, t) => cancelFrom.TryGetValue(id, out long from) && t >= from);
            Assert.True(sink.Violation is null, context + ": " + sink.Violation);
            Assert.Equal(0, online.Engine.InFlight);
            Assert.Equal(0, online.Engine.KvUsedTotal);
            foreach ((long id, long _, int input, int output, long[] _) in arrivals)
            {
                Assert.True(sink.Done.TryGetValue(id, out var done), $"{context}: request {id} never done");
                int got = sink.Tokens.TryGetValue(id, out var tokens) ? tokens.Count : 0;
                if (done.Completed)
                {
                    Assert.True(got == output, $"{context}: request {id} completed with {got} of {output} tokens");
                }
                else
                {
                    Assert.True(got < output, context);
                    if (!cancelFrom.ContainsKey(id))
                    {
                        // Not cancelled: only a request that can never fit is dropped.
                        Assert.True(got == 0 && input + output > c.Capacity, $"{context}: request {id} dropped without a cancel");
                    }
                    else
                    {
                        dropped++;
                    }
                }
            }

            // The scheduler's books balance: a request after everything drained still runs to the end.
            long late = online.Now + 1_000_000_000;
            int slot = online.Arrive(1_000_000, late, 10, 3);
            Assert.True(slot >= 0, context);
            while (online.NextTime != long.MaxValue)
            {
                sink.CallTime = online.NextTime;
                online.AdvanceTo(online.NextTime);
            }

            Assert.True(sink.Done[1_000_000].Completed, context);
            Assert.Equal(3, sink.Tokens[1_000_000].Count);
        }

        Assert.True(dropped > Cases, $"only {dropped} requests were dropped by a cancel: the test does not exercise cancellation");
    }
}
