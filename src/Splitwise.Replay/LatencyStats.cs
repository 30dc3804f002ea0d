using Splitwise.Common;

namespace Splitwise.Replay;

/// <summary>Summary statistics of one latency distribution, in milliseconds.</summary>
/// <remarks>
/// Percentiles are <see cref="Percentiles.Linear"/> (the SLO evaluator's): linear between the closest ranks of the
/// sorted integer-nanosecond samples (NumPy's default, as SplitwiseSim reports), exact for the data.
/// </remarks>
public sealed record LatencyStats(int Count, double Mean, double Std, double Min, double P50, double P90, double P95, double P99, double? P999, double Max)
{
    public static LatencyStats Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, null, 0);

    /// <summary>Like <see cref="FromNanoseconds"/>, but null for no samples: an empty distribution has no statistics,
    /// and reporting zeros for it would read as a measurement.</summary>
    public static LatencyStats? OrNull(Span<long> nanoseconds) => nanoseconds.IsEmpty ? null : FromNanoseconds(nanoseconds);

    /// <summary>Sorts <paramref name="nanoseconds"/> in place and summarises it.</summary>
    public static LatencyStats FromNanoseconds(Span<long> nanoseconds)
    {
        if (nanoseconds.IsEmpty)
        {
            return Empty;
        }

        nanoseconds.Sort();
        double sum = 0;
        foreach (long v in nanoseconds)
        {
            sum += v;
        }

        double mean = sum / nanoseconds.Length;
        double sq = 0;
        foreach (long v in nanoseconds)
        {
            double d = v - mean;
            sq += d * d;
        }

        double std = nanoseconds.Length > 1 ? Math.Sqrt(sq / (nanoseconds.Length - 1)) : 0;
        const double Ms = 1e6;
        return new LatencyStats(
            nanoseconds.Length,
            mean / Ms,
            std / Ms,
            nanoseconds[0] / Ms,
            Percentiles.Linear<long>(nanoseconds, 50) / Ms,
            Percentiles.Linear<long>(nanoseconds, 90) / Ms,
            Percentiles.Linear<long>(nanoseconds, 95) / Ms,
            Percentiles.Linear<long>(nanoseconds, 99) / Ms,
            nanoseconds.Length >= 1000 ? Percentiles.Linear<long>(nanoseconds, 99.9) / Ms : null,
            nanoseconds[^1] / Ms);
    }

    /// <summary>The value of a named percentile (50, 90, 95, 99, 99.9), in ms; NaN when not available.</summary>
    public double At(double percentile) => percentile switch
    {
        50 => P50,
        90 => P90,
        95 => P95,
        99 => P99,
        99.9 => P999 ?? double.NaN,
        _ => double.NaN,
    };
}
