using Splitwise.Common;

namespace Splitwise.Designs;

/// <summary>Per-request latencies of a run, as SLO evaluation reads them (struct of arrays, one index per request).</summary>
/// <param name="PromptTokens">Input tokens of each request.</param>
/// <param name="OutputTokens">Output tokens of each request.</param>
/// <param name="TtftNs">Arrival → first token; negative for a request that did not finish (it then fails every SLO).</param>
/// <param name="E2ENs">Arrival → last token; negative for a request that did not finish.</param>
public sealed record SloRequests(int[] PromptTokens, int[] OutputTokens, long[] TtftNs, long[] E2ENs)
{
    public int Count => PromptTokens.Length;

    /// <summary>Every inter-token gap of every request, ns, request by request (see <see cref="GapStart"/>); null when
    /// the source does not record gaps (ITL then falls back to each request's mean gap).</summary>
    public long[]? GapNs { get; init; }

    /// <summary>Request i's gaps are <c>GapNs[GapStart[i]..GapStart[i + 1]]</c>; length <see cref="Count"/> + 1.</summary>
    public int[]? GapStart { get; init; }
}

/// <summary>What population an SLO's percentile was taken over.</summary>
public enum SloPopulation
{
    /// <summary>One value per request.</summary>
    Requests,

    /// <summary>One value per inter-token gap (ITL), plus one infinite value per unfinished request.</summary>
    Gaps,

    /// <summary>ITL where the source recorded no gaps (the simulator): each request's mean gap, its TBT, stands in —
    /// lower than the true per-gap tail.</summary>
    RequestMeanGaps,
}

/// <summary>The outcome of one SLO.</summary>
/// <param name="Slo">The SLO evaluated.</param>
/// <param name="Value">The percentile reached: a slowdown factor, or nanoseconds for an absolute SLO;
/// <see cref="double.PositiveInfinity"/> when unfinished requests reach that percentile; NaN when no request has the metric.</param>
/// <param name="Ratio">Value ÷ target: ≤ 1 passes. A search can use it as the margin.</param>
/// <param name="Pass">Value ≤ target.</param>
/// <param name="Requests">Number of values the percentile was taken over (requests, or gaps for ITL).</param>
/// <param name="Population">What those values are.</param>
public readonly record struct SloOutcome(SloTarget Slo, double Value, double Ratio, bool Pass, int Requests, SloPopulation Population = SloPopulation.Requests)
{
    public string Name => Slo.Name;
}

/// <summary>The evaluation of an SLO set on a run.</summary>
/// <param name="Outcomes">One per SLO, in the set's order.</param>
/// <param name="AllPass">True when every SLO holds.</param>
/// <param name="GoodRequests">Requests that finished and meet, individually, the set's per-request rule (see
/// <see cref="SloSet"/>).</param>
/// <param name="Goodput">Good requests per second of the run's span.</param>
/// <param name="Attainment">Good requests ÷ all requests.</param>
public sealed record SloReport(IReadOnlyList<SloOutcome> Outcomes, bool AllPass, int GoodRequests, double Goodput, double Attainment)
{
    /// <summary>The largest value ÷ target over the SLOs (≤ 1 when all pass).</summary>
    public double WorstRatio => Outcomes.Count == 0 ? 0 : Outcomes.Max(o => double.IsNaN(o.Ratio) ? 0 : o.Ratio);

    /// <summary>The per-request rule goodput used, as text: <c>ttft=6x,tbt=5x,e2e=5x</c>.</summary>
    public string GoodputRule { get; init; } = "";

    /// <summary>True when goodput used the set's explicit per-request bounds rather than its loosest targets.</summary>
    public bool ExplicitBounds { get; init; }
}

/// <summary>
/// Evaluates an <see cref="SloSet"/> on per-request latencies — the simulator's and a live replay's alike.
/// </summary>
/// <remarks>
/// <para>Per request: TTFT, E2E, and TBT = (E2E − TTFT) / (output − 1) (requests with one output token are left out of
/// TBT); ITL is every gap between output chunks (<see cref="SloRequests.GapNs"/>). A slowdown divides each by the same
/// request's latency alone on the reference machine (<see cref="ISloReference"/>; a gap by the ideal TBT). Unfinished
/// requests count as infinitely slow: they are in every percentile's population (one infinite gap each for ITL), so an
/// overloaded run fails rather than looking fast because only its lucky requests finished.</para>
/// <para>Percentiles: <see cref="Percentiles.Linear"/>.</para>
/// <para>Goodput (MISSION.md §5: requests per second that meet their SLOs): a request is good when it finished and is
/// within every explicit per-request bound of the set (<see cref="SloSet.Bounds"/>: <c>ttft=2s</c>, ITL bounds
/// applying to its largest gap); a set without bounds uses, for each of TTFT, TBT and E2E, the loosest target it gives
/// for that metric (for the paper's nine: TTFT ≤ 6×, TBT ≤ 5×, E2E ≤ 5× their idle values) — the bound every request
/// but the tail must meet. Goodput = good requests ÷ the span in seconds the caller passes.</para>
/// </remarks>
public static class SloEvaluator
{
    private const int Metrics = 4;

