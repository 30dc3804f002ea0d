using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Trace = Splitwise.Traces.Trace;

namespace Splitwise.Replay;

/// <summary>What the simulator predicts for a replay: the same requests at the same send times on a design.</summary>
/// <param name="Run">Per-request predicted latencies, in the replay's wall-clock time.</param>
/// <param name="Summary">The simulator's own summary (in model time).</param>
public sealed record ReplayPredictionResult(PredictedRun Run, SimulationSummary Summary);

/// <summary>
/// Runs the simulator on a replay plan. <c>serverSpeedup</c> is the speed-up of an emulated server
/// (<c>splitwise serve --speedup S</c>): the replayed load then equals a real server receiving the requests at the
/// plan's offsets × S, and its latencies ÷ S are what the replay should measure. For a real server it is 1.
/// </summary>
public static class ReplayPrediction
{
    public static ReplayPredictionResult Run(ReplayPlan plan, ClusterConfig cluster, Catalog catalog, ProfileTable? profile, double serverSpeedup, string? outputDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(cluster);
        if (!(serverSpeedup > 0))
        {
            throw SplitwiseException.Usage($"--server-speedup {serverSpeedup}: must be positive");
        }

        int n = plan.Count;
        long[] arrivals = new long[n];
        for (int i = 0; i < n; i++)
        {
            arrivals[i] = (long)Math.Round(plan.OffsetNs[i] * serverSpeedup / 100.0);
        }

        var trace = new Trace("replay-plan", DateTimeOffset.UnixEpoch, arrivals, (int[])plan.Inputs.Clone(), (int[])plan.Outputs.Clone(), n);
        string dir = outputDirectory ?? Path.Combine(Path.GetTempPath(), "splitwise-predict-" + Guid.NewGuid().ToString("N"));
        var job = new SimulationJob(cluster, ArrivalSource.FromTrace(trace), "replay-plan", dir, catalog, profile);
        var ttft = new List<long>();
        var tpot = new List<long>();
        var e2e = new List<long>();
        SimulationSummary summary = ClusterSimulation.RunJudged(job, slos: null, reference: null, cancellationToken: cancellationToken, requestObserver: r =>
        {
            if (!r.Finished)
            {
                return;
            }

            // On the replay's clock: the emulated server runs serverSpeedup times faster than model time.
            ttft.Add((long)Math.Round(r.TtftNs / serverSpeedup));
            e2e.Add((long)Math.Round(r.E2eNs / serverSpeedup));
            if (r.OutputTokens > 1)
            {
                tpot.Add((long)Math.Round((double)(r.E2eNs - r.TtftNs) / (r.OutputTokens - 1) / serverSpeedup));
            }
        }).Summary;
        var run = new PredictedRun($"{cluster.Design} × {cluster.MachineCount}", [.. ttft], [.. tpot], [.. e2e]);
        if (outputDirectory is null)
        {
            Directory.Delete(dir, recursive: true);
        }

        return new ReplayPredictionResult(run, summary);
    }
}
