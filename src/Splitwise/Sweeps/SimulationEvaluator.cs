using System.Collections.Concurrent;
using System.Globalization;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.IO;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Traces;

namespace Splitwise.Sweeps;

/// <summary>
/// Evaluates sweep and provisioning points with the simulator: builds the point's cluster (a baseline of N machines or
/// a Splitwise design of P + T), its workload (the trace's own timing, or Poisson arrivals at the point's rate with
/// the trace's request sizes), runs it, and judges the SLOs. Thread-safe: traces, profiles and reference latencies are
/// loaded once and shared; each point runs its own single-threaded simulation.
/// </summary>
/// <remarks>
/// <para>Workload: with a rate, Poisson arrivals (seed = the sweep's seed, so every design sees the same requests) for the
/// sweep's duration, else for the trace's own span; without a rate, the trace's first <c>duration</c> seconds as
/// recorded.</para>
/// <para>Overload: a run stops at 1.25 × the arrival span + 2 minutes of simulated time (the longest conversation
/// request takes ~45 s alone); requests not finished by then count as infinitely slow for the SLOs (they fail them), so
/// an overloaded point costs bounded time.</para>
/// </remarks>
public sealed class SimulationEvaluator
{
    private readonly string _dataDir;
    private readonly TextWriter? _log;
    private readonly string? _cdfDirectory;
    private readonly ConcurrentDictionary<string, Lazy<Trace>> _traces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<ProfileTable>> _profiles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<ISloReference>> _references = new(StringComparer.Ordinal);
    private readonly Catalog _catalog;

    /// <param name="dataDir">Where named traces and the profile live (null: <see cref="NamedTraces.DefaultDataDir"/>).</param>
    /// <param name="log">Download and loading messages.</param>
    /// <param name="cdfDirectory">Write each point's latency quantiles here (for the sweep report); null for none.</param>
    /// <param name="catalog">Hardware and models (null: built in).</param>
    public SimulationEvaluator(string? dataDir, TextWriter? log, string? cdfDirectory, Catalog? catalog = null)
    {
        _dataDir = dataDir ?? NamedTraces.DefaultDataDir;
        _log = log;
        _cdfDirectory = cdfDirectory;
        _catalog = catalog ?? Catalog.BuiltIn;
    }

    /// <summary>
    /// Stop a point's simulation as soon as its SLOs are certain to be missed (<see cref="SloFailureWatch"/>), and return
    /// only that verdict (<see cref="SweepResult.StoppedEarly"/>): what a search needs of a failing point, at a fraction of
    /// the cost of an overloaded run. Passing points run to the end as always. Off by default: a sweep reports every
    /// point's figures.
    /// </summary>
    public bool StopAtFailure { get; init; }

