using Splitwise.Traces;

namespace Splitwise.Reports;

/// <summary>Runs <see cref="TraceAccumulator"/> over a trace file (streaming) or an in-memory <see cref="Trace"/>.</summary>
public static class TraceAnalyzer
{
    /// <summary>Scatter-plot sample size used when figures are drawn.</summary>
    public const int DefaultSampleSize = 20_000;

    /// <summary>
    /// Analyses a trace file in one streaming pass. When its arrivals are out of order, a second pass collects the
    /// arrivals (8 bytes per row) and sorts them for the inter-arrival statistics. Prefix reuse (files with hash chains)
    /// is measured in file order, with memory growing with the distinct block ids.
    /// </summary>
    public static TraceAnalysis AnalyzeFile(string path, string name, TraceReadOptions? options = null, int sampleSize = 0, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(name);
        var accumulator = new TraceAccumulator(name, sampleSize, seed);
        IEnumerable<TraceChunk> chunks = TraceReader.ReadChunks(path, options, out TraceReadReport readReport);
        int[] noChains = [];
        bool chains = false;
        foreach (TraceChunk chunk in chunks)
        {
            int n = chunk.Count;
            chains |= chunk.HasHashChains;
            if (chains)
            {
                // Once a chunk had chains, every later row counts as a request (an empty chain when its chunk has none).
                if (!chunk.HasHashChains && noChains.Length < n + 1)
                {
                    noChains = new int[n + 1];
                }

                ReadOnlySpan<int> offsets = chunk.HasHashChains ? chunk.HashOffsets.AsSpan(0, n + 1) : noChains.AsSpan(0, n + 1);
                accumulator.Add(chunk.Arrivals, chunk.Inputs, chunk.Outputs, offsets, chunk.HashIds);
            }
            else
            {
                accumulator.Add(chunk.ArrivalTicks.AsSpan(0, n), chunk.InputTokens.AsSpan(0, n), chunk.OutputTokens.AsSpan(0, n));
            }
        }

        accumulator.SkippedRows = readReport.SkippedRows;
        accumulator.FirstErrors = readReport.FirstErrors;

        if (accumulator.OutOfOrder > 0 && accumulator.Rows > 2)
        {
            long[] arrivals = new long[accumulator.Rows];
            long at = 0;
            foreach (TraceChunk chunk in TraceReader.ReadChunks(path, options))
            {
                int n = Math.Min(chunk.Count, (int)(arrivals.Length - at));
                chunk.ArrivalTicks.AsSpan(0, n).CopyTo(arrivals.AsSpan((int)at));
                at += n;
            }

            Array.Sort(arrivals, 0, (int)at);
            accumulator.SetSortedGaps(arrivals.AsSpan(0, (int)at));
        }

        return accumulator.Finish();
    }

    /// <summary>Analyses an in-memory trace.</summary>
    public static TraceAnalysis Analyze(Trace trace, int sampleSize = 0, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var accumulator = new TraceAccumulator(trace.Name, sampleSize, seed);
        long start = trace.Start.UtcTicks;
        long[] absolute = new long[trace.Count];
        ReadOnlySpan<long> arrivals = trace.Arrivals;
        for (int i = 0; i < absolute.Length; i++)
        {
            absolute[i] = start + arrivals[i];
        }

        if (trace.HasHashChains)
        {
            accumulator.Add(absolute, trace.Inputs, trace.Outputs, trace.HashOffsets.AsSpan(0, trace.Count + 1), trace.HashIds);
        }
        else
        {
            accumulator.Add(absolute, trace.Inputs, trace.Outputs);
        }

        if (accumulator.OutOfOrder > 0)
        {
            Array.Sort(absolute);
            accumulator.SetSortedGaps(absolute);
        }

        return accumulator.Finish();
    }
}
