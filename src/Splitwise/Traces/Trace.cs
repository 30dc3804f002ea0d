namespace Splitwise.Traces;

/// <summary>
/// A request trace held in memory as a struct of arrays: arrival time from the trace start, input (context) tokens and
/// output (generated) tokens, one index per request.
/// </summary>
/// <remarks>
/// Arrival times are integer ticks of 100 ns (<see cref="TimeSpan.TicksPerSecond"/> per second) relative to
/// <see cref="Start"/>, the absolute instant of tick 0 — the resolution of the Azure 2023 timestamps, so a trace
/// round-trips exactly. A trace read from a file is not necessarily sorted; <see cref="IsSorted"/> says whether it is.
/// </remarks>
public sealed class Trace
{
    public Trace(string name, DateTimeOffset start, long[] arrivalTicks, int[] inputTokens, int[] outputTokens, int count)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(arrivalTicks);
        ArgumentNullException.ThrowIfNull(inputTokens);
        ArgumentNullException.ThrowIfNull(outputTokens);
        if ((uint)count > (uint)arrivalTicks.Length || count > inputTokens.Length || count > outputTokens.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "count exceeds the column arrays");
        }

        Name = name;
        Start = start;
        ArrivalTicks = arrivalTicks;
        InputTokens = inputTokens;
        OutputTokens = outputTokens;
        Count = count;
    }

    /// <summary>A display name: the named trace (e.g. <c>conv-2023</c>) or the file name.</summary>
    public string Name { get; }

    /// <summary>The absolute instant of arrival tick 0 (UTC unless the file said otherwise).</summary>
    public DateTimeOffset Start { get; }

    /// <summary>Arrival of each request in 100 ns ticks after <see cref="Start"/>; only the first <see cref="Count"/> are used.</summary>
    public long[] ArrivalTicks { get; }

    /// <summary>Input (prompt, context) tokens of each request.</summary>
    public int[] InputTokens { get; }

    /// <summary>Output (generated) tokens of each request.</summary>
    public int[] OutputTokens { get; }

    /// <summary>Number of requests.</summary>
    public int Count { get; }

    public ReadOnlySpan<long> Arrivals => ArrivalTicks.AsSpan(0, Count);

    public ReadOnlySpan<int> Inputs => InputTokens.AsSpan(0, Count);

    public ReadOnlySpan<int> Outputs => OutputTokens.AsSpan(0, Count);

    /// <summary>Time from the first to the last arrival, in ticks (0 for fewer than two requests).</summary>
    public long SpanTicks
    {
        get
        {
            if (Count < 2)
            {
                return 0;
            }

            long min = long.MaxValue, max = long.MinValue;
            foreach (long t in Arrivals)
            {
                min = Math.Min(min, t);
                max = Math.Max(max, t);
            }

            return max - min;
        }
    }

    /// <summary>True when arrivals never decrease.</summary>
    public bool IsSorted
    {
        get
        {
            ReadOnlySpan<long> a = Arrivals;
            for (int i = 1; i < a.Length; i++)
            {
                if (a[i] < a[i - 1])
                {
                    return false;
                }
            }

            return true;
        }
    }
}
