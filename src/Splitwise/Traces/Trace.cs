namespace Splitwise.Traces;

/// <summary>
/// A request trace held in memory as a struct of arrays: arrival time from the trace start, input (context) tokens and
/// output (generated) tokens, one index per request.
/// </summary>
/// <remarks>
/// Arrival times are integer ticks of 100 ns (<see cref="TimeSpan.TicksPerSecond"/> per second) relative to
/// <see cref="Start"/>, the absolute instant of tick 0 — the resolution of the Azure 2023 timestamps, so a trace
/// round-trips exactly. A trace read from a file is not necessarily sorted; <see cref="IsSorted"/> says whether it is.
/// <para>Prefix hash chains (Mooncake's <c>hash_ids</c>: one id per 512-token block of the prompt, equal ids meaning equal
/// content and equal prefix) are optional and held as two flat arrays, CSR style: request <c>i</c>'s chain is
/// <c>HashIds[HashOffsets[i]..HashOffsets[i + 1]]</c> (<see cref="HashChain(int)"/>). A trace without chains has
/// both null and costs nothing.</para>
/// </remarks>
public sealed class Trace
{
    public Trace(string name, DateTimeOffset start, long[] arrivalTicks, int[] inputTokens, int[] outputTokens, int count)
        : this(name, start, arrivalTicks, inputTokens, outputTokens, count, null, null)
    {
    }

    /// <summary>A trace with prefix hash chains: <paramref name="hashOffsets"/> has at least <c>count + 1</c> non-decreasing
    /// entries starting at 0, indexing <paramref name="hashIds"/>; pass both null for none.</summary>
    public Trace(string name, DateTimeOffset start, long[] arrivalTicks, int[] inputTokens, int[] outputTokens, int count, int[]? hashOffsets, long[]? hashIds)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(arrivalTicks);
        ArgumentNullException.ThrowIfNull(inputTokens);
        ArgumentNullException.ThrowIfNull(outputTokens);
        if ((uint)count > (uint)arrivalTicks.Length || count > inputTokens.Length || count > outputTokens.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "count exceeds the column arrays");
        }

        if ((hashOffsets is null) != (hashIds is null))
        {
            throw new ArgumentException("give both hash offsets and hash ids, or neither", nameof(hashIds));
        }

        if (hashOffsets is not null && (hashOffsets.Length < count + 1 || hashOffsets[0] != 0 || hashOffsets[count] > hashIds!.Length))
        {
            throw new ArgumentException("hash offsets need count + 1 entries from 0 to at most the number of hash ids", nameof(hashOffsets));
        }

        Name = name;
        Start = start;
        HashOffsets = hashOffsets;
        HashIds = hashIds;
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

    /// <summary>Start of each request's chain in <see cref="HashIds"/> (<see cref="Count"/> + 1 entries used); null without chains.</summary>
    public int[]? HashOffsets { get; }

    /// <summary>All chains' block ids, request after request; null without chains.</summary>
    public long[]? HashIds { get; }

    /// <summary>True when the trace carries prefix hash chains (Mooncake <c>hash_ids</c>).</summary>
    public bool HasHashChains => HashOffsets is not null;

    /// <summary>Request <paramref name="i"/>'s prefix hash chain: one block id per block of its prompt, first block first
    /// (empty when the trace has no chains).</summary>
    public ReadOnlySpan<long> HashChain(int i)
    {
        if ((uint)i >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(i));
        }

        int[]? offsets = HashOffsets;
        return offsets is null ? [] : HashIds.AsSpan(offsets[i], offsets[i + 1] - offsets[i]);
    }

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
