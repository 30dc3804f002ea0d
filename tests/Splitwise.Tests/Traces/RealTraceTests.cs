using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

/// <summary>Facts about the real Azure 2023 traces (MISSION.md §2), computed by the reader.</summary>
public class RealTraceTests
{
    [Fact]
    public void Code_trace_has_the_published_size_span_and_token_statistics()
    {
        Trace trace = TraceReader.Read(TestData.CodeTrace, null, out TraceReadReport report);
        Assert.Equal(8_819, trace.Count);
        Assert.Equal(TraceFormat.Azure2023, report.Format);
        Assert.Equal(0, report.SkippedRows);
        Assert.Equal(3_436, (int)Math.Round(trace.SpanTicks / (double)TimeSpan.TicksPerSecond));
        Assert.Equal(1469, Median(trace.Inputs));
        Assert.Equal(7436, Percentile(trace.Inputs, 0.99));
        Assert.Equal(7437, Max(trace.Inputs));
        Assert.Equal(13, Median(trace.Outputs));
        Assert.Equal(1899, Max(trace.Outputs));
        Assert.Equal(new DateTimeOffset(2023, 11, 16, 18, 17, 3, TimeSpan.Zero).AddTicks(9_799_600), trace.Start);
        Assert.True(trace.IsSorted);
    }

    [Fact]
    public void Conv_trace_has_the_published_size_span_and_token_statistics()
    {
        Trace trace = TraceReader.Read(TestData.ConvTrace);
        Assert.Equal(19_366, trace.Count);
        Assert.Equal(3_502, (int)Math.Round(trace.SpanTicks / (double)TimeSpan.TicksPerSecond));
        Assert.Equal(1020, Median(trace.Inputs));
        Assert.Equal(14050, Max(trace.Inputs));
        Assert.Equal(129, Median(trace.Outputs));
        Assert.Equal(1000, Max(trace.Outputs));
        Assert.Equal(new DateTimeOffset(2023, 11, 16, 18, 15, 46, TimeSpan.Zero).AddTicks(6_805_900), trace.Start);
    }

    [Fact]
    public void Streaming_the_real_trace_in_small_blocks_equals_reading_it_whole()
    {
        Trace whole = TraceReader.Read(TestData.ConvTrace, new TraceReadOptions { Sort = false });
        var report = new TraceReadReport(TestData.ConvTrace);
        var arrivals = new List<long>();
        var inputs = new List<int>();
        var outputs = new List<int>();
        foreach (TraceChunk chunk in TraceReader.ReadChunks(TestData.ConvTrace, null, report, blockSize: 4096))
        {
            arrivals.AddRange(chunk.Arrivals.ToArray());
            inputs.AddRange(chunk.Inputs.ToArray());
            outputs.AddRange(chunk.Outputs.ToArray());
        }

        Assert.Equal(whole.Count, report.Rows);
        Assert.Equal(whole.Inputs.ToArray(), inputs);
        Assert.Equal(whole.Outputs.ToArray(), outputs);
        long origin = whole.Start.UtcTicks;
        Assert.Equal(whole.Arrivals.ToArray(), arrivals.ConvertAll(a => a - origin));
    }

    /// <summary>The lower median (the middle element of an odd count; of an even count, the mean of the two middle ones, rounded down).</summary>
    internal static int Median(ReadOnlySpan<int> values)
    {
        int[] sorted = values.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (int)(((long)sorted[(n / 2) - 1] + sorted[n / 2]) / 2);
    }

    /// <summary>Nearest-rank-by-linear-interpolation percentile as numpy computes it, rounded down.</summary>
    internal static int Percentile(ReadOnlySpan<int> values, double q)
    {
        int[] sorted = values.ToArray();
        Array.Sort(sorted);
        double rank = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return (int)(sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo)));
    }

    internal static int Max(ReadOnlySpan<int> values)
    {
        int max = int.MinValue;
        foreach (int v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }
}