    public static SloReport Evaluate(SloSet slos, SloRequests requests, ISloReference? reference, double spanSeconds)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(requests);
        int n = requests.Count;
        if (requests.OutputTokens.Length != n || requests.TtftNs.Length != n || requests.E2ENs.Length != n)
        {
            throw new ArgumentException("per-request columns differ in length", nameof(requests));
        }

        bool gaps = requests.GapNs is not null;
        if (gaps && (requests.GapStart is null || requests.GapStart.Length != n + 1 || requests.GapStart[n] != requests.GapNs!.Length))
        {
            throw new ArgumentException("GapStart must have one entry per request plus one, ending at GapNs.Length", nameof(requests));
        }

        if (slos.NeedsIdealLatency && reference is null)
        {
            throw new ArgumentNullException(nameof(reference), "slowdown SLOs need the idle reference machine's latencies");
        }

        // Per request and metric, absolute and slowdown values (+inf for unfinished, NaN for not applicable). ITL per
        // request is its largest gap (for bounds); the ITL percentile population is built separately.
        // The paper's definition (SplitwiseSim's notebooks): its TBT, and strictly below the limit to pass.
        bool notebook = slos.Reference == SlowdownReference.Paper;
        var absolute = new double[Metrics][];
        var slowdown = new double[Metrics][];
        var idealTbt = new double[n];
        for (int m = 0; m < Metrics; m++)
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
            idealTbt[i] = ideal.TbtNs(output);
            double tbt = output > 1 ? (finished ? (double)(e2e - ttft) / (output - 1) : double.PositiveInfinity) : double.NaN;
            double slowTbt = RequestSlowdowns(slos.Reference, output, ttft, e2e, ideal).Tbt;
            double maxGap = tbt;
            if (gaps && finished)
            {
                ReadOnlySpan<long> own = requests.GapNs.AsSpan(requests.GapStart![i], requests.GapStart[i + 1] - requests.GapStart[i]);
                maxGap = own.IsEmpty ? double.NaN : Max(own);
            }

            Set(SloMetric.Ttft, finished ? ttft : double.PositiveInfinity, ideal.TtftNs);
            Set(SloMetric.Tbt, tbt, idealTbt[i]);
            slowdown[(int)SloMetric.Tbt][i] = slowTbt;
            Set(SloMetric.E2E, finished ? e2e : double.PositiveInfinity, ideal.E2ENs);
            Set(SloMetric.Itl, maxGap, idealTbt[i]);

