namespace Splitwise.Designs;

/// <summary>
/// Watches requests finish during a run and says as soon as <see cref="SloEvaluator.Evaluate"/> is certain to find an
/// SLO missed, so a search that only needs the verdict of a failing point can stop its simulation there.
/// </summary>
/// <remarks>
/// <para>An SLO on the p-th percentile of a population of <c>n</c> values fails for sure once <c>n − ⌊p/100 ·
/// (n − 1)⌋</c> of them are known to be over its target (at or over it, for the paper's strict slowdown rule): the
/// percentile (<see cref="Common.Percentiles.Linear"/>) then interpolates between two values that both miss it, whatever
/// the values still to come. A finished request's latencies are final, and a rejected request is infinitely slow, so
/// the count only ever grows; the requests still running, and those that never finish, can only add to it. The
/// populations are the evaluator's: every request for TTFT and E2E, requests with more than one output token for TBT
/// (every request for the paper's TBT slowdown). ITL targets are not watched (the verdict then waits for the end, or
/// another target).</para>
/// <para>Exact: a watch that fires means the full run's report has <see cref="SloReport.AllPass"/> false; it never fires
/// for a run that passes. Cost: one ideal-latency lookup per finished request when a slowdown target is watched.</para>
/// </remarks>
public sealed class SloFailureWatch
{
    private readonly SloSet _slos;
    private readonly ISloReference? _reference;
    private readonly SloTarget[] _targets;
    private readonly long[] _needed; // per target: values over it that decide the failure
    private readonly long[] _over;

    /// <param name="slos">The SLOs judged at the end.</param>
    /// <param name="reference">The idle-machine latencies (needed for slowdown targets).</param>
    /// <param name="requests">Requests in the run's workload (arrived or not by its end).</param>
    /// <param name="multiTokenRequests">Of those, requests with more than one output token.</param>
    public SloFailureWatch(SloSet slos, ISloReference? reference, long requests, long multiTokenRequests)
    {
        ArgumentNullException.ThrowIfNull(slos);
        if (slos.NeedsIdealLatency && reference is null)
        {
            throw new ArgumentNullException(nameof(reference), "slowdown SLOs need the idle reference machine's latencies");
        }

        _slos = slos;
        _reference = reference;
        _targets = [.. slos.Targets.Where(t => t.Metric != SloMetric.Itl)];
        _needed = new long[_targets.Length];
        _over = new long[_targets.Length];
        for (int k = 0; k < _targets.Length; k++)
        {
            SloTarget t = _targets[k];
            bool allRequests = t.Metric != SloMetric.Tbt || (t.Kind == SloKind.Slowdown && slos.Reference == SlowdownReference.Paper);
            long n = allRequests ? requests : multiTokenRequests;
            _needed[k] = n == 0 ? long.MaxValue : n - (long)Math.Floor(t.Percentile / 100 * (n - 1));
        }
    }

    /// <summary>True once some SLO is certain to be missed.</summary>
    public bool Failed { get; private set; }

    /// <summary>The SLO that is certain to be missed (when <see cref="Failed"/>).</summary>
    public SloTarget? Missed { get; private set; }

    /// <summary>Watches targets at all (false: <see cref="Observe"/> can never fire).</summary>
    public bool Watching => _targets.Length > 0;

    /// <summary>One request left the run: finished (its final latencies, ns) or rejected (−1). Returns <see cref="Failed"/>.</summary>
    public bool Observe(int inputTokens, int outputTokens, long ttftNs, long e2eNs)
    {
        if (Failed)
        {
            return true;
        }

        bool finished = ttftNs >= 0 && e2eNs >= 0;
        (double Ttft, double Tbt, double E2E) slow = default;
        if (_slos.NeedsIdealLatency)
        {
            slow = SloEvaluator.RequestSlowdowns(_slos.Reference, outputTokens, ttftNs, e2eNs, _reference!.For(inputTokens, outputTokens));
        }

        for (int k = 0; k < _targets.Length; k++)
        {
            SloTarget t = _targets[k];
            double value = t.Kind == SloKind.Slowdown
                ? t.Metric switch { SloMetric.Ttft => slow.Ttft, SloMetric.Tbt => slow.Tbt, _ => slow.E2E }
                : !finished ? (t.Metric == SloMetric.Tbt && outputTokens <= 1 ? double.NaN : double.PositiveInfinity)
                : t.Metric switch
                {
                    SloMetric.Ttft => ttftNs,
                    SloMetric.Tbt => outputTokens > 1 ? (double)(e2eNs - ttftNs) / (outputTokens - 1) : double.NaN,
                    _ => e2eNs,
                };
            bool strict = t.Kind == SloKind.Slowdown && _slos.Reference == SlowdownReference.Paper; // passes only below
            if (!double.IsNaN(value) && (strict ? value >= t.Target : value > t.Target) && ++_over[k] >= _needed[k])
            {
                Failed = true;
                Missed = t;
                return true;
            }
        }

        return false;
    }
}
