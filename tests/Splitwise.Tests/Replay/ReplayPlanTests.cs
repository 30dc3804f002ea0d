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
