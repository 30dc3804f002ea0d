using System.Globalization;
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
        SimulationSummary summary = ClusterSimulation.Run(job, cancellationToken: cancellationToken);
        PredictedRun run = ReadRequests(Path.Combine(dir, "requests.csv"), serverSpeedup, $"{cluster.Design} × {cluster.MachineCount}");
        if (outputDirectory is null)
        {
            Directory.Delete(dir, recursive: true);
        }

        return new ReplayPredictionResult(run, summary);
    }

    /// <summary>
    /// The reference for slowdown SLOs in a replay: each request alone on an idle DGX-A100 (TP8) running
    /// <paramref name="cluster"/>'s model and performance model — what <c>simulate --slo</c> uses — divided by
    /// <paramref name="serverSpeedup"/> so that it is on the replay's clock.
    /// </summary>
    public static ISloReference SloReference(ClusterConfig cluster, Catalog catalog, ProfileTable? profile, double serverSpeedup)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(catalog);
        if (!(serverSpeedup > 0))
        {
            throw SplitwiseException.Usage($"--server-speedup {serverSpeedup}: must be positive");
        }

        MachineSpec a100 = catalog.Machine("dgx-a100");
        var idle = new PerformanceModelSloReference(PerformanceModels.Create(cluster.Performance, catalog.Model(cluster.Model), a100.Gpu, 8, a100, profile));
        return serverSpeedup == 1 ? idle : new CompressedReference(idle, serverSpeedup);
    }

    /// <summary>An <see cref="ISloReference"/> whose latencies run <c>speedup</c> times faster.</summary>
    private sealed class CompressedReference(ISloReference inner, double speedup) : ISloReference
    {
        public IdealLatency For(int promptTokens, int outputTokens)
        {
            IdealLatency ideal = inner.For(promptTokens, outputTokens);
            return new IdealLatency((long)Math.Round(ideal.TtftNs / speedup), (long)Math.Round(ideal.E2ENs / speedup));
        }
    }

    private static PredictedRun ReadRequests(string path, double speedup, string design)
    {
        var ttft = new List<long>();
        var tpot = new List<long>();
        var e2e = new List<long>();
        using var reader = new StreamReader(path);
        string[] header = (reader.ReadLine() ?? "").Split(',');
        int status = Array.IndexOf(header, "status"), t = Array.IndexOf(header, "ttft_s"), e = Array.IndexOf(header, "e2e_s"), p = Array.IndexOf(header, "tpot_s");
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            string[] f = line.Split(',');
            if (status >= 0 && f[status] is not ("ok" or "finished" or "done" or "completed"))
            {
                continue;
            }

            ttft.Add(ToNs(f[t], speedup));
            e2e.Add(ToNs(f[e], speedup));
            if (f[p].Length > 0 && double.TryParse(f[p], NumberStyles.Float, CultureInfo.InvariantCulture, out double tp) && !double.IsNaN(tp))
            {
                tpot.Add((long)Math.Round(tp * 1e9 / speedup));
            }
        }

        return new PredictedRun(design, [.. ttft], [.. tpot], [.. e2e]);
    }

    private static long ToNs(string seconds, double speedup) =>
        (long)Math.Round(double.Parse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture) * 1e9 / speedup);
}
