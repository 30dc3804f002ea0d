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

    /// <summary>
    /// True when the requests carry prefix hash chains (Mooncake <c>hash_ids</c>, <c>generate --sessions</c>). A streamed
    /// source knows only once it has read a chunk with chains: ask after the first <see cref="Fill"/>.
    /// </summary>
    public virtual bool HasHashChains => false;

    /// <summary>
    /// The prefix hash chain of the <paramref name="index"/>-th request returned by the last <see cref="Fill"/> (0-based
    /// in that call's spans): one block id per 512-token block of its prompt, first block first; empty without chains.
    /// Valid until the next <see cref="Fill"/>.
    /// </summary>
    public virtual ReadOnlySpan<long> HashChain(int index) => [];

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
        private bool _chains;
        private int[] _chainOffsets = [0];
        private long[] _chainIds = [];

        public override long KnownCount => knownCount;

        public override bool HasHashChains => _chains;

        public override ReadOnlySpan<long> HashChain(int index)
        {
            if ((uint)index + 1 >= (uint)_chainOffsets.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return _chains ? _chainIds.AsSpan(_chainOffsets[index], _chainOffsets[index + 1] - _chainOffsets[index]) : [];
        }

        /// <summary>Copies the chains of rows [from, from + n) of the current chunk after the fill's first <paramref name="written"/> rows.</summary>
        private void CopyChains(TraceChunk chunk, int from, int n, int written)
        {
            if (!_chains && chunk.HasHashChains)
            {
                // The first chains: the rows already in this fill have empty ones.
                _chainOffsets.AsSpan(0, written + 1).Clear();
                _chains = true;
            }

            if (!_chains)
            {
                return;
            }

            int baseId = _chainOffsets[written];
            int first = chunk.HasHashChains ? chunk.HashOffsets[from] : 0;
            int length = chunk.HasHashChains ? chunk.HashOffsets[from + n] - first : 0;
            if (baseId + length > _chainIds.Length)
            {
                Array.Resize(ref _chainIds, Math.Max(baseId + length, _chainIds.Length * 2));
            }

            if (length > 0)
            {
                chunk.HashIds.AsSpan(first, length).CopyTo(_chainIds.AsSpan(baseId));
            }

            for (int i = 1; i <= n; i++)
            {
                _chainOffsets[written + i] = chunk.HasHashChains ? baseId + chunk.HashOffsets[from + i] - first : baseId;
            }
        }

        public override int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens)
        {
            int written = 0;
            if (_chainOffsets.Length < arrivalNs.Length + 1)
            {
                _chainOffsets = new int[arrivalNs.Length + 1];
            }

            _chainOffsets[0] = 0;
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
                CopyChains(_chunk, _next, n, written);
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
        private int _lastFirst;
        private int _lastCount;

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

        public override bool HasHashChains => _trace.HasHashChains;

        public override ReadOnlySpan<long> HashChain(int index)
        {
            if ((uint)index >= (uint)_lastCount)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            int at = _lastFirst + index;
            return _trace.HashChain(_order is null ? at : _order[at]);
        }

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

            _lastFirst = _next;
            _lastCount = n;
            _next += n;
            return n;
        }
    }
}
