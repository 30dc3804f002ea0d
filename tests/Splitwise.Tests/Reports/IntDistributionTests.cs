using CsCheck;
using Splitwise.Reports;

namespace Splitwise.Tests.Reports;

public class IntDistributionTests
{
    [Fact]
    public void Percentiles_are_nearest_rank_observed_values()
    {
        IntDistribution d = IntDistribution.Of([4, 1, 3, 2]);
        Assert.Equal(2, d.Percentile(50));
        Assert.Equal(4, d.Percentile(90));
        Assert.Equal(1, d.Percentile(0));
        Assert.Equal(4, d.Percentile(100));
        Assert.Equal(2.5, d.Mean);
        Assert.Equal(10, d.Sum);
    }

    [Fact]
    public void Percentile_matches_sorting_for_random_data()
    {
        Gen.Int[0, 50].Array[1, 300].Select(Gen.Double[0, 100], (a, p) => (a, p)).Sample(t =>
        {
            (int[] data, double p) = t;
            int[] sorted = [.. data.Order()];
            int rank = Math.Max(1, (int)Math.Ceiling((decimal)p / 100m * sorted.Length));
            Assert.Equal(sorted[rank - 1], IntDistribution.Of(data).Percentile(p));
        }, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Mid_ranks_share_ties()
    {
        IntDistribution d = IntDistribution.Of([5, 7, 7, 9]);
        Assert.Equal([1.0, 2.5, 4.0], d.MidRanks());
    }

    [Fact]
    public void Rejects_percent_outside_0_to_100() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => IntDistribution.Of([1]).Percentile(101));
}
