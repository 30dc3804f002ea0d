namespace Splitwise.Designs;

/// <summary>Per-request latencies of a run, as SLO evaluation reads them (struct of arrays, one index per request).</summary>
/// <param name="PromptTokens">Input tokens of each request.</param>
/// <param name="OutputTokens">Output tokens of each request.</param>
/// <param name="TtftNs">Arrival → first token; negative for a request that did not finish (it then fails every SLO).</param>
/// <param name="E2ENs">Arrival → last token; negative for a request that did not finish.</param>
public sealed record SloRequests(int[] PromptTokens, int[] OutputTokens, long[] TtftNs, long[] E2ENs)
{
    public int Count => PromptTokens.Length;
}

/// <summary>The outcome of one SLO.</summary>
/// <param name="Slo">The SLO evaluated.</param>
/// <param name="Value">The percentile reached: a slowdown factor, or nanoseconds for an absolute SLO;
/// <see cref="double.PositiveInfinity"/> when unfinished requests reach that percentile; NaN when no request has the metric.</param>
/// <param name="Ratio">Value ÷ target: ≤ 1 passes. A search can use it as the margin.</param>
/// <param name="Pass">Value ≤ target.</param>
/// <param name="Requests">Number of requests the percentile was taken over.</param>
public readonly record struct SloOutcome(SloTarget Slo, double Value, double Ratio, bool Pass, int Requests)
{
    public string Name => Slo.Name;
}

/// <summary>The evaluation of an SLO set on a run.</summary>
/// <param name="Outcomes">One per SLO, in the set's order.</param>
/// <param name="AllPass">True when every SLO holds.</param>
/// <param name="GoodRequests">Requests that finished and meet, individually, the loosest (highest-percentile) target
/// of every metric in the set.</param>
/// <param name="Goodput">Good requests per second of the run's span.</param>
/// <param name="Attainment">Good requests ÷ all requests.</param>
public sealed record SloReport(IReadOnlyList<SloOutcome> Outcomes, bool AllPass, int GoodRequests, double Goodput, double Attainment)
{
    /// <summary>The largest value ÷ target over the SLOs (≤ 1 when all pass).</summary>
    public double WorstRatio => Outcomes.Count == 0 ? 0 : Outcomes.Max(o => double.IsNaN(o.Ratio) ? 0 : o.Ratio);
}

/// <summary>
/// Evaluates an <see cref="SloSet"/> on per-request latencies.
/// </summary>
/// <remarks>
/// <para>Per request: TTFT, E2E, and TBT = (E2E − TTFT) / (output − 1) (requests with one output token are left out of
/// TBT). A slowdown divides each by the same request's latency alone on the reference machine
/// (<see cref="ISloReference"/>). Unfinished requests count as infinitely slow: they are in every percentile's
/// population, so an overloaded run fails rather than looking fast because only its lucky requests finished.</para>
/// <para>Percentiles interpolate linearly between the two closest ranks (numpy's default, which SplitwiseSim's
/// summaries use): for sorted values v[0..n-1], p → v[i] + (v[i+1] − v[i]) × f with i + f = p/100 × (n − 1).</para>
/// <para>Goodput (MISSION.md §5: requests per second that meet their SLOs): percentile SLOs constrain a distribution,
/// not one request, so a request counts as good when it finished and each of its metrics is within the loosest target
/// the set gives for that metric (for the paper's nine: TTFT ≤ 6×, TBT ≤ 5×, E2E ≤ 5× their idle values) — the bound
/// every request but the tail must meet. Goodput = good requests ÷ the span in seconds the caller passes (the trace's
/// duration, so that goodput and offered rate compare directly).</para>
/// </remarks>
public static class SloEvaluator
{
    public static SloReport Evaluate(SloSet slos, SloRequests requests, ISloReference? reference, double spanSeconds)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(requests);
        int n = requests.Count;
        if (requests.OutputTokens.Length != n || requests.TtftNs.Length != n || requests.E2ENs.Length != n)
        {
            throw new ArgumentException("per-request columns differ in length", nameof(requests));
        }

        if (slos.NeedsIdealLatency && reference is null)
        {
            throw new ArgumentNullException(nameof(reference), "slowdown SLOs need the idle reference machine's latencies");
        }

