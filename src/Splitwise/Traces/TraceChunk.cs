namespace Splitwise.Traces;

/// <summary>
/// A run of consecutive rows of a trace file, as columns: what <see cref="TraceReader.ReadChunks(string, TraceReadOptions?)"/> yields.
/// </summary>
/// <remarks>
/// <para><see cref="ArrivalTicks"/> are ABSOLUTE UTC ticks (100 ns, as <see cref="DateTimeOffset.UtcTicks"/>). Formats with
/// relative arrivals (SplitwiseSim, Vidur, Mooncake) are based at <see cref="DateTimeOffset.UnixEpoch"/>: arrival
/// 1.5 s is <c>UnixEpoch.UtcTicks + 15_000_000</c>.</para>
/// <para>Only the first <see cref="Count"/> elements of each array are valid; the arrays may be longer.</para>
/// <para>Chunks are pooled: a chunk and its arrays are reused once the enumerator advances (<c>MoveNext</c>) or is
/// disposed. Copy what you need to keep.</para>
/// <para>Prefix hash chains (Mooncake <c>hash_ids</c>) are present when <see cref="HasHashChains"/>: row <c>i</c>'s chain is
/// <see cref="HashChain(int)"/>, i.e. <c>HashIds[HashOffsets[i]..HashOffsets[i + 1]]</c> with <c>HashOffsets[0] == 0</c>.</para>
/// </remarks>
public sealed class TraceChunk
{
    internal TraceChunk(int capacity)
    {
        ArrivalTicks = new long[capacity];
        InputTokens = new int[capacity];
        OutputTokens = new int[capacity];
        HashOffsets = new int[capacity + 1];
    }

    /// <summary>Absolute UTC arrival of each row in 100 ns ticks.</summary>
    public long[] ArrivalTicks { get; private set; }

    /// <summary>Input (prompt, context) tokens of each row.</summary>
    public int[] InputTokens { get; private set; }

    /// <summary>Output (generated) tokens of each row.</summary>
    public int[] OutputTokens { get; private set; }

    /// <summary>Start of each row's chain in <see cref="HashIds"/> (<see cref="Count"/> + 1 entries valid when <see cref="HasHashChains"/>).</summary>
    public int[] HashOffsets { get; private set; }

    /// <summary>The rows' chain block ids, row after row.</summary>
    public long[] HashIds { get; private set; } = [];

    /// <summary>True when the rows carry prefix hash chains (a Mooncake file with <c>hash_ids</c>).</summary>
    public bool HasHashChains { get; internal set; }

    /// <summary>Row <paramref name="i"/>'s prefix hash chain (empty without chains).</summary>
    public ReadOnlySpan<long> HashChain(int i)
    {
        if ((uint)i >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(i));
        }

        return HasHashChains ? HashIds.AsSpan(HashOffsets[i], HashOffsets[i + 1] - HashOffsets[i]) : [];
    }

    /// <summary>Number of valid rows in the arrays.</summary>
    public int Count { get; internal set; }

    public ReadOnlySpan<long> Arrivals => ArrivalTicks.AsSpan(0, Count);

    public ReadOnlySpan<int> Inputs => InputTokens.AsSpan(0, Count);

    public ReadOnlySpan<int> Outputs => OutputTokens.AsSpan(0, Count);

    internal int Capacity => ArrivalTicks.Length;

    /// <summary>Grows the arrays (keeping the first <see cref="Count"/> rows) to at least <paramref name="capacity"/>.</summary>
    internal void Grow(int capacity)
    {
        int n = Math.Max(capacity, ArrivalTicks.Length * 2);
        long[] a = new long[n];
        int[] i = new int[n];
        int[] o = new int[n];
        Array.Copy(ArrivalTicks, a, Count);
        Array.Copy(InputTokens, i, Count);
        Array.Copy(OutputTokens, o, Count);
        int[] h = new int[n + 1];
        Array.Copy(HashOffsets, h, Count + 1);
        ArrivalTicks = a;
        InputTokens = i;
        OutputTokens = o;
        HashOffsets = h;
    }

    /// <summary>Makes room for at least <paramref name="ids"/> hash ids, keeping the first <paramref name="keep"/>.</summary>
    internal void GrowHashIds(int ids, int keep)
    {
        if (ids <= HashIds.Length)
        {
            return;
        }

        long[] grown = new long[Math.Max(ids, Math.Max(1024, HashIds.Length * 2))];
        Array.Copy(HashIds, grown, keep);
        HashIds = grown;
    }
}
