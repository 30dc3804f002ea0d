using Splitwise.Performance;
using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

public class QueueingTests
{
    /// <summary>Every iteration takes the same time: a deterministic server.</summary>
    private sealed class ConstantModel(long ns) : IPerformanceModel
    {
        public long IterationNanoseconds(in BatchShape batch) => batch.IsEmpty ? 0 : ns;
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    public void Single_slot_instance_matches_the_md1_mean_wait(double rho)
    {
        // One request per batch, one output token (the prompt produces it): each request holds the instance for exactly
        // one iteration of D. Poisson arrivals at rate rho / D make an M/D/1 queue: Wq = rho D / (2 (1 - rho)).
        const long D = 1_000_000_000;
        var instance = SimKit.Instance(new ConstantModel(D), new BatchLimits(MaxBatchRequests: 1, MaxBatchTokens: 2048, MaxPreemptions: 4));
        var sizes = SimKit.Trace((0, 1, 1));
        var arrivals = new PoissonArrivals(sizes, rho / (D / 1e9), count: 400_000, durationNs: -1, seed: 2024);
        using var recorder = new SimulationRecorder();
        var sim = new Simulator([instance], new RoundRobinScheduler(1), recorder);
        sim.Run(arrivals, cancellationToken: TestContext.Current.CancellationToken);

        double expected = rho * D / (2 * (1 - rho));
        double measured = recorder.Queue.Compute().Mean;
        Assert.Equal(400_000, recorder.Finished);
        Assert.InRange(measured / expected, 0.98, 1.02);
    }
}
