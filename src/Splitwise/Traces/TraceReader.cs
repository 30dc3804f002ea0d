using Splitwise.Traces.Internals;

namespace Splitwise.Traces;

/// <summary>
/// Reads trace files in every supported format (<see cref="TraceFormat"/>), plain or gzip-compressed (detected by the
/// gzip magic bytes, not the file name): whole into a <see cref="Trace"/>, or streamed as <see cref="TraceChunk"/>s.
/// </summary>
/// <remarks>
/// <para>Input handling, on purpose: a UTF-8 BOM is skipped; CRLF and LF line ends are both accepted; blank lines
/// (anywhere, including trailing ones) are ignored; a file with a header and no rows is a valid empty trace; an empty
/// file (no header) is an error, except with an explicit <see cref="TraceFormat.Mooncake"/> format (JSON lines have no
/// header). Column order follows the header, names are matched case-insensitively, and extra columns are ignored.</para>
/// <para>A bad row (missing or extra column, a value that does not parse, a negative count, a count beyond
/// <see cref="int.MaxValue"/>, NaN or negative seconds, an impossible date) throws a <see cref="TraceFormatException"/>
/// naming file, line and column — or, with <see cref="TraceReadOptions.SkipInvalid"/>, is skipped and counted in the
/// <see cref="TraceReadReport"/>.</para>
/// <para>Parsing runs on all cores in blocks of a few MB; memory stays bounded for <see cref="ReadChunks(string, TraceReadOptions?)"/>.</para>
/// </remarks>
public static class TraceReader
{
    /// <summary>Reads a whole trace; see <see cref="Read(string, TraceReadOptions?, out TraceReadReport)"/>.</summary>
    public static Trace Read(string path, TraceReadOptions? options = null) => Read(path, options, out _);

    /// <summary>
    /// Reads a whole trace into memory. Unless <see cref="TraceReadOptions.Sort"/> is false the result is sorted by
    /// arrival (stable: equal arrivals keep their file order) and <paramref name="report"/> says how many rows were out
    /// of order.
    /// </summary>
    /// <remarks>
    /// <see cref="Trace.Start"/> is the earliest arrival (with the UTC offset of the first row) for the Azure formats,
    /// and <see cref="DateTimeOffset.UnixEpoch"/> for formats with relative arrivals (SplitwiseSim, Vidur, Mooncake), so
    /// their arrivals keep the file's values.
    /// </remarks>
    /// <exception cref="TraceFormatException">A bad header, or a bad row without <see cref="TraceReadOptions.SkipInvalid"/>.</exception>
    /// <exception cref="SplitwiseException">The file does not exist or cannot be read.</exception>
    public static Trace Read(string path, TraceReadOptions? options, out TraceReadReport report)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new TraceReadOptions();
        report = new TraceReadReport(path);
        long[] arrivals = [];
        int[] inputs = [];
        int[] outputs = [];
        int[]? hashOffsets = null;
        long[] hashIds = [];
        int idCount = 0;
        int count = 0;
        bool relative;
        using (BlockPipeline pipeline = BlockPipeline.Open(path, options, report))
        {
            relative = pipeline.Layout.IsRelative;
            foreach (TraceChunk chunk in pipeline.Chunks())
            {
                if (count + chunk.Count > arrivals.Length)
                {
                    // Allocate once from the first block's row density; grow by half if the guess falls short.
                    long wanted = Math.Max((long)count + chunk.Count, arrivals.Length == 0 ? pipeline.EstimateRows(chunk.Count) : arrivals.Length + (arrivals.Length / 2L));
                    if (wanted > Array.MaxLength)
                    {
                        wanted = Math.Max(count + (long)chunk.Count, Array.MaxLength);
                        if (wanted > Array.MaxLength)
                        {
                            throw new SplitwiseException($"{path}: more than {Array.MaxLength:N0} rows do not fit in memory; stream the file instead");
                        }
                    }

                    Array.Resize(ref arrivals, (int)wanted);
                    Array.Resize(ref inputs, (int)wanted);
                    Array.Resize(ref outputs, (int)wanted);
                    if (hashOffsets is not null)
                    {
                        Array.Resize(ref hashOffsets, (int)wanted + 1);
                    }
                }

                if (chunk.HasHashChains || hashOffsets is not null)
                {
                    // Rows before the first chain (or in chunks without one) have empty chains.
                    hashOffsets ??= new int[arrivals.Length + 1];
                    AppendChains(chunk, count, hashOffsets, ref hashIds, ref idCount, path);
                }

                chunk.Arrivals.CopyTo(arrivals.AsSpan(count));
                chunk.Inputs.CopyTo(inputs.AsSpan(count));
                chunk.Outputs.CopyTo(outputs.AsSpan(count));
                count += chunk.Count;
            }
        }

