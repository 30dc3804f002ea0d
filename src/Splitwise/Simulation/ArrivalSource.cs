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

    /// <summary>
    /// Arrivals streamed from trace chunks (e.g. <see cref="TraceReader.ReadChunks(string, TraceReadOptions?)"/>), relative
    /// to the first row; memory stays at one chunk. The rows must be in arrival order (the engine reports the first row
    /// that goes back in time).
    /// </summary>
    public static ArrivalSource FromChunks(IEnumerable<TraceChunk> chunks, long knownCount = -1) => new ChunkArrivals(chunks, knownCount);

    private sealed class ChunkArrivals(IEnumerable<TraceChunk> chunks, long knownCount) : ArrivalSource, IDisposable
    {
        private IEnumerator<TraceChunk>? _enumerator;
        private TraceChunk? _chunk;
        private int _next;
        private long _origin = long.MinValue;
        private bool _done;

        public override long KnownCount => knownCount;

        public override int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens)
        {
            int written = 0;
            while (written < arrivalNs.Length && !_done)
            {
                if (_chunk is null || _next == _chunk.Count)
                {
                    _enumerator ??= chunks.GetEnumerator();
                    if (!_enumerator.MoveNext())
                    {
                        _done = true;
                        _enumerator.Dispose();
                        break;
                    }

                    _chunk = _enumerator.Current;
                    _next = 0;
                    continue;
                }

                if (_origin == long.MinValue)
                {
                    _origin = _chunk.ArrivalTicks[0];
                }

                int n = Math.Min(arrivalNs.Length - written, _chunk.Count - _next);
                ReadOnlySpan<long> ticks = _chunk.Arrivals.Slice(_next, n);
                Span<long> dest = arrivalNs.Slice(written, n);
                long origin = _origin;
                for (int i = 0; i < ticks.Length; i++)
                {
                    dest[i] = (ticks[i] - origin) * 100;
                }

                _chunk.Inputs.Slice(_next, n).CopyTo(inputTokens[written..]);
                _chunk.Outputs.Slice(_next, n).CopyTo(outputTokens[written..]);
                _next += n;
                written += n;
            }

            return written;
        }

        public void Dispose() => _enumerator?.Dispose();
    }

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
