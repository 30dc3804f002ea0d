using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Splitwise.Replay;

/// <summary>
/// Waits for absolute <see cref="Stopwatch"/> deadlines on one dedicated thread, precisely and without burning a core.
/// </summary>
/// <remarks>
/// <para>On Linux the thread sleeps with <c>clock_nanosleep</c> (a high-resolution timer, timer slack set to 1 ns for
/// this thread with <c>prctl(PR_SET_TIMERSLACK)</c>) until <see cref="SpinNs"/> before the deadline, then spins.
/// <see cref="Thread.Sleep(int)"/> has millisecond granularity, so a ms sleep must stop ~1.5 ms early and
/// yield/spin the rest — at 2,000 sends/s (one every 0.5 ms) that keeps a core busy, and on a shared machine a yield
/// can lose the core for a whole scheduler slice. Elsewhere, or if the call fails, it falls back to exactly that:
/// millisecond sleeps, then yields, then spins through the last 1.5 ms.</para>
/// <para>Each wait recomputes the remaining time from the absolute deadline, so lateness never accumulates.</para>
/// </remarks>
internal sealed class DeadlineWaiter
{
    /// <summary>Spin through this much of the end of a wait (covers the wake-up latency of a nanosleep).</summary>
    public const long SpinNs = 100_000;

    private const long FallbackSpinNs = 1_500_000;
    private const int PrSetTimerSlack = 29;
    private static readonly double s_ticksPerNs = Stopwatch.Frequency / 1e9;

    private bool _precise;

    /// <summary>Call on the waiting thread before its first wait.</summary>
    public DeadlineWaiter()
    {
        if (OperatingSystem.IsLinux() && Environment.Is64BitProcess) // Timespec below is the 64-bit layout
        {
            try
            {
                _ = NativeMethods.prctl(PrSetTimerSlack, 1, 0, 0, 0);
                var probe = new NativeMethods.Timespec { Seconds = 0, Nanoseconds = 1000 };
                _precise = NativeMethods.clock_nanosleep(NativeMethods.ClockMonotonic, 0, ref probe, IntPtr.Zero) == 0;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _precise = false;
            }
        }
    }

    /// <summary>True when waits use the high-resolution sleep.</summary>
    public bool Precise => _precise;

    /// <summary>Blocks until the <see cref="Stopwatch"/> timestamp <paramref name="deadline"/>; wakes at least every
    /// 50 ms to notice <paramref name="token"/>.</summary>
    public void WaitUntil(long deadline, CancellationToken token)
    {
        long spin = (long)((_precise ? SpinNs : FallbackSpinNs) * s_ticksPerNs);
        while (true)
        {
            long remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0)
            {
                return;
            }

            if (remaining > spin)
            {
                token.ThrowIfCancellationRequested();
                long sleepNs = Math.Min((long)((remaining - spin) / s_ticksPerNs), 50_000_000);
                if (_precise)
                {
                    var ts = new NativeMethods.Timespec { Seconds = 0, Nanoseconds = sleepNs };
                    int rc = NativeMethods.clock_nanosleep(NativeMethods.ClockMonotonic, 0, ref ts, IntPtr.Zero);
                    if (rc != 0 && rc != NativeMethods.Eintr)
                    {
                        _precise = false; // unexpected: fall back for the rest of the run
                    }
                }
                else
                {
                    Thread.Sleep(Math.Max(1, (int)(sleepNs / 1_000_000)));
                }
            }
            else if (!_precise && remaining > spin / 8)
            {
                Thread.Yield();
            }
            else
            {
                Thread.SpinWait(10);
            }
        }
    }

    private static class NativeMethods
    {
        public const int ClockMonotonic = 1;
        public const int Eintr = 4;

        [StructLayout(LayoutKind.Sequential)]
        public struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        /// <summary>Returns 0 or an errno value (it does not set errno).</summary>
        [DllImport("libc", EntryPoint = "clock_nanosleep")]
        public static extern int clock_nanosleep(int clockId, int flags, ref Timespec request, IntPtr remain);

        [DllImport("libc", EntryPoint = "prctl")]
        public static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    }
}
