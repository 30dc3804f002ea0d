using System.Collections.Concurrent;
using Splitwise.Performance;

namespace Splitwise.Designs;

/// <summary>A request's latencies when it runs alone on an idle reference machine, in nanoseconds.</summary>
/// <param name="TtftNs">The prompt iteration alone.</param>
/// <param name="E2ENs">The prompt iteration plus output − 1 decode iterations of a batch of one.</param>
public readonly record struct IdealLatency(long TtftNs, long E2ENs)
{
    /// <summary>Mean time between tokens alone: (E2E − TTFT) / (output − 1); 0 for one output token.</summary>
    public double TbtNs(int outputTokens) => outputTokens > 1 ? (double)(E2ENs - TtftNs) / (outputTokens - 1) : 0;
}

/// <summary>The reference for slowdown SLOs: the latency of a request alone on an idle machine (the paper: DGX-A100, TP8).</summary>
public interface ISloReference
{
    IdealLatency For(int promptTokens, int outputTokens);
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
