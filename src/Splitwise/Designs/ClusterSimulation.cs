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
            if (cluster.Scheduler.StartsWith("prefix", StringComparison.OrdinalIgnoreCase))
            {
                // llm-d's P/D routing over the vLLM engines' caches instead of Splitwise's pools.
                return (split, PrefixAwareScheduler.Parse(cluster.Scheduler, split.Count, [.. split.Select(s => s.Roles)]), transfers);
            }

            // token-jsq is a config's default when it names none; the Splitwise scheduler stands in for it.
            if (cluster.Scheduler is not ("splitwise" or "token-jsq" or "tokenjsq"))
            {
                throw SplitwiseException.Usage($"scheduler '{cluster.Scheduler}' with a phase-split design: it routes with the Splitwise scheduler (prompt, token and mixed pools), or prefix with --engine vllm");
            }

            return (split, scheduler, transfers);
        }

        ClusterScheduler colocated = ClusterScheduler.Create(cluster.Scheduler, instances.Count);
        if (colocated is PrefixAwareScheduler { Threshold: > 0 })
        {
            throw SplitwiseException.Usage($"scheduler '{cluster.Scheduler}': the P/D threshold (its fourth number) needs a phase-split design (prefill and decode instances)");
        }

        return (instances, colocated, null);
    }

    // requestObserver receives each request's RequestOutcome (the typed requests.csv row), e.g. for SLOs.
    public static SimulationSummary Run(SimulationJob job, Action<SimulationProgress>? progress = null, CancellationToken cancellationToken = default,
        Action<RequestOutcome>? requestObserver = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        (IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers) = Build(job.Cluster, job.Catalog, job.Profile);
        string? requestsPath = job.OutputDirectory is null || !job.WriteRequests ? null : Path.Combine(job.OutputDirectory, "requests.csv");
        using var recorder = new SimulationRecorder(requestsPath, job.ExactLimit);
        // --splitwise-sim also writes SplitwiseSim's own per-request file, for its notebooks.
        using SplitwiseSimDetailedWriter? detailed = requestsPath is not null && job.Cluster.IsSplitwiseSim
            ? new SplitwiseSimDetailedWriter(Path.Combine(job.OutputDirectory!, "splitwise-sim"), job.ExactLimit)
            : null;
        recorder.RequestObserver = detailed is null ? requestObserver : requestObserver is null ? detailed.Add : r =>
        {
            detailed.Add(r);
            requestObserver(r);
        };
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
            detailed?.Commit();
            summary.WriteTo(job.OutputDirectory);
        }

        return summary;
    }

    /// <summary>
    /// Simulate, then judge the SLOs — the one pipeline behind <c>simulate --slo</c>, sweeps, provisioning and
    /// <c>replay --predict</c>. Requests cut by the horizon before arriving count as unfinished. With an output
    /// directory, the report is written as <c>slo.json</c> and into <c>summary.json</c>.
    /// </summary>
    /// <param name="job">The run.</param>
    /// <param name="slos">The SLOs; null simulates only.</param>
    /// <param name="reference">The idle reference for slowdown SLOs (<see cref="SloReferences.Create"/>).</param>
    /// <param name="spanSeconds">The span goodput is measured over; null for the simulation's own span.</param>
    /// <param name="progress">Progress callback.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <param name="requestObserver">Sees every request's outcome too.</param>
    public static JudgedSimulation RunJudged(SimulationJob job, SloSet? slos, ISloReference? reference, double? spanSeconds = null,
        Action<SimulationProgress>? progress = null, CancellationToken cancellationToken = default, Action<RequestOutcome>? requestObserver = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var collector = slos is null ? null : new SloCollector();
        Action<RequestOutcome>? observer = collector is null ? requestObserver : requestObserver is null ? collector.Add : r =>
        {
            collector.Add(r);
            requestObserver(r);
        };
        SimulationSummary summary = Run(job, progress, cancellationToken, observer);
        if (slos is null || collector is null)
        {
            return new JudgedSimulation(summary, null, null);
        }

        SloRequests requests = collector.ToRequests(summary.NotArrived);
        SloReport report = SloEvaluator.Evaluate(slos, requests, reference, spanSeconds ?? Math.Max(summary.SpanSeconds, 1e-9));
        if (job.OutputDirectory is not null)
        {
            SloJson.Write(Path.Combine(job.OutputDirectory, "slo.json"), report);
            SloJson.AddToSummary(Path.Combine(job.OutputDirectory, "summary.json"), Path.Combine(job.OutputDirectory, "slo.json"));
        }

        return new JudgedSimulation(summary, report, requests);
    }
}

/// <summary>A simulation and its SLO verdicts.</summary>
/// <param name="Summary">What the run measured.</param>
/// <param name="Slo">The SLO report (null when no SLOs were given).</param>
/// <param name="Requests">The per-request latencies judged (null when no SLOs were given).</param>
public sealed record JudgedSimulation(SimulationSummary Summary, SloReport? Slo, SloRequests? Requests);