        DateTimeOffset start;
        if (relative)
        {
            start = DateTimeOffset.UnixEpoch;
        }
        else
        {
            long min = count == 0 ? DateTimeOffset.UnixEpoch.UtcTicks : long.MaxValue;
            foreach (long t in arrivals.AsSpan(0, count))
            {
                min = Math.Min(min, t);
            }

            start = new DateTimeOffset(min, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(report.FirstOffsetMinutes));
        }

        long origin = start.UtcTicks;
        Span<long> span = arrivals.AsSpan(0, count);
        for (int i = 0; i < span.Length; i++)
        {
            span[i] -= origin;
        }

        if (options.Sort && report.OutOfOrder > 0)
        {
            TraceSorter.StableSortByArrival(arrivals, inputs, outputs, count, hashOffsets, ref hashIds);
            report.Sorted = true;
        }

        return new Trace(options.DisplayName ?? Path.GetFileName(path), start, arrivals, inputs, outputs, count, hashOffsets, hashOffsets is null ? null : hashIds);
    }

    /// <summary>Appends a chunk's chains after the first <paramref name="count"/> rows' (empty chains for a chunk without).</summary>
    private static void AppendChains(TraceChunk chunk, int count, int[] offsets, ref long[] ids, ref int idCount, string path)
    {
        int n = chunk.Count;
        if (!chunk.HasHashChains)
        {
            offsets.AsSpan(count + 1, n).Fill(idCount);
            return;
        }

        int added = chunk.HashOffsets[n];
        if ((long)idCount + added > Array.MaxLength)
        {
            throw new SplitwiseException($"{path}: more than {Array.MaxLength:N0} hash ids do not fit in memory; stream the file instead");
        }

        if (idCount + added > ids.Length)
        {
            Array.Resize(ref ids, (int)Math.Min(Array.MaxLength, Math.Max(idCount + (long)added, ids.Length + (ids.Length / 2L) + 1024)));
        }

        chunk.HashIds.AsSpan(0, added).CopyTo(ids.AsSpan(idCount));
        ReadOnlySpan<int> from = chunk.HashOffsets.AsSpan(1, n);
        Span<int> to = offsets.AsSpan(count + 1, n);
        for (int i = 0; i < from.Length; i++)
        {
            to[i] = idCount + from[i];
        }

        idCount += added;
    }

    /// <summary>Streams a trace in file order; see <see cref="ReadChunks(string, TraceReadOptions?, out TraceReadReport)"/>.</summary>
    public static IEnumerable<TraceChunk> ReadChunks(string path, TraceReadOptions? options = null) => ReadChunks(path, options, out _);

    /// <summary>
    /// Streams a trace as chunks of consecutive rows in file order (never sorted), with bounded memory: a few blocks of
    /// a few MB are parsed in parallel ahead of the consumer. <see cref="TraceChunk.ArrivalTicks"/> are absolute UTC
    /// ticks (relative formats are based at <see cref="DateTimeOffset.UnixEpoch"/>).
    /// </summary>
    /// <remarks>
    /// Chunks are pooled: a chunk is reused after the enumerator advances or is disposed, so copy what you keep. The
    /// file is opened and the header checked on the first <c>MoveNext</c>; errors surface during enumeration, after the
    /// chunks before the bad row. <paramref name="report"/> fills in as the enumeration proceeds and is final when it ends.
    /// </remarks>
    public static IEnumerable<TraceChunk> ReadChunks(string path, TraceReadOptions? options, out TraceReadReport report)
    {
        ArgumentNullException.ThrowIfNull(path);
        report = new TraceReadReport(path);
        return Enumerate(path, options ?? new TraceReadOptions(), report, BlockPipeline.DefaultBlockSize);
    }

    /// <summary>As <see cref="ReadChunks(string, TraceReadOptions?, out TraceReadReport)"/> with a chosen block size (tests use tiny blocks).</summary>
    internal static IEnumerable<TraceChunk> ReadChunks(string path, TraceReadOptions? options, TraceReadReport report, int blockSize)
        => Enumerate(path, options ?? new TraceReadOptions(), report, blockSize);

    private static IEnumerable<TraceChunk> Enumerate(string path, TraceReadOptions options, TraceReadReport report, int blockSize)
    {
        using BlockPipeline pipeline = BlockPipeline.Open(path, options, report, blockSize);
        foreach (TraceChunk chunk in pipeline.Chunks())
        {
            yield return chunk;
        }
    }
}
