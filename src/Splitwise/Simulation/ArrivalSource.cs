using Splitwise.Traces;

namespace Splitwise.Simulation;

/// <summary>
/// Streams requests into the simulator in arrival order, a block at a time, so a week-long trace never has to be in
/// memory. Times are nanoseconds from the simulation start (the first arrival is usually 0).
/// </summary>
public abstract class ArrivalSource
{
    /// <summary>Total requests if known up front (for progress), else -1.</summary>
    public virtual long KnownCount => -1;

    /// <summary>
    /// Fills the spans with the next requests; returns how many (0 at the end). Arrivals must never decrease across
    /// calls.
    /// </summary>
    public abstract int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens);

    /// <summary>Arrivals from an in-memory trace, relative to its first arrival (stably sorted if the trace is not).</summary>
    public static ArrivalSource FromTrace(Trace trace) => new TraceArrivals(trace);

    private sealed class TraceArrivals : ArrivalSource
    {
        private readonly Trace _trace;
        private readonly int[]? _order;
        private readonly long _origin;
        private int _next;

        public TraceArrivals(Trace trace)
        {
            ArgumentNullException.ThrowIfNull(trace);
            _trace = trace;
            if (!trace.IsSorted)
            {
                _order = new int[trace.Count];
                for (int i = 0; i < _order.Length; i++)
                {
                    _order[i] = i;
                }

                long[] keys = trace.Arrivals.ToArray();
                Array.Sort(keys, _order);
                // Array.Sort is not stable: restore file order among equal arrivals.
                int start = 0;
                for (int i = 1; i <= keys.Length; i++)
                {
                    if (i == keys.Length || keys[i] != keys[start])
                    {
                        Array.Sort(_order, start, i - start);
                        start = i;
                    }
                }
            }

            long origin = long.MaxValue;
            foreach (long t in trace.Arrivals)
            {
                origin = Math.Min(origin, t);
            }

            _origin = trace.Count == 0 ? 0 : origin;
        }

        public override long KnownCount => _trace.Count;

        public override int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens)
        {
            int n = Math.Min(arrivalNs.Length, _trace.Count - _next);
            ReadOnlySpan<long> arrivals = _trace.Arrivals;
            ReadOnlySpan<int> inputs = _trace.Inputs, outputs = _trace.Outputs;
            for (int i = 0; i < n; i++)
            {
                int row = _order is null ? _next + i : _order[_next + i];
                arrivalNs[i] = (arrivals[row] - _origin) * 100;
                inputTokens[i] = inputs[row];
                outputTokens[i] = outputs[row];
            }

            _next += n;
            return n;
        }
    }
}
