using CsCheck;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

public class PropertyTests
{
    private sealed record Case(
        (long Gap, int Input, int Output)[] Requests, int Instances, BatchLimits Limits, long KvTokens, string Scheduler,
        (long PromptBase, long PerToken, long DecodeBase, long PerDecode, long Mixed) Perf);

    private static readonly Gen<Case> s_cases =
        Gen.Select(
            Gen.Select(Gen.Long[0, 50_000_000], Gen.Int[1, 3000], Gen.Int[1, 300]).Array[1, 40],
            Gen.Int[1, 4],
            Gen.Select(Gen.Int[1, 64], Gen.Int[16, 4096], Gen.Int[0, 4], Gen.Bool, (r, t, p, f) => new BatchLimits(r, t, p, f)),
            Gen.OneOf(Gen.Long[500, 20_000], Gen.Const(10_000_000L)),
            Gen.OneOfConst("round-robin", "jsq", "token-jsq"),
            Gen.Select(Gen.Long[1, 50_000_000], Gen.Long[0, 50_000], Gen.Long[1, 40_000_000], Gen.Long[0, 1_000_000], Gen.Long[0, 5_000_000]),
            (requests, instances, limits, kv, scheduler, perf) => new Case(requests, instances, limits, kv, scheduler, perf));

    private static SimKit.Result RunCase(Case c)
    {
        var perf = new AffineModel(c.Perf.PromptBase, c.Perf.PerToken, c.Perf.DecodeBase, c.Perf.PerDecode, c.Perf.Mixed);
        var instances = Enumerable.Range(0, c.Instances).Select(i => SimKit.Instance(perf, c.Limits, c.KvTokens, 1, i)).ToArray();
        long t = 0;
        var rows = c.Requests.Select(r => (t += r.Gap, r.Input, r.Output)).ToArray();
        return SimKit.Run(SimKit.Trace(rows), instances, c.Scheduler);
    }

    [Fact]
    public void Engine_invariants_hold_on_thousands_of_random_clusters()
    {
        const int Cases = 2000;
        for (int i = 0; i < Cases; i++)
        {
            // A fixed PCG stream per case: the same cases on every run, on every machine.
            Case c = s_cases.Generate(new PCG(7, (ulong)i), null, out _);
            SimKit.Result result = RunCase(c);
            IReadOnlyList<RequestOutcome> rows = result.Requests;
            string context = $"case {i}: {c.Instances} instances, {c.Limits}, kv {c.KvTokens}, {c.Scheduler}, {c.Requests.Length} requests";

            // Every request is reported exactly once.
            Assert.True(rows.Count == c.Requests.Length, context);
            Assert.True(rows.Select(r => r.Id).Distinct().Count() == c.Requests.Length, context);
            Assert.Equal(c.Requests.Length, result.Recorder.Finished + result.Recorder.Rejected + result.Recorder.Unfinished);

            // Rejected exactly when the request can never fit; with full reservation nothing is left unfinished.
            foreach (RequestOutcome row in rows)
            {
                long need = (long)row.InputTokens + row.OutputTokens;
                Assert.True((row.Status == RequestStatus.Rejected) == (need > c.KvTokens), context);
                Assert.True(row.Finished == (row.Status == RequestStatus.Done), context);
            }

            if (c.Limits.ReserveFullRequest)
            {
                Assert.True(result.Recorder.Unfinished == 0, context);
            }

            // Tokens are conserved: every finished request generated exactly its output tokens.
            long expected = rows.Where(r => r.Status == RequestStatus.Done).Sum(r => (long)r.OutputTokens);
            Assert.True(expected == result.Recorder.OutputTokens, context);

            // KV memory never exceeds capacity; time never goes back.
            Assert.All(result.Outcome.Instances, o => Assert.True(o.KvPeakBytes <= o.Spec.KvCapacityBytes, context));
            Assert.True(result.Outcome.TimeViolations == 0, context);

            // Per request: 0 <= queue <= TTFT <= E2E, and E2E ends no earlier than arrival + TTFT.
            foreach (RequestOutcome row in rows.Where(r => r.Status == RequestStatus.Done))
            {
                Assert.True(row.QueueNs >= 0 && row.QueueNs < row.TtftNs && row.TtftNs <= row.E2eNs, context);
            }

            // Same inputs, same results.
            if (i % 20 == 0)
            {
                Assert.Equal(rows, RunCase(c).Requests);
            }
        }
    }

    [Fact]
    public void Same_seed_gives_byte_identical_output_files()
    {
        string[] Run(string dir)
        {
            var sizes = SimKit.Trace((0, 1000, 100), (0, 200, 20), (0, 3000, 5), (0, 50, 400));
            var job = new SimulationJob(ClusterConfig.ForDesign("baseline-h100", 3) with { Performance = Splitwise.Performance.PerformanceModelKind.Roofline },
                new PoissonArrivals(sizes, 20, 3000, -1, seed: 42), "poisson", dir, Catalog.BuiltIn, null);
            ClusterSimulation.Run(job, cancellationToken: TestContext.Current.CancellationToken);
            return ["summary.json", "summary.csv", "requests.csv", "instances.csv"];
        }

        string a = Directory.CreateTempSubdirectory("sim-a").FullName, b = Directory.CreateTempSubdirectory("sim-b").FullName;
        try
        {
            foreach (string file in Run(a).Zip(Run(b)).Select(p => p.First))
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(a, file)), File.ReadAllBytes(Path.Combine(b, file)));
            }
        }
        finally
        {
            Directory.Delete(a, true);
            Directory.Delete(b, true);
        }
    }
}