    /// <summary>Simulates one point.</summary>
    public SweepResult Evaluate(SweepPoint point, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(point);
        SweepSettings settings = point.Settings;
        PerformanceModelKind kind = PerformanceModels.Parse(settings.Perf);
        ProfileTable? profile = kind == PerformanceModelKind.Profile ? Profile(settings.Profile, cancellationToken) : null;
        Trace trace = LoadTrace(point.Trace);
        ClusterConfig cluster = Cluster(point, kind);

        (ArrivalSource arrivals, double spanSeconds) = Workload(trace, point);
        long horizon = (long)(((1.25 * spanSeconds) + 120) * 1e9);
        var job = new SimulationJob(cluster, arrivals, point.Trace, null, _catalog, profile, new SimulatorOptions(horizon));
        ISloReference? reference = settings.Slos.NeedsIdealLatency ? Reference(settings, profile) : null;
        SloFailureWatch? watch = StopAtFailure ? Watch(settings.Slos, reference, Workload(trace, point).Source) : null;
        using var stop = watch is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        SimulationSummary summary;
        SloReport? judged;
        SloRequests? judgedRequests;
        try
        {
            (summary, judged, judgedRequests) = ClusterSimulation.RunJudged(job, settings.Slos, reference, spanSeconds,
                cancellationToken: stop?.Token ?? cancellationToken,
                requestObserver: watch is null ? null : r =>
                {
                    if (watch.Observe(r.InputTokens, r.OutputTokens, r.TtftNs, r.E2eNs))
                    {
                        stop!.Cancel();
                    }
                });
        }
        catch (OperationCanceledException) when (watch is { Failed: true } && !cancellationToken.IsCancellationRequested)
        {
            SloTarget missed = watch.Missed!.Value;
            return new SweepResult
            {
                Requests = -1,
                Finished = -1,
                StoppedEarly = true,
                Slo = new SloReport([new SloOutcome(missed, double.NaN, double.NaN, Pass: false, Requests: 0)], AllPass: false, 0, 0, 0),
            };
        }

        SloReport slo = judged!;
        SloRequests requests = judgedRequests!;
        if (_cdfDirectory is not null)
        {
            WriteCdf(point, requests);
        }

        double Ms(string metric, Func<MetricStats, double> stat) =>
            summary.Metrics.TryGetValue(metric, out MetricStats? s) && s.Count > 0 ? stat(s) * 1e3 : double.NaN;
        return new SweepResult
        {
            Requests = requests.Count,
            Finished = (int)summary.Finished,
            ThroughputRps = summary.ThroughputRps,
            OutputTokensPerSecond = summary.OutputTokensPerSecond,
            TtftP50Ms = Ms("ttft_times", s => s.P50),
            TtftP90Ms = Ms("ttft_times", s => s.P90),
            TtftP99Ms = Ms("ttft_times", s => s.P99),
            TbtP50Ms = Ms("tpot_times", s => s.P50),
            TbtP90Ms = Ms("tpot_times", s => s.P90),
            TbtP99Ms = Ms("tpot_times", s => s.P99),
            E2EP50Ms = Ms("response_times", s => s.P50),
            E2EP90Ms = Ms("response_times", s => s.P90),
            E2EP99Ms = Ms("response_times", s => s.P99),
            KvTransferMeanMs = Ms("kv_transfer_times", s => s.Mean),
            EnergyKwh = summary.EnergyKwh,
            Slo = slo,
        };
    }

    /// <summary>A failure watch over the point's whole workload (a second copy of its source, drained to count it); null
    /// when no SLO can be watched.</summary>
    private static SloFailureWatch? Watch(SloSet slos, ISloReference? reference, ArrivalSource workload)
    {
        const int Block = 4096;
        long[] arrivals = new long[Block];
        int[] inputs = new int[Block], outputs = new int[Block];
        long requests = 0, multiToken = 0;
        for (int n; (n = workload.Fill(arrivals, inputs, outputs)) > 0;)
        {
            requests += n;
            for (int i = 0; i < n; i++)
            {
                multiToken += Math.Max(1, outputs[i]) > 1 ? 1 : 0; // the engine runs at least one output token
            }
        }

        var watch = new SloFailureWatch(slos, reference, requests, multiToken);
        return watch.Watching ? watch : null;
    }

    /// <summary>The cluster of a point: a baseline design of N machines or a Splitwise design of P + T.</summary>
    public static ClusterConfig Cluster(SweepPoint point, PerformanceModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(point);
        ClusterConfig cluster = point.IsSplit
            ? SplitwiseDesigns.Create(point.Design, point.PromptMachines, point.TokenMachines)
            : ClusterConfig.ForDesign(point.Design, point.Machines);
        cluster = cluster with
        {
            Model = point.Settings.Model,
            Performance = kind,
            Gqa = point.Settings.Gqa,
            Splitwise = new SplitwiseOptions(new KvTransferOptions(KvTransferOptions.ParseMode(point.Settings.KvTransfer))),
            Vllm = point.Settings.Engine == "vllm" ? new VllmEngineOptions() : null,
        };
        return point.Settings.SplitwiseSim ? cluster.AsSplitwiseSim() : cluster;
    }

