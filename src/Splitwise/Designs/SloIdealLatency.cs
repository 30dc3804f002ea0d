using System.Collections.Concurrent;
using Splitwise.Hardware;
using Splitwise.Performance;

namespace Splitwise.Designs;

/// <summary>A request's latencies when it runs alone on an idle reference machine, in nanoseconds.</summary>
/// <param name="TtftNs">The prompt iteration alone.</param>
/// <param name="E2ENs">The prompt iteration plus output − 1 decode iterations of a batch of one.</param>
public readonly record struct IdealLatency(long TtftNs, long E2ENs)
{
    /// <summary>The ideal time between tokens when the reference defines it directly (the paper's notebooks);
    /// −1 derives it from TTFT and E2E.</summary>
    public long PerTokenNs { get; init; } = -1;

    /// <summary>Mean time between tokens alone: <see cref="PerTokenNs"/> when set, else (E2E − TTFT) / (output − 1);
    /// 0 for one output token.</summary>
    public double TbtNs(int outputTokens) =>
        PerTokenNs >= 0 ? PerTokenNs : outputTokens > 1 ? (double)(E2ENs - TtftNs) / (outputTokens - 1) : 0;
}

/// <summary>The reference for slowdown SLOs: the latency of a request alone on an idle machine (the paper: DGX-A100, TP8).</summary>
public interface ISloReference
{
    IdealLatency For(int promptTokens, int outputTokens);
}

/// <summary>Which idle-machine latencies slowdown SLOs divide by.</summary>
public enum SlowdownReference
{
    /// <summary>
    /// The paper's definition, exactly as SplitwiseSim's notebooks compute it (<c>notebooks/perf_model.py</c>
    /// <c>add_baseline_perf</c>, <c>plots.ipynb</c>, <c>utils.py</c> <c>find_within_slo</c>): ideal TTFT is the
    /// prompt curve at x = prompt size, ideal TBT the token curve <em>also at x = prompt size</em>, ideal E2E =
    /// TTFT + TBT × (output − 1); the TBT slowdown divides SplitwiseSim's per-request TBT, (E2E − TTFT) / output; a
    /// percentile passes when it is strictly below its limit. <c>--slo paper</c>.
    /// </summary>
    Paper,

    /// <summary>
    /// The request simulated alone on the idle reference machine, token by token at its own context (what an idle
    /// cluster of reference machines does, so its slowdowns are exactly 1); TBT is (E2E − TTFT) / (output − 1); a
    /// percentile passes at or below its limit. <c>--slo paper-lone</c>.
    /// </summary>
    Lone,
}

/// <summary>The paper's ideal latencies (<see cref="SlowdownReference.Paper"/>) from a performance model of the
/// reference machine. With SplitwiseSim's profile model, "the token curve at x" is a decode-only iteration of x
/// requests (the profile's decode rows are indexed by batch tokens); any other model has no such curve, so its
/// ideal TBT is one decode iteration of the request alone at a context of its prompt.</summary>
/// <remarks>Memoised per prompt size. Thread-safe.</remarks>
public sealed class NotebookSloReference : ISloReference
{
    private readonly IPerformanceModel _model;
    private readonly bool _profileCurve;
    private readonly ConcurrentDictionary<int, (long Ttft, long Tbt)> _cache = new();

    public NotebookSloReference(IPerformanceModel referenceInstance)
    {
        ArgumentNullException.ThrowIfNull(referenceInstance);
        _model = referenceInstance;
        _profileCurve = referenceInstance is ProfilePerformanceModel;
    }

    public IdealLatency For(int promptTokens, int outputTokens)
    {
        (long ttft, long tbt) = _cache.GetOrAdd(promptTokens, p => (
            _model.IterationNanoseconds(new BatchShape(p, 1, 0, 0)),
            _profileCurve ? _model.IterationNanoseconds(new BatchShape(0, 0, p, p)) : _model.IterationNanoseconds(new BatchShape(0, 0, 1, p))));
        return new IdealLatency(ttft, ttft + (tbt * Math.Max(0, outputTokens - 1))) { PerTokenNs = tbt };
    }
}

