using CsCheck;
using Splitwise.Traces;
using Trace = Splitwise.Traces.Trace;

namespace Splitwise.Tests.Traces;

/// <summary>Write → read returns the same trace, for every writable format (CsCheck, fixed seed).</summary>
public sealed class TraceRoundTripTests : IDisposable
{
    private const string Seed = "0000001diAk7";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Arrivals of every resolution: ticks, microseconds, milliseconds, whole seconds.</summary>
    private static readonly Gen<long> s_arrival = Gen.OneOf(
        Gen.Long[0, 30L * TimeSpan.TicksPerDay],
        Gen.Long[0, 1_000_000_000L].Select(us => us * 10),
        Gen.Long[0, 10_000_000L].Select(ms => ms * TimeSpan.TicksPerMillisecond),
        Gen.Long[0, 1_000_000L].Select(s => s * TimeSpan.TicksPerSecond));

    private static readonly Gen<Trace> s_traces =
        from count in Gen.Int[0, 40]
        from startTicks in Gen.Long[new DateTime(2000, 1, 1).Ticks, new DateTime(2030, 1, 1).Ticks]
        from offsetMinutes in Gen.Int[-14 * 60, 14 * 60]
        from arrivals in s_arrival.Array[count]
        from inputs in Gen.OneOf(Gen.Int[0, 20_000], Gen.Int[0, int.MaxValue]).Array[count]
        from outputs in Gen.OneOf(Gen.Int[0, 2_000], Gen.Int[0, int.MaxValue]).Array[count]
        select new Trace("generated", new DateTimeOffset(startTicks, TimeSpan.FromMinutes(offsetMinutes)), arrivals, inputs, outputs, count);

    [Theory]
    [InlineData(TraceFormat.Azure2023)]
    [InlineData(TraceFormat.Azure2024)]
    [InlineData(TraceFormat.SplitwiseSim)]
    [InlineData(TraceFormat.Vidur)]
    public void Written_traces_read_back_identically(TraceFormat format)
    {
        s_traces.Sample(trace =>
        {
            string file = _dir.PathOf($"{Guid.NewGuid():N}.csv");
            TraceWriter.Write(trace, file, format);
            Trace back = TraceReader.Read(file, new TraceReadOptions { Sort = false }, out TraceReadReport report);
            // A header-only file cannot say which Azure year it is; the reader calls it 2023.
            Assert.Equal(format == TraceFormat.Azure2024 && trace.Count == 0 ? TraceFormat.Azure2023 : format, report.Format);
            AssertSame(trace, back, format);
            File.Delete(file);
        }, seed: Seed, iter: 60, threads: 1);
    }

    [Fact]
    public void Gzip_round_trip_by_file_name()
    {
        s_traces.Sample(trace =>
        {
            string file = _dir.PathOf($"{Guid.NewGuid():N}.csv.gz");
            TraceWriter.Write(trace, file, TraceFormat.Azure2024);
            using (var stream = File.OpenRead(file))
            {
                Assert.Equal(0x1f, stream.ReadByte());
            }

            AssertSame(trace, TraceReader.Read(file, new TraceReadOptions { Sort = false }), TraceFormat.Azure2024);
            File.Delete(file);
        }, seed: Seed, iter: 15, threads: 1);
    }

    private static void AssertSame(Trace written, Trace read, TraceFormat format)
    {
        Assert.Equal(written.Count, read.Count);
        Assert.Equal(written.Inputs.ToArray(), read.Inputs.ToArray());
        Assert.Equal(written.Outputs.ToArray(), read.Outputs.ToArray());
        if (format is TraceFormat.Azure2023 or TraceFormat.Azure2024)
        {
            Assert.Equal(Absolute(written), Absolute(read));
            if (written.Count > 0 && format == TraceFormat.Azure2024)
            {
                Assert.Equal(written.Start.Offset, read.Start.Offset);
            }
        }
        else
        {
            Assert.Equal(DateTimeOffset.UnixEpoch, read.Start);
            Assert.Equal(written.Arrivals.ToArray(), read.Arrivals.ToArray());
        }
    }

    private static long[] Absolute(Trace trace) => Array.ConvertAll(trace.Arrivals.ToArray(), t => trace.Start.UtcTicks + t);

    [Fact]
    public void Writer_output_matches_each_format_exactly()
    {
        var start = new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero);
        var trace = new Trace("t", start, [99_300, 10_000_000, 10_000_001, 36_000_000_000], [374, 396, 0, 2_147_483_647], [44, 109, 0, 1], 4);
        Assert.Equal(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
            "2024-05-12 00:00:00.0099300,374,44\n" +
            "2024-05-12 00:00:01.0000000,396,109\n" +
            "2024-05-12 00:00:01.0000001,0,0\n" +
            "2024-05-12 01:00:00.0000000,2147483647,1\n",
            Text(trace, TraceFormat.Azure2023));
        Assert.Equal(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
            "2024-05-12 00:00:00.009930+00:00,374,44\n" +
            "2024-05-12 00:00:01+00:00,396,109\n" +
            "2024-05-12 00:00:01.0000001+00:00,0,0\n" +
            "2024-05-12 01:00:00+00:00,2147483647,1\n",
            Text(trace, TraceFormat.Azure2024));
        Assert.Equal(
            "request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\n" +
            "0,2,0,0.00993,1,374,44\n" +
            "1,2,0,1.0,1,396,109\n" +
            "2,2,0,1.0000001,1,0,0\n" +
            "3,2,0,3600.0,1,2147483647,1\n",
            Text(trace, TraceFormat.SplitwiseSim));
        Assert.Equal(
            "arrived_at,num_prefill_tokens,num_decode_tokens\n" +
            "0.00993,374,44\n" +
            "1.0,396,109\n" +
            "1.0000001,0,0\n" +
            "3600.0,2147483647,1\n",
            Text(trace, TraceFormat.Vidur));

        var shifted = new Trace("t", new DateTimeOffset(2024, 5, 12, 9, 0, 0, TimeSpan.FromHours(-7.5)), [0], [1], [2], 1);
        Assert.Equal("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-12 09:00:00-07:30,1,2\n", Text(shifted, TraceFormat.Azure2024));
        Assert.Equal("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-12 16:30:00.0000000,1,2\n", Text(shifted, TraceFormat.Azure2023));
    }

    [Fact]
    public void Writing_auto_is_a_usage_error()
    {
        var trace = new Trace("t", DateTimeOffset.UnixEpoch, [0], [1], [2], 1);
        Assert.Equal(ExitCodes.Usage, Assert.Throws<SplitwiseException>(() => TraceWriter.Write(trace, _dir.PathOf("x.csv"), TraceFormat.Auto)).ExitCode);
        Assert.False(File.Exists(_dir.PathOf("x.csv")));
    }

    private static string Text(Trace trace, TraceFormat format)
    {
        var writer = new StringWriter();
        TraceWriter.Write(trace, writer, format);
        return writer.ToString();
    }
}
