using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

public class MetricAccumulatorTests
{
    [Fact]
    public void Exact_mode_matches_numpy_percentiles_and_population_std()
    {
        var m = new MetricAccumulator();
        foreach (double v in new double[] { 4, 1, 3, 2, 10 })
        {
            m.Add(v);
        }

        MetricStats s = m.Compute();
        Assert.True(s.Exact);
        Assert.Equal(4, s.Mean);
        Assert.Equal(Math.Sqrt(10), s.Std, 12);  // np.std([1,2,3,4,10]) = sqrt(10)
        Assert.Equal(3, s.P50);
        Assert.Equal(7.6, s.P90, 12);             // np.percentile: 4 + 0.6 × (10 − 4)
        Assert.Equal(9.76, s.P99, 12);            // 4 + 0.96 × 6
        Assert.Equal(1, s.Min);
        Assert.Equal(10, s.Max);
    }

    [Fact]
    public void Histogram_mode_keeps_percentiles_within_the_stated_error()
    {
        var rng = new Random(11);
        double[] values = new double[300_000];
        var exact = new MetricAccumulator(exactLimit: long.MaxValue);
        var bounded = new MetricAccumulator(exactLimit: 10_000);
        for (int i = 0; i < values.Length; i++)
        {
            // Log-normal latencies around 50 ms.
            values[i] = Math.Exp(17.7 + (rng.NextDouble() * 3));
            exact.Add(values[i]);
            bounded.Add(values[i]);
        }

        MetricStats e = exact.Compute(), b = bounded.Compute();
        Assert.True(e.Exact);
        Assert.False(b.Exact);
        Assert.Equal(1, b.Mean / e.Mean, 12);
        Assert.Equal(e.Max, b.Max);
        // The histogram reports the bucket midpoint of the order statistic below the rank: within 1/256 of it, plus the
        // gap to its neighbour that linear interpolation would add (tiny at 300,000 samples).
        foreach ((double exactP, double boundedP) in new[] { (e.P50, b.P50), (e.P90, b.P90), (e.P99, b.P99), (e.P999, b.P999) })
        {
            Assert.InRange(Math.Abs(boundedP - exactP) / exactP, 0, MetricAccumulator.HistogramRelativeError + 0.001);
        }
    }

    [Fact]
    public void Buckets_cover_the_range_and_midpoints_stay_inside()
    {
        foreach (long v in new long[] { 0, 1, 255, 256, 257, 1000, 123_456_789, 1L << 40, long.MaxValue / 2 })
        {
            int bucket = MetricAccumulator.BucketOf(v);
            double mid = MetricAccumulator.BucketMid(bucket);
            Assert.InRange(Math.Abs(mid - v) / Math.Max(v, 1), 0, 1.0 / 128);
        }
    }
}