    private (ArrivalSource Source, double SpanSeconds) Workload(Trace trace, SweepPoint point)
    {
        double traceSpan = trace.SpanTicks / 1e7;
        double duration = point.Settings.DurationSeconds > 0 ? point.Settings.DurationSeconds : traceSpan;
        if (point.Rate > 0)
        {
            return (new PoissonArrivals(trace, point.Rate, -1, (long)(duration * 1e9), (ulong)point.Settings.Seed), duration);
        }

        if (point.Settings.DurationSeconds <= 0 || duration >= traceSpan)
        {
            return (ArrivalSource.FromTrace(trace), traceSpan);
        }

        // The trace's first `duration` seconds (the named traces are sorted by arrival).
        ReadOnlySpan<long> arrivals = trace.Arrivals;
        long first = arrivals.Length > 0 ? arrivals[0] : 0;
        long limit = first + (long)(duration * 1e7);
        int n = 0;
        while (n < arrivals.Length && arrivals[n] <= limit)
        {
            n++;
        }

        var head = new Trace(trace.Name, trace.Start, trace.ArrivalTicks, trace.InputTokens, trace.OutputTokens, n, trace.HashOffsets, trace.HashIds);
        return (ArrivalSource.FromTrace(head), duration);
    }

    private Trace LoadTrace(string nameOrPath) => _traces.GetOrAdd(nameOrPath, key => new Lazy<Trace>(() =>
    {
        string path = NamedTraces.IsNamed(key) ? NamedTraces.Resolve(key, _dataDir, log: _log)
            : File.Exists(key) ? key
            : throw SplitwiseException.Usage($"trace '{key}' is neither a file nor a named trace ({string.Join(", ", NamedTraces.Names)})");
        return TraceReader.Read(path, new TraceReadOptions { DisplayName = key });
    })).Value;

    private ProfileTable Profile(string? path, CancellationToken cancellationToken) =>
        _profiles.GetOrAdd(path ?? "", key => new Lazy<ProfileTable>(() =>
            ProfileTable.Load(ProfileLocator.Resolve(key.Length == 0 ? null : key, _dataDir, _log, cancellationToken)))).Value;

    /// <summary>The point's SLO reference (<see cref="SloReferences"/>): a DGX-A100 (TP8) with its model and performance model.</summary>
    private ISloReference Reference(SweepSettings settings, ProfileTable? profile) =>
        _references.GetOrAdd($"{settings.Model}|{settings.Perf}|{settings.Profile}|{settings.Slos.Reference}", _ => new Lazy<ISloReference>(() =>
            SloReferences.Create(settings.Slos, settings.Model, PerformanceModels.Parse(settings.Perf), _catalog, profile)!)).Value;

    /// <summary>File name of a point's CDF in the CDF directory.</summary>
    public static string CdfFileName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        char[] chars = key.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] is not ('-' or '.'))
            {
                chars[i] = '_';
            }
        }

        return new string(chars) + ".csv";
    }

    /// <summary>Percentiles 0..100 of TTFT, TBT and E2E (ms) of finished requests: a compact CDF for the report.</summary>
    private void WriteCdf(SweepPoint point, SloRequests r)
    {
        var ttft = new List<double>();
        var tbt = new List<double>();
        var e2e = new List<double>();
        for (int i = 0; i < r.Count; i++)
        {
            if (r.TtftNs[i] < 0 || r.E2ENs[i] < 0)
            {
                continue;
            }

            ttft.Add(r.TtftNs[i] / 1e6);
            e2e.Add(r.E2ENs[i] / 1e6);
            if (r.OutputTokens[i] > 1)
            {
                tbt.Add((r.E2ENs[i] - r.TtftNs[i]) / 1e6 / (r.OutputTokens[i] - 1));
            }
        }

        ttft.Sort();
        tbt.Sort();
        e2e.Sort();
        Directory.CreateDirectory(_cdfDirectory!);
        AtomicFile.WriteText(Path.Combine(_cdfDirectory!, CdfFileName(point.Key)), w =>
        {
            w.NewLine = "\n";
            w.WriteLine("percentile,ttft_ms,tbt_ms,e2e_ms");
            for (int p = 0; p <= 100; p++)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{p},{P(ttft, p)},{P(tbt, p)},{P(e2e, p)}"));
            }
        });

        static string P(List<double> sorted, int p)
        {
            double v = Percentiles.Linear<double>(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sorted), p);
            return double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        }
    }
}
