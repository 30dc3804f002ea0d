using System.Text;
using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

/// <summary>Streaming in blocks gives exactly what reading whole gives, whatever the block boundaries.</summary>
public sealed class TraceChunksTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A 2024-style file with every timestamp form, CRLF and LF, blank lines and a few out-of-order rows.</summary>
    private static string Mixed2024(int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        var t = new DateTime(2024, 5, 12, 23, 59, 0);
        for (int i = 0; i < rows; i++)
        {
            t = t.AddTicks(random.Next(0, 20_000_000) - (random.Next(50) == 0 ? 30_000_000 : 0));
            string stamp = random.Next(4) switch
            {
                0 => t.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+00:00",
                1 => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "+00:00",
                2 => t.AddHours(2).ToString("yyyy-MM-dd HH:mm:ss.fffffff", System.Globalization.CultureInfo.InvariantCulture) + "+02:00",
                _ => t.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture) + "+00:00",
            };
            text.Append(stamp).Append(',').Append(random.Next(20_000)).Append(',').Append(random.Next(2_000));
            text.Append(random.Next(3) == 0 ? "\r\n" : "\n");
            if (random.Next(200) == 0)
            {
                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static (long[] Arrivals, int[] Inputs, int[] Outputs, TraceReadReport Report) Stream(string file, int blockSize, TraceReadOptions? options = null)
    {
        var report = new TraceReadReport(file);
        var arrivals = new List<long>();
        var inputs = new List<int>();
        var outputs = new List<int>();
        foreach (TraceChunk chunk in TraceReader.ReadChunks(file, options, report, blockSize))
        {
            Assert.InRange(chunk.Count, 1, chunk.ArrivalTicks.Length);
            arrivals.AddRange(chunk.Arrivals.ToArray());
            inputs.AddRange(chunk.Inputs.ToArray());
            outputs.AddRange(chunk.Outputs.ToArray());
        }

        return ([.. arrivals], [.. inputs], [.. outputs], report);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Chunks_over_many_blocks_equal_the_whole_read(bool gzip)
    {
        string text = Mixed2024(10_000, seed: 5);
        string file = gzip ? _dir.WriteGzip("mixed.csv.gz", text) : _dir.Write("mixed.csv", text);
        Trace whole = TraceReader.Read(file, new TraceReadOptions { Sort = false }, out TraceReadReport wholeReport);
        Assert.Equal(10_000, whole.Count);
        Assert.True(wholeReport.OutOfOrder > 50);
        long[] absolute = Array.ConvertAll(whole.Arrivals.ToArray(), t => whole.Start.UtcTicks + t);
        foreach (int blockSize in (int[])[37, 64, 256, 1000, 4096, 65_536])
        {
            var (arrivals, inputs, outputs, report) = Stream(file, blockSize);
            Assert.Equal(absolute, arrivals);
            Assert.Equal(whole.Inputs.ToArray(), inputs);
            Assert.Equal(whole.Outputs.ToArray(), outputs);
            Assert.Equal(wholeReport.OutOfOrder, report.OutOfOrder);
            Assert.Equal(10_000, report.Rows);
            Assert.Equal(TraceFormat.Azure2024, report.Format);
        }
    }

    [Fact]
    public void Chunks_of_relative_formats_are_based_at_the_unix_epoch()
    {
        string file = _dir.Write("v.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n1.5,1,2\n");
        TraceChunk chunk = Assert.Single(TraceReader.ReadChunks(file));
        Assert.Equal(DateTimeOffset.UnixEpoch.UtcTicks + 15_000_000, chunk.Arrivals[0]);
    }

    [Fact]
    public void Lines_longer_than_a_block_are_handled()
    {
        var text = new StringBuilder("TIMESTAMP,Note,ContextTokens,GeneratedTokens\n");
        for (int i = 0; i < 50; i++)
        {
            text.Append("2023-11-16 18:17:03.0000000,").Append('x', i * 97).Append(',').Append(i).Append(",1\n");
        }

        string file = _dir.Write("long.csv", text.ToString());
        foreach (int blockSize in (int[])[16, 100, 1000])
        {
            var (_, inputs, _, _) = Stream(file, blockSize);
            Assert.Equal(Enumerable.Range(0, 50).ToArray(), inputs);
        }
    }

    [Fact]
    public void Stopping_early_releases_the_file()
    {
        string file = _dir.Write("many.csv", Mixed2024(5_000, seed: 9));
        var report = new TraceReadReport(file);
        foreach (TraceChunk chunk in TraceReader.ReadChunks(file, null, report, 512))
        {
            Assert.True(chunk.Count > 0);
            break;
        }

        using var exclusive = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        Assert.True(exclusive.Length > 0);
    }

    [Fact]
    public void Report_from_ReadChunks_is_complete_after_enumeration()
    {
        string file = _dir.Write("r.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:04.0000000,1,1\nbad,1,1\n2023-11-16 18:17:03.0000000,2,2\n");
        IEnumerable<TraceChunk> chunks = TraceReader.ReadChunks(file, new TraceReadOptions { SkipInvalid = true }, out TraceReadReport report);
        int rows = 0;
        foreach (TraceChunk chunk in chunks)
        {
            rows += chunk.Count;
        }

        Assert.Equal(2, rows);
        Assert.Equal(2, report.Rows);
        Assert.Equal(1, report.SkippedRows);
        Assert.Equal(1, report.OutOfOrder);
        Assert.Equal(TraceFormat.Azure2023, report.Format);
        Assert.Single(report.FirstErrors);
        Assert.StartsWith($"{file}:3:1: TIMESTAMP: \"bad\"", report.FirstErrors[0], StringComparison.Ordinal);
    }
}

/// <summary>Input that cannot be read by offset: a named pipe, as from <c>&lt;(zcat trace.csv.gz)</c>.</summary>
public sealed class TracePipeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_named_pipe_is_read_as_a_stream(bool gzip)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("named pipes are tested on Linux");
        }

        var text = new StringBuilder("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        for (int i = 0; i < 30_000; i++)
        {
            text.Append("2024-05-12 00:00:0").Append(i % 10).Append(".5+00:00,").Append(i).Append(",1\n");
        }

        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        if (gzip)
        {
            bytes = File.ReadAllBytes(_dir.WriteGzip("t.gz", text.ToString()));
        }

        string fifo = _dir.PathOf("pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Task writer = Task.Run(() =>
        {
            using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            stream.Write(bytes);
        }, TestContext.Current.CancellationToken);

        Trace trace = TraceReader.Read(fifo, new TraceReadOptions { Sort = false }, out TraceReadReport report);
        await writer;
        Assert.Equal(30_000, trace.Count);
        Assert.Equal(TraceFormat.Azure2024, report.Format);
        Assert.Equal(29_999, trace.Inputs[29_999]);
    }
}
