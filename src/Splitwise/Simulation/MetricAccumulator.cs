using System.Numerics;
using Splitwise.Common;

namespace Splitwise.Simulation;

/// <summary>Summary statistics of one metric (values in the metric's unit, nanoseconds for times).</summary>
/// <remarks><c>Exact</c> is true when percentiles are exact (NumPy's linear interpolation on all values); false when
/// they come from the log-bucketed histogram (relative error ≤ <see cref="MetricAccumulator.HistogramRelativeError"/>).</remarks>
public sealed record MetricStats(
    long Count, double Mean, double Std, double Min, double Max,
    double Median, double P50, double P90, double P95, double P99, double P999, bool Exact)
{
    public static MetricStats Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN,
        double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, true);

    /// <summary>Geometric mean (SplitwiseSim's <c>geomean</c>, <c>scipy.stats.gmean</c>): 0 when any value is 0.</summary>
    public double Geomean { get; init; } = double.NaN;
}

/// <summary>
/// Collects one metric's values. Keeps every value (exact percentiles, as NumPy's <c>np.percentile</c>) up to
/// <see cref="ExactLimit"/> values, then folds them into a log-bucketed histogram of fixed size (128 sub-buckets per
/// power of two; values below 256 are kept exactly), so memory stays bounded for a week of traffic. Mean, standard
/// deviation (population, as <c>np.std</c>), min and max are always exact.
/// </summary>
public sealed class MetricAccumulator
{
    /// <summary>Upper bound of the relative error of a histogram percentile: half a sub-bucket, 1/256.</summary>
    public const double HistogramRelativeError = 1.0 / 256;

    private const int SubBits = 7;
    private const int Linear = 256;
    private const int Buckets = Linear + ((63 - 8 + 1) * (1 << SubBits));

    private double[]? _values = new double[1024];
    private long[]? _histogram;
    private long _count;
    private long _sortedCount = -1; // _values[0.._count) is sorted when this equals _count
    private double _mean, _m2, _min = double.PositiveInfinity, _max = double.NegativeInfinity;
    private double _logSum; // Σ ln(value) for the geometric mean (−∞ once a value is 0)

    public MetricAccumulator(long exactLimit = 1_048_576) => ExactLimit = exactLimit;

    /// <summary>Values kept exactly before switching to the histogram.</summary>
    public long ExactLimit { get; }

    public long Count => _count;

    public bool IsExact => _histogram is null;

    /// <summary>Adds a non-negative value (negative values are clamped to 0 in the histogram).</summary>
    public void Add(double value)
    {
        _count++;
        _logSum += Math.Log(value);
        double delta = value - _mean;
        _mean += delta / _count;
        _m2 += delta * (value - _mean);
        if (value < _min)
        {
            _min = value;
        }

        if (value > _max)
        {
            _max = value;
        }

        if (_histogram is not null)
        {
            _histogram[BucketOf(value)]++;
            return;
        }

        double[] values = _values!;
        long n = _count - 1;
        if (n == values.Length)
        {
            if (_count > ExactLimit)
            {
                SwitchToHistogram(values, (int)n);
                _histogram![BucketOf(value)]++;
                return;
            }

            Array.Resize(ref _values, (int)Math.Min((long)values.Length * 2, Array.MaxLength));
            values = _values!;
        }

        values[n] = value;
    }

    private void SwitchToHistogram(double[] values, int n)
    {
        _histogram = new long[Buckets];
        for (int i = 0; i < n; i++)
        {
            _histogram[BucketOf(values[i])]++;
        }

        _values = null;
    }

    internal static int BucketOf(double value)
    {
        long v = value <= 0 ? 0 : value >= long.MaxValue ? long.MaxValue : (long)value;
        if (v < Linear)
        {
            return (int)v;
        }

        int e = 63 - BitOperations.LeadingZeroCount((ulong)v);
        int sub = (int)(v >> (e - SubBits)) - (1 << SubBits);
        return Linear + ((e - 8) * (1 << SubBits)) + sub;
    }

    internal static double BucketMid(int bucket)
    {
        if (bucket < Linear)
        {
            return bucket;
        }

        int b = bucket - Linear;
        int e = (b >> SubBits) + 8;
        int sub = b & ((1 << SubBits) - 1);
        double width = Math.Pow(2, e - SubBits);
        return (((1 << SubBits) + sub) * width) + (width / 2);
    }

    public MetricStats Compute()
    {
        if (_count == 0)
        {
            return MetricStats.Empty;
        }

        double std = Math.Sqrt(_m2 / _count);
        if (_histogram is null)
        {
            ReadOnlySpan<double> sorted = Sorted();
            // Exact mean and std in two passes, as NumPy (the streaming ones drift in the last digits).
            double sum = 0;
            foreach (double v in sorted)
            {
                sum += v;
            }

            double mean = sum / sorted.Length, ss = 0;
            foreach (double v in sorted)
            {
                ss += (v - mean) * (v - mean);
            }

            std = Math.Sqrt(ss / sorted.Length);
            double p50 = Percentile(sorted, 50);
            return new MetricStats(_count, mean, std, sorted[0], sorted[^1], p50, p50, Percentile(sorted, 90),
                Percentile(sorted, 95), Percentile(sorted, 99), Percentile(sorted, 99.9), true)
            {
                Geomean = Geomean(),
            };
        }

        double h50 = HistogramPercentile(50);
        return new MetricStats(_count, _mean, std, _min, _max, h50, h50, HistogramPercentile(90), HistogramPercentile(95),
            HistogramPercentile(99), HistogramPercentile(99.9), false)
        {
            Geomean = Geomean(),
        };
    }

    /// <summary>The kept values in ascending order, sorted in place once (until more are added), so the summary's
    /// statistics and the report's quantiles share one sort and no copy.</summary>
    private ReadOnlySpan<double> Sorted()
    {
        Span<double> values = _values.AsSpan(0, (int)_count);
        if (_sortedCount != _count)
        {
            RadixSort.Sort(values);
            _sortedCount = _count;
        }

        return values;
    }

    private double Geomean() => _min < 0 ? double.NaN : Math.Exp(_logSum / _count);

    /// <summary>
    /// The values at the given percentiles (0–100, ascending): exact (NumPy's linear interpolation) while every value
    /// is kept, else from the histogram (relative error ≤ <see cref="HistogramRelativeError"/>). Empty when there are
    /// no values. For CDF figures: O(n log n) on the kept values, O(buckets) on the histogram.
    /// </summary>
    public double[] Quantiles(ReadOnlySpan<double> percents)
    {
        if (_count == 0)
        {
            return [];
        }

        double[] result = new double[percents.Length];
        if (_histogram is null)
        {
            ReadOnlySpan<double> sorted = Sorted();
            for (int i = 0; i < percents.Length; i++)
            {
                result[i] = Percentile(sorted, percents[i]);
            }

            return result;
        }

        for (int i = 0; i < percents.Length; i++)
        {
            result[i] = HistogramPercentile(percents[i]);
        }

        return result;
    }

    /// <summary>NumPy's default (linear) percentile of sorted values.</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double percent)
    {
        double rank = percent / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        double frac = rank - lo;
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * frac);
    }

    private double HistogramPercentile(double percent)
    {
        long target = (long)Math.Floor(percent / 100 * (_count - 1));
        long seen = 0;
        long[] h = _histogram!;
        for (int i = 0; i < h.Length; i++)
        {
            seen += h[i];
            if (seen > target)
            {
                return Math.Clamp(BucketMid(i), _min, _max);
            }
        }

        return _max;
    }
}