/// <summary>Builds the one reference every command judges slowdown SLOs against.</summary>
public static class SloReferences
{
    /// <summary>
    /// The reference for <paramref name="slos"/> (null when no SLO is a slowdown): a DGX-A100 instance (TP8) running
    /// <paramref name="model"/> under <paramref name="performance"/>, as <see cref="SloSet.Reference"/> says, on a clock
    /// <paramref name="speedup"/> times faster (an emulated server's speed-up; 1 otherwise).
    /// </summary>
    public static ISloReference? Create(SloSet slos, string model, PerformanceModelKind performance, Catalog catalog, ProfileTable? profile, double speedup = 1)
    {
        ArgumentNullException.ThrowIfNull(slos);
        ArgumentNullException.ThrowIfNull(catalog);
        if (!slos.NeedsIdealLatency)
        {
            return null;
        }

        if (!(speedup > 0))
        {
            throw SplitwiseException.Usage($"--server-speedup {speedup}: must be positive");
        }

        MachineSpec a100 = catalog.Machine("dgx-a100");
        IPerformanceModel instance = PerformanceModels.Create(performance, catalog.Model(model), a100.Gpu, 8, a100, profile);
        ISloReference reference = slos.Reference == SlowdownReference.Paper ? new NotebookSloReference(instance) : new PerformanceModelSloReference(instance);
        return speedup == 1 ? reference : new CompressedReference(reference, speedup);
    }

    /// <summary>A reference whose latencies run <c>speedup</c> times faster.</summary>
    private sealed class CompressedReference(ISloReference inner, double speedup) : ISloReference
    {
        public IdealLatency For(int promptTokens, int outputTokens)
        {
            IdealLatency ideal = inner.For(promptTokens, outputTokens);
            return new IdealLatency((long)Math.Round(ideal.TtftNs / speedup), (long)Math.Round(ideal.E2ENs / speedup))
            {
                PerTokenNs = ideal.PerTokenNs < 0 ? -1 : (long)Math.Round(ideal.PerTokenNs / speedup),
            };
        }
    }
}

/// <summary>
/// Ideal latencies from a performance model of the reference instance: TTFT is one prompt iteration of the request's
/// prompt; each later token is one decode iteration of a batch of one at its current context length. This is exactly
/// what an idle simulated instance does with a lone request, so an idle cluster of reference machines has slowdown 1.
/// </summary>
/// <remarks>Memoised per (prompt, output) pair — traces repeat sizes, so a week-long trace costs little more than an
/// hour. Thread-safe.</remarks>
public sealed class PerformanceModelSloReference : ISloReference
{
    private readonly IPerformanceModel _model;
    private readonly ConcurrentDictionary<long, IdealLatency> _cache = new();

    public PerformanceModelSloReference(IPerformanceModel referenceInstance)
    {
        ArgumentNullException.ThrowIfNull(referenceInstance);
        _model = referenceInstance;
    }

    public IdealLatency For(int promptTokens, int outputTokens)
    {
        long key = ((long)promptTokens << 32) | (uint)outputTokens;
        return _cache.TryGetValue(key, out IdealLatency hit) ? hit : _cache.GetOrAdd(key, Compute(promptTokens, outputTokens));
    }

    private IdealLatency Compute(int promptTokens, int outputTokens)
    {
        long ttft = _model.IterationNanoseconds(new BatchShape(promptTokens, 1, 0, 0));
        long e2e = ttft;
        for (int k = 1; k < outputTokens; k++)
        {
            e2e += _model.IterationNanoseconds(new BatchShape(0, 0, 1, promptTokens + k));
        }

        return new IdealLatency(ttft, e2e);
    }
}
