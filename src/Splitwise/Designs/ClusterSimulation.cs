using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Designs;

/// <summary>Everything one simulation run needs.</summary>
/// <param name="Cluster">The cluster.</param>
/// <param name="Arrivals">The requests.</param>
/// <param name="TraceName">Name of the trace for reports.</param>
/// <param name="OutputDirectory">Where to write summary.json, summary.csv, requests.csv, instances.csv; null for none.</param>
/// <param name="Catalog">Hardware and models.</param>
/// <param name="Profile">The profile table (needed by the profile performance model).</param>
/// <param name="Options">Engine options (horizon).</param>
/// <param name="ExactLimit">Values per metric kept for exact percentiles before the bounded histogram takes over.</param>
public sealed record SimulationJob(
    ClusterConfig Cluster,
    ArrivalSource Arrivals,
    string TraceName,
    string? OutputDirectory,
    Catalog Catalog,
    ProfileTable? Profile,
    SimulatorOptions? Options = null,
    long ExactLimit = 1_048_576)
{
    /// <summary>Write <c>requests.csv</c> (one row per request) into the output directory.</summary>
    public bool WriteRequests { get; init; } = true;

    /// <summary>Collect the report's quantiles and time series (<see cref="SimulationSummary.ReportData"/>).</summary>
    public bool CollectReport { get; init; }
}

/// <summary>Builds a cluster, runs it and writes the results.</summary>
public static class ClusterSimulation
{
    /// <summary>
    /// The engine pieces of a cluster: its instances, its cluster scheduler and, for phase-split (Splitwise) clusters,
    /// the KV transfers between machines. The simulator and serve's real-time emulator both build from this.
    /// </summary>
    public static (IReadOnlyList<InstanceSpec> Instances, ClusterScheduler Scheduler, ClusterKvTransfers? Transfers) Build(
        ClusterConfig cluster, Catalog catalog, ProfileTable? profile)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        IReadOnlyList<InstanceSpec> instances = cluster.BuildInstances(catalog, profile);
        if (SplitwiseDesigns.IsSplit(cluster))
        {
            (IReadOnlyList<InstanceSpec> split, SplitwiseScheduler scheduler, ClusterKvTransfers transfers) = SplitwiseDesigns.Build(instances, cluster.Splitwise);
            return (split, scheduler, transfers);
        }

        return (instances, ClusterScheduler.Create(cluster.Scheduler, instances.Count), null);
    }

    // requestObserver receives each request's sizes, TTFT and E2E (ns; -1 if unfinished), e.g. for SLOs.
    public static SimulationSummary Run(SimulationJob job, Action<SimulationProgress>? progress = null, CancellationToken cancellationToken = default,
        Action<int, int, long, long>? requestObserver = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        (IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers) = Build(job.Cluster, job.Catalog, job.Profile);
        string? requestsPath = job.OutputDirectory is null || !job.WriteRequests ? null : Path.Combine(job.OutputDirectory, "requests.csv");
        using var recorder = new SimulationRecorder(requestsPath, job.ExactLimit);
        recorder.RequestObserver = requestObserver;
        var simulator = new Simulator(instances, scheduler, recorder, job.Options, transfers);
        SimulationTimeline? timeline = null;
        if (job.CollectReport)
        {
            timeline = new SimulationTimeline(instances, scheduler is SplitwiseScheduler sw ? sw.MixedCount : -1);
            simulator.Timeline = timeline;
            recorder.Timeline = timeline;
        }

        SimulationOutcome outcome = simulator.Run(job.Arrivals, progress, cancellationToken);
        SimulationSummary summary = SimulationSummary.Create(job.Cluster.Design, job.TraceName, job.Cluster.Model,
            job.Cluster.Performance.ToString().ToLowerInvariant(), scheduler.Name, job.Cluster.MachineCount, recorder, outcome);
        if (timeline is not null)
        {
            summary = summary with { ReportData = SimulationReportData.Create(recorder, timeline.Snapshot(outcome.EndNs)) };
        }

        if (job.OutputDirectory is not null)
        {
            recorder.Commit();
            summary.WriteTo(job.OutputDirectory);
        }

        return summary;
    }
}
