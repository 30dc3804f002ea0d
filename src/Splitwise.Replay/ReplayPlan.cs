using Splitwise.Traces;

namespace Splitwise.Replay;

/// <summary>
/// The send schedule, computed up front (open loop): which trace rows are sent, in arrival order, at what offset from
/// the start of the run, with what input and output lengths. Struct of arrays.
/// </summary>
public sealed class ReplayPlan
{
    private ReplayPlan(int[] traceIndex, long[] offsetNs, int[] inputs, int[] outputs)
    {
        TraceIndex = traceIndex;
        OffsetNs = offsetNs;
        Inputs = inputs;
        Outputs = outputs;
    }

    public int[] TraceIndex { get; }

    /// <summary>Scheduled send time from the start of the run, nanoseconds (trace time ÷ speed-up).</summary>
    public long[] OffsetNs { get; }

    public int[] Inputs { get; }

    public int[] Outputs { get; }

    public int Count => TraceIndex.Length;

    /// <summary>Wall-clock length of the schedule (last send offset).</summary>
    public TimeSpan Span => Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(OffsetNs[^1] / 100);

    /// <summary>
    /// Selects the requests of <paramref name="trace"/> arriving within <paramref name="duration"/> of the first
    /// arrival (trace time), at most <paramref name="count"/> of them, and time-compresses by <paramref name="speedup"/>.
    /// </summary>
    public static ReplayPlan Create(Trace trace, double speedup, TimeSpan? duration = null, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(speedup);
        int n = trace.Count;
        int[] order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        if (!trace.IsSorted)
        {
            long[] keys = trace.Arrivals.ToArray();
            Array.Sort(keys, order); // introsort is not stable; break ties by index below
            for (int i = 1; i < n; i++)
            {
                int j = i;
                while (j > 0 && keys[j] == keys[j - 1] && order[j] < order[j - 1])
                {
                    (order[j], order[j - 1]) = (order[j - 1], order[j]);
                    j--;
                }
            }
        }

        ReadOnlySpan<long> arrivals = trace.Arrivals;
        long first = n > 0 ? arrivals[order[0]] : 0;
        long limitTicks = duration is { } d ? d.Ticks : long.MaxValue;
        int take = 0;
        int max = count ?? int.MaxValue;
        while (take < n && take < max && arrivals[order[take]] - first < limitTicks)
        {
            take++;
        }

        var traceIndex = new int[take];
        var offsets = new long[take];
        var inputs = new int[take];
        var outputs = new int[take];
        for (int i = 0; i < take; i++)
        {
            int row = order[i];
            traceIndex[i] = row;
            offsets[i] = (long)Math.Round((arrivals[row] - first) * 100.0 / speedup);
            inputs[i] = trace.InputTokens[row];
            outputs[i] = trace.OutputTokens[row];
        }

        return new ReplayPlan(traceIndex, offsets, inputs, outputs);
    }
}
