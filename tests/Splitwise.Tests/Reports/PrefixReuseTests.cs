using Splitwise.Reports;

namespace Splitwise.Tests.Reports;

/// <summary>Prefix reuse by hand: seen-before blocks, the prefix-structured infinite cache, reuse distances.</summary>
public class PrefixReuseTests
{
    [Fact]
    public void A_block_counts_as_a_hit_only_when_all_its_predecessors_matched()
    {
        var a = new PrefixReuseAccumulator();
        // r0 [1,2]; r1 [1,3]: hits block 1; r2 [1,2,4]: hits 1,2; r3 [5,2]: 2 seen before but its predecessor missed;
        // r4 [1,1]: a repeat within the request is not "before" the request itself (1 was seen in r2: first block hits).
        long[] ticks = [0, 10_000_000, 20_000_000, 30_000_000, 50_000_000];
        int[] inputs = [1000, 700, 1300, 600, 1024];
        int[] offsets = [0, 2, 4, 7, 9, 11];
        long[] ids = [1, 2, 1, 3, 1, 2, 4, 5, 2, 1, 1];
        a.Add(ticks, inputs, offsets, ids);
        PrefixReuse p = a.Finish();
        Assert.Equal(5, p.Requests);
        Assert.Equal(11, p.Blocks);
        Assert.Equal(5, p.DistinctBlocks);
        Assert.Equal(5, p.BlocksSeenBefore); // r1: 1; r2: 1, 2; r3: 2; r4: 1 (the second 1 is from r4 itself)
        Assert.Equal(512 + 1024 + 0 + 512, p.HitTokens);
        Assert.Equal(3, p.HitRequests);
        Assert.Equal(1000 + 700 + 1300 + 600 + 1024, p.InputTokens);
        // Distances in requests: 1 (r0→r1), 1 (r1→r2), 2 (r0→r2 for block 2), 1 (r2→r3), 2 (r2→r4).
        Assert.Equal(5, p.DistanceRequests.Count);
        Assert.Equal(1, p.DistanceRequests.P50);
        Assert.Equal(2, p.DistanceRequests.Max);
        Assert.Equal(7.0 / 5, p.DistanceRequests.Mean, 12);
        // In seconds: 1, 1, 2, 1, 3 (percentiles from log buckets, within 0.8 %).
        Assert.InRange(p.DistanceSeconds.P50, 0.992, 1.008);
        Assert.InRange(p.DistanceSeconds.P99, 3 * 0.992, 3.0);
        Assert.Equal(3, p.DistanceSeconds.Max, 12);
        Assert.Equal(8.0 / 5, p.DistanceSeconds.Mean, 12);
    }

    [Fact]
    public void Hit_tokens_never_exceed_the_input_and_chains_may_be_empty()
    {
        var a = new PrefixReuseAccumulator();
        a.Add([0, 1, 2], [100, 100, 0], [0, 1, 2, 2], [7, 7]);
        PrefixReuse p = a.Finish();
        Assert.Equal(100, p.HitTokens); // a whole repeated (partial) block: its 100 tokens, not 512
        Assert.Equal(1, p.HitRequests);
        Assert.Equal(1.0 / 3, p.RequestHitRate, 12);
    }

    [Fact]
    public void Reuse_distance_percentiles_are_within_the_bucket_bound()
    {
        var a = new PrefixReuseAccumulator();
        const int N = 10_000;
        long[] ticks = new long[N];
        int[] offsets = new int[N + 1];
        long[] ids = new long[N];
        for (int i = 0; i < N; i++)
        {
            // Block 0 in every request, request i at i²·1000 ticks: the gaps grow linearly.
            ticks[i] = (long)i * i * 1000;
            offsets[i + 1] = i + 1;
        }

        a.Add(ticks, new int[N], offsets, ids);
        ReuseDistance d = a.Finish().DistanceSeconds;
        // Gaps (i² − (i−1)²)·1000 = (2i − 1)·1000 ticks for i = 1..N−1: the median gap is i = 5000 → 9,999,000 ticks.
        double exactP50 = 9_999_000 / 1e7, exactMax = ((2.0 * (N - 1)) - 1) * 1000 / 1e7;
        Assert.InRange(d.P50, exactP50 * 0.992, exactP50 * 1.008);
        Assert.Equal(exactMax, d.Max, 12);
    }
}
