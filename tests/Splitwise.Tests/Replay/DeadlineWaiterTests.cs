using System.Diagnostics;
using Splitwise.Replay;

namespace Splitwise.Tests.Replay;

public class DeadlineWaiterTests
{
    [Fact]
    public void A_wait_never_returns_before_its_absolute_deadline()
    {
        var waiter = new DeadlineWaiter();
        long start = Stopwatch.GetTimestamp();
        foreach (double ms in (double[])[0.05, 0.3, 1.2, 2.5, 2.5, 0.0])
        {
            long deadline = start + (long)(ms * Stopwatch.Frequency / 1000);
            waiter.WaitUntil(deadline, TestContext.Current.CancellationToken);
            Assert.True(Stopwatch.GetTimestamp() >= deadline);
        }

        Assert.Equal(OperatingSystem.IsLinux() && Environment.Is64BitProcess, waiter.Precise);
    }

    [Fact]
    public void A_long_wait_notices_cancellation()
    {
        var waiter = new DeadlineWaiter();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        long farAway = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        Assert.Throws<OperationCanceledException>(() => waiter.WaitUntil(farAway, cts.Token));
    }
}
