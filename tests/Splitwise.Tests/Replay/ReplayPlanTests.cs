using Splitwise.Replay;
using Splitwise.Traces;

namespace Splitwise.Tests.Replay;

public class ReplayPlanTests
{
    [Fact]
    public void Duration_is_trace_time_and_speedup_compresses_offsets()
    {
        Trace trace = ReplayTestData.Uniform(100, 1000); // one per second
        ReplayPlan plan = ReplayPlan.Create(trace, speedup: 4, duration: TimeSpan.FromSeconds(10));
        Assert.Equal(10, plan.Count);
        Assert.Equal(250_000_000, plan.OffsetNs[1]);
        Assert.Equal(TimeSpan.FromSeconds(2.25), plan.Span);
    }

    [Fact]
    public void Count_caps_and_unsorted_traces_are_sent_in_arrival_order_with_ties_by_row()
    {
        var trace = new Trace("t", DateTimeOffset.UnixEpoch, [30, 10, 20, 10], [1, 2, 3, 4], [5, 6, 7, 8], 4);
        ReplayPlan plan = ReplayPlan.Create(trace, 1, count: 3);
        Assert.Equal([1, 3, 2], plan.TraceIndex);
        Assert.Equal([0L, 0L, 1000L], plan.OffsetNs);
        Assert.Equal([2, 4, 3], plan.Inputs);
    }
}

public class SloSetTests
{
    [Fact]
    public void Parses_metrics_percentiles_and_durations()
    {
        SloSet slo = SloSet.Parse("ttft_p99=2s, tbt_p99=200ms,e2e_p50=1.5m,itl_p99.9=50ms");
        Assert.Equal(4, slo.Objectives.Count);
        Assert.Equal(new Splitwise.Replay.Slo(SloMetric.Ttft, 99, 2_000_000_000), slo.Objectives[0]);
        Assert.Equal(200_000_000, slo.BoundNanoseconds(SloMetric.Tbt));
        Assert.Equal(90_000_000_000, slo.BoundNanoseconds(SloMetric.E2e));
        Assert.Equal("itl_p99.9", slo.Objectives[3].Key);
    }

    [Theory]
    [InlineData("ttft=2s")]
    [InlineData("speed_p99=2s")]
    [InlineData("ttft_p200=2s")]
    [InlineData("ttft_p99=fast")]
    [InlineData("ttft_p99=-1s")]
    public void Bad_objectives_are_usage_errors(string text)
    {
        SplitwiseException ex = Assert.Throws<SplitwiseException>(() => SloSet.Parse(text));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }

    [Fact]
    public void Percentiles_interpolate_linearly_like_numpy()
    {
        long[] data = [1, 2, 3, 4];
        Assert.Equal(2.5, LatencyStats.Percentile(data, 50));
        Assert.Equal(3.97, LatencyStats.Percentile(data, 99), 6);
        LatencyStats s = LatencyStats.FromNanoseconds(new long[] { 4_000_000, 1_000_000, 3_000_000, 2_000_000 });
        Assert.Equal(2.5, s.P50);
        Assert.Equal(1, s.Min);
        Assert.Null(s.P999);
    }
}