            void Set(SloMetric metric, double value, double idealValue)
            {
                absolute[(int)metric][i] = value;
                slowdown[(int)metric][i] = Slowdown(value, idealValue);
            }
        }

        var sorted = new double[Metrics * 2][];
        var outcomes = new List<SloOutcome>(slos.Targets.Count);
        foreach (SloTarget slo in slos.Targets)
        {
            bool slow = slo.Kind == SloKind.Slowdown;
            int k = ((int)slo.Metric * 2) + (slow ? 1 : 0);
            SloPopulation population = SloPopulation.Requests;
            if (slo.Metric == SloMetric.Itl)
            {
                population = gaps ? SloPopulation.Gaps : SloPopulation.RequestMeanGaps;
                sorted[k] ??= gaps ? SortedGaps(requests, slow, idealTbt) : SortedFinite(slow ? slowdown[(int)SloMetric.Tbt] : absolute[(int)SloMetric.Tbt]);
            }
            else
            {
                sorted[k] ??= SortedFinite(slow ? slowdown[(int)slo.Metric] : absolute[(int)slo.Metric]);
            }

            double value = Percentiles.Linear<double>(sorted[k], slo.Percentile);
            double ratio = value / slo.Target;
            bool pass = !double.IsNaN(value) && (slow && notebook ? value < slo.Target : value <= slo.Target);
            outcomes.Add(new SloOutcome(slo, value, ratio, pass, sorted[k].Length, population));
        }

        SloBound[] rule = GoodputBounds(slos);
        int good = 0;
        for (int i = 0; i < n; i++)
        {
            bool ok = requests.TtftNs[i] >= 0 && requests.E2ENs[i] >= 0;
            foreach (SloBound b in rule)
            {
                double v = b.Kind == SloKind.Slowdown ? slowdown[(int)b.Metric][i] : absolute[(int)b.Metric][i];
                ok &= double.IsNaN(v) || v <= b.Limit;
            }

            if (ok)
            {
                good++;
            }
        }

        bool all = outcomes.TrueForAll(o => o.Pass);
        return new SloReport(outcomes, all, good, spanSeconds > 0 ? good / spanSeconds : 0, n == 0 ? 0 : (double)good / n)
        {
            GoodputRule = string.Join(',', rule.Select(b => b.ToString())),
            ExplicitBounds = slos.Bounds.Count > 0,
        };
    }

    /// <summary>The per-request bounds goodput applies: the explicit bounds, else the loosest (highest-percentile)
    /// target of TTFT, TBT and E2E per kind.</summary>
    public static SloBound[] GoodputBounds(SloSet slos)
    {
        ArgumentNullException.ThrowIfNull(slos);
        if (slos.Bounds.Count > 0)
        {
            return [.. slos.Bounds];
        }

        var rule = new List<SloBound>();
        foreach (SloMetric metric in (ReadOnlySpan<SloMetric>)[SloMetric.Ttft, SloMetric.Tbt, SloMetric.E2E])
        {
            foreach (SloKind kind in (ReadOnlySpan<SloKind>)[SloKind.Absolute, SloKind.Slowdown])
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

                if (!double.IsNaN(best))
                {
                    rule.Add(new SloBound(metric, kind, best));
                }
            }
        }

        return [.. rule];
    }

    /// <summary>
    /// One request's TTFT, TBT and E2E slowdowns against its ideal latencies, as <see cref="Evaluate"/> judges them (and
    /// reports draw them): unfinished is +∞; TBT is (E2E − TTFT) / (output − 1) — NaN for one output token — or, under
    /// <see cref="SlowdownReference.Paper"/>, SplitwiseSim's per-request (E2E − TTFT) / output.
    /// </summary>
    public static (double Ttft, double Tbt, double E2E) RequestSlowdowns(SlowdownReference kind, int outputTokens, long ttftNs, long e2eNs, IdealLatency ideal)
    {
        bool finished = ttftNs >= 0 && e2eNs >= 0;
        double idealTbt = ideal.TbtNs(outputTokens);
        double tbt = kind == SlowdownReference.Paper
            ? (finished ? (double)(e2eNs - ttftNs) / Math.Max(1, outputTokens) : double.PositiveInfinity)
            : outputTokens > 1 ? (finished ? (double)(e2eNs - ttftNs) / (outputTokens - 1) : double.PositiveInfinity) : double.NaN;
        return (Slowdown(finished ? ttftNs : double.PositiveInfinity, ideal.TtftNs), Slowdown(tbt, idealTbt),
            Slowdown(finished ? e2eNs : double.PositiveInfinity, ideal.E2ENs));
    }

    private static double Slowdown(double value, double idealValue) =>
        double.IsNaN(value) ? double.NaN
        : double.IsPositiveInfinity(value) ? double.PositiveInfinity
        : idealValue > 0 ? value / idealValue : 1;

    private static double Max(ReadOnlySpan<long> values)
    {
        long max = long.MinValue;
        foreach (long v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    /// <summary>Every gap of every finished request (a slowdown: ÷ its request's ideal TBT) and one +∞ per unfinished request, sorted.</summary>
    private static double[] SortedGaps(SloRequests requests, bool slowdown, double[] idealTbt)
    {
        long[] gapNs = requests.GapNs!;
        int[] start = requests.GapStart!;
        var values = new List<double>(gapNs.Length);
        for (int i = 0; i < requests.Count; i++)
        {
            if (requests.TtftNs[i] < 0 || requests.E2ENs[i] < 0)
            {
                values.Add(double.PositiveInfinity);
                continue;
            }

            for (int g = start[i]; g < start[i + 1]; g++)
            {
                values.Add(slowdown ? Slowdown(gapNs[g], idealTbt[i]) : gapNs[g]);
            }
        }

        double[] sorted = [.. values];
        Array.Sort(sorted);
        return sorted;
    }

    private static double[] SortedFinite(double[] values)
    {
        // NaN (not applicable) is dropped; +inf (unfinished) stays and sorts last.
        double[] kept = Array.FindAll(values, v => !double.IsNaN(v));
        Array.Sort(kept);
        return kept;
    }
}