        // Per request and metric, absolute and slowdown values (+inf for unfinished, NaN for not applicable).
        var absolute = new double[3][];
        var slowdown = new double[3][];
        for (int m = 0; m < 3; m++)
        {
            absolute[m] = new double[n];
            slowdown[m] = new double[n];
        }

        for (int i = 0; i < n; i++)
        {
            int output = requests.OutputTokens[i];
            long ttft = requests.TtftNs[i], e2e = requests.E2ENs[i];
            bool finished = ttft >= 0 && e2e >= 0;
            IdealLatency ideal = reference?.For(requests.PromptTokens[i], output) ?? default;
            double tbt = output > 1 ? (finished ? (double)(e2e - ttft) / (output - 1) : double.PositiveInfinity) : double.NaN;
            Set(SloMetric.Ttft, finished ? ttft : double.PositiveInfinity, ideal.TtftNs);
            Set(SloMetric.Tbt, tbt, ideal.TbtNs(output));
            Set(SloMetric.E2E, finished ? e2e : double.PositiveInfinity, ideal.E2ENs);

            void Set(SloMetric metric, double value, double idealValue)
            {
                absolute[(int)metric][i] = value;
                slowdown[(int)metric][i] = double.IsNaN(value) ? double.NaN
                    : double.IsPositiveInfinity(value) ? double.PositiveInfinity
                    : idealValue > 0 ? value / idealValue : 1;
            }
        }

        var sorted = new double[6][];
        var outcomes = new List<SloOutcome>(slos.Targets.Count);
        foreach (SloTarget slo in slos.Targets)
        {
            int k = ((int)slo.Metric * 2) + (slo.Kind == SloKind.Slowdown ? 1 : 0);
            sorted[k] ??= SortedFinite(slo.Kind == SloKind.Slowdown ? slowdown[(int)slo.Metric] : absolute[(int)slo.Metric]);
            double value = Percentile(sorted[k], slo.Percentile);
            double ratio = value / slo.Target;
            outcomes.Add(new SloOutcome(slo, value, ratio, !double.IsNaN(value) && value <= slo.Target, sorted[k].Length));
        }

        // Loosest target per (metric, kind) for the per-request goodput test.
        int good = 0;
        for (int i = 0; i < n; i++)
        {
            bool ok = requests.TtftNs[i] >= 0 && requests.E2ENs[i] >= 0;
            for (int m = 0; m < 3 && ok; m++)
            {
                foreach (SloKind kind in (ReadOnlySpan<SloKind>)[SloKind.Absolute, SloKind.Slowdown])
                {
                    double limit = LoosestTarget(slos, (SloMetric)m, kind);
                    double v = kind == SloKind.Slowdown ? slowdown[m][i] : absolute[m][i];
                    if (!double.IsNaN(limit) && !double.IsNaN(v) && v > limit)
                    {
                        ok = false;
                    }
                }
            }

            if (ok)
            {
                good++;
            }
        }

        bool all = outcomes.TrueForAll(o => o.Pass);
        return new SloReport(outcomes, all, good, spanSeconds > 0 ? good / spanSeconds : 0, n == 0 ? 0 : (double)good / n);
    }

    private static double LoosestTarget(SloSet slos, SloMetric metric, SloKind kind)
    {
        double best = double.NaN, bestP = -1;
        foreach (SloTarget t in slos.Targets)
        {
            if (t.Metric == metric && t.Kind == kind && t.Percentile > bestP)
            {
                bestP = t.Percentile;
                best = t.Target;
            }
        }

        return best;
    }

    private static double[] SortedFinite(double[] values)
    {
        // NaN (not applicable) is dropped; +inf (unfinished) stays and sorts last.
        double[] kept = Array.FindAll(values, v => !double.IsNaN(v));
        Array.Sort(kept);
        return kept;
    }

    /// <summary>Linear-interpolated percentile of sorted values (numpy's default); +inf when an infinite value is
    /// involved in the interpolation; NaN for no values.</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double percentile)
    {
        if (sorted.IsEmpty)
        {
            return double.NaN;
        }

        double pos = percentile / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        double frac = pos - lo;
        if (frac == 0 || lo == hi)
        {
            return sorted[lo];
        }

        if (double.IsPositiveInfinity(sorted[hi]))
        {
            return double.PositiveInfinity;
        }

        return sorted[lo] + ((sorted[hi] - sorted[lo]) * frac);
    }
}
