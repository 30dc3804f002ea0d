using System.Runtime.CompilerServices;

namespace Splitwise.Simulation.Memory;

/// <summary>
/// Whole-request KV reservation (SplitwiseSim's instance, and our default engine): a request reserves bytes for its
/// tokens in one piece when it is admitted — its prompt's KV when the prompt starts, its decode's when it starts
/// decoding or when a transfer to this machine is set up — and gives them back in one piece when it finishes, moves
/// away or is dropped. How many bytes each step reserves is the batch policy's rule; this is the accounting.
/// </summary>
/// <remarks>The peak is noted where the engine chooses (after a batch selection, after a destination reservation),
/// so <see cref="PeakBytes"/> is what <c>instances.csv</c> has always reported: the most memory held when a batch
/// starts or a transfer is admitted.</remarks>
internal sealed class ReservedKvMemory(long capacityBytes) : IKvMemory
{
    private long _used;
    private long _peak;

    /// <summary>Bytes the instance has for KV.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <inheritdoc/>
    public long UsedBytes => _used;

    /// <inheritdoc/>
    public long PeakBytes => _peak;

    /// <summary>True when <paramref name="bytes"/> more fit in the capacity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Fits(long bytes) => _used + bytes <= CapacityBytes;

    /// <summary>Takes <paramref name="bytes"/> (the caller's rule decided they may be taken).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Reserve(long bytes) => _used += bytes;

    /// <summary>Takes <paramref name="bytes"/> and notes the peak when they fit; false (nothing taken) otherwise.</summary>
    public bool TryReserve(long bytes)
    {
        if (!Fits(bytes))
        {
            return false;
        }

        _used += bytes;
        NotePeak();
        return true;
    }

    /// <summary>Gives back <paramref name="bytes"/> a request held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release(long bytes) => _used -= bytes;

    /// <summary>Records the bytes in use now as the peak if they are the most so far.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void NotePeak()
    {
        if (_used > _peak)
        {
            _peak = _used;
        }
    }
}
