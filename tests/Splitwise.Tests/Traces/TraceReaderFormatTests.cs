using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

/// <summary>Every format and timestamp form the reader accepts.</summary>
public sealed class TraceReaderFormatTests : IDisposable
{
    private const string AzureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi, int s, long ticks = 0)
        => new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).AddTicks(ticks);

    private static long[] Absolute(Trace trace) => Array.ConvertAll(trace.Arrivals.ToArray(), t => trace.Start.UtcTicks + t);

    [Fact]
    public void Azure_2023_rows_read_with_seven_digit_utc_timestamps()
    {
        string file = _dir.Write("code.csv", AzureHeader +
            "2023-11-16 18:17:03.9799600,4808,10\n" +
            "2023-11-16 18:17:04.0319600,3180,8\n" +
            "2023-11-16 18:17:04.0319601,0,0\n");
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(TraceFormat.Azure2023, report.Format);
        Assert.Equal(3, trace.Count);
        Assert.Equal("code.csv", trace.Name);
        Assert.Equal(Utc(2023, 11, 16, 18, 17, 3, 9_799_600), trace.Start);
        Assert.Equal([0L, 520_000L, 520_001L], trace.Arrivals.ToArray());
        Assert.Equal([4808, 3180, 0], trace.Inputs.ToArray());
        Assert.Equal([10, 8, 0], trace.Outputs.ToArray());
    }

    [Fact]
    public void Azure_2024_mixes_fraction_lengths_and_offsets_in_one_file()
    {
        string file = _dir.Write("conv2024.csv", AzureHeader +
            "2024-05-10 00:00:00.009930+00:00,1,2\n" +
            "2024-05-12 00:00:00+00:00,3,4\n" +
            "2024-05-12 00:00:00.5+00:00,5,6\n" +
            "2024-05-12 00:00:00.1234567+00:00,7,8\n" +
            "2024-05-12 00:00:00.123456789+00:00,9,10\n" +
            "2024-05-12 05:30:00+05:30,11,12\n" +
            "2024-05-11 17:00:01-07:00,13,14\n" +
            "2024-05-12 00:00:02Z,15,16\n" +
            "2024-05-12T00:00:03,17,18\n" +
            "2024-05-12 00:00:04,19,20\n");
        Trace trace = TraceReader.Read(file, new TraceReadOptions { Sort = false }, out TraceReadReport report);
        Assert.Equal(TraceFormat.Azure2024, report.Format);
        Assert.Equal(
            [
                Utc(2024, 5, 10, 0, 0, 0, 99_300).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 0).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 0, 5_000_000).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 0, 1_234_567).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 0, 1_234_567).UtcTicks, // digits beyond the 7th are truncated
                Utc(2024, 5, 12, 0, 0, 0).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 1).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 2).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 3).UtcTicks,
                Utc(2024, 5, 12, 0, 0, 4).UtcTicks,
            ],
            Absolute(trace));
        Assert.Equal([1, 3, 5, 7, 9, 11, 13, 15, 17, 19], trace.Inputs.ToArray());
        Assert.Equal(TimeSpan.Zero, trace.Start.Offset);
        Assert.Equal(2, report.OutOfOrder); // 0.1234567 after 0.5, and 05:30+05:30 after that
    }

    [Fact]
    public void Azure_2024_start_keeps_the_offset_of_the_first_row()
    {
        string file = _dir.Write("offset.csv", AzureHeader + "2024-05-12 09:00:00.25+02:00,1,1\n2024-05-12 09:00:01+02:00,1,1\n");
        Trace trace = TraceReader.Read(file);
        Assert.Equal(TimeSpan.FromHours(2), trace.Start.Offset);
        Assert.Equal(Utc(2024, 5, 12, 7, 0, 0, 2_500_000), trace.Start.ToUniversalTime());
        Assert.Equal([0L, 7_500_000L], trace.Arrivals.ToArray());
    }

    [Fact]
    public void SplitwiseSim_csv_reads_seconds_from_the_start_based_at_the_unix_epoch()
    {
        string file = _dir.Write("sim.csv",
            "request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\n" +
            "0,2,0,0.0,1,100,10\n" +
            "1,2,0,1.5,1,200,20\n" +
            "2,2,0,2.12345678,1,300,30\n" +
            "3,2,0,3,1,400,40\n" +
            "4,2,0,1.5e1,1,500,50\n");
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(TraceFormat.SplitwiseSim, report.Format);
        Assert.Equal(DateTimeOffset.UnixEpoch, trace.Start);
        Assert.Equal([0L, 15_000_000L, 21_234_568L, 30_000_000L, 150_000_000L], trace.Arrivals.ToArray());
        Assert.Equal([100, 200, 300, 400, 500], trace.Inputs.ToArray());
        Assert.Equal([10, 20, 30, 40, 50], trace.Outputs.ToArray());
    }

    [Fact]
    public void Vidur_csv_reads_seconds_and_token_counts()
    {
        string file = _dir.Write("vidur.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.25,7,3\n10.000001,8,4\n");
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(TraceFormat.Vidur, report.Format);
        Assert.Equal([2_500_000L, 100_000_010L], trace.Arrivals.ToArray());
        Assert.Equal([7, 8], trace.Inputs.ToArray());
        Assert.Equal([3, 4], trace.Outputs.ToArray());
    }

    [Fact]
    public void Mooncake_jsonl_reads_milliseconds_hash_ids_in_any_key_order()
    {
        string file = _dir.Write("mooncake.jsonl",
            "{\"timestamp\": 0, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47, 48]}\n" +
            "{\"hash_ids\": [], \"output_length\": 3, \"input_length\": 4, \"timestamp\": 27482}\n" +
            "{\"timestamp\":27483.5,\"input_length\":1,\"output_length\":2,\"extra\":{\"a\":[1,{\"b\":2}]}}\r\n" +
            "\n");
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(TraceFormat.Mooncake, report.Format);
        Assert.Equal(DateTimeOffset.UnixEpoch, trace.Start);
        Assert.Equal([0L, 274_820_000L, 274_835_000L], trace.Arrivals.ToArray());
        Assert.Equal([6955, 4, 1], trace.Inputs.ToArray());
        Assert.Equal([52, 3, 2], trace.Outputs.ToArray());
        Assert.True(trace.HasHashChains);
        Assert.Equal([46L, 47, 48], trace.HashChain(0).ToArray());
        Assert.True(trace.HashChain(1).IsEmpty);
        Assert.True(trace.HashChain(2).IsEmpty); // no hash_ids key: an empty chain
    }

    [Fact]
    public void Columns_are_found_by_name_in_any_order_and_case_with_extra_columns_ignored()
    {
        string file = _dir.Write("reordered.csv",
            "gENERATEDtOKENS, \"note\" ,Timestamp,contexttokens\n" +
            "5,hello world,2023-11-16 18:17:03.0000000,6\n");
        Trace trace = TraceReader.Read(file);
        Assert.Equal([6], trace.Inputs.ToArray());
        Assert.Equal([5], trace.Outputs.ToArray());
        Assert.Equal(Utc(2023, 11, 16, 18, 17, 3), trace.Start);
    }

    [Fact]
    public void Explicit_format_overrides_detection()
    {
        string file = _dir.Write("vidur.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n1,2,3\n");
        Assert.Equal(1, TraceReader.Read(file, new TraceReadOptions { Format = TraceFormat.Vidur }).Count);
        var e = Assert.Throws<TraceFormatException>(() => TraceReader.Read(file, new TraceReadOptions { Format = TraceFormat.Azure2023 }));
        Assert.Contains("missing columns \"TIMESTAMP\", \"ContextTokens\", \"GeneratedTokens\" for the Azure2023 format", e.Message, StringComparison.Ordinal);

        string azure = _dir.Write("a.csv", AzureHeader + "2023-11-16 18:17:03.0000000,1,2\n");
        TraceReader.Read(azure, new TraceReadOptions { Format = TraceFormat.Azure2024 }, out TraceReadReport report);
        Assert.Equal(TraceFormat.Azure2024, report.Format);
    }

    [Fact]
    public void Display_name_names_the_trace()
    {
        string file = _dir.Write("x.csv", AzureHeader + "2023-11-16 18:17:03.0000000,1,2\n");
        Assert.Equal("conv-2023", TraceReader.Read(file, new TraceReadOptions { DisplayName = "conv-2023" }).Name);
    }

    [Theory]
    [InlineData("plain.csv.gz")]
    [InlineData("disguised.csv")]
    public void Gzip_is_detected_by_its_magic_bytes(string name)
    {
        string text = AzureHeader + "2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,3180,8\n";
        string file = _dir.WriteGzip(name, text);
        Trace trace = TraceReader.Read(file);
        Assert.Equal([4808, 3180], trace.Inputs.ToArray());
        Assert.Equal([0L, 520_000L], trace.Arrivals.ToArray());
    }

    [Fact]
    public void Bom_crlf_blank_lines_and_quoted_values_are_accepted()
    {
        string file = _dir.WriteBytes("windows.csv", [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(
            "\r\nTIMESTAMP,ContextTokens,GeneratedTokens\r\n" +
            "2023-11-16 18:17:03.0000000,1,2\r\n" +
            "\r\n" +
            "\"2023-11-16 18:17:04.0000000\", \"3\" ,4\r\n" +
            "\r\n\r\n\n")]);
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(2, trace.Count);
        Assert.Equal([1, 3], trace.Inputs.ToArray());
        Assert.Equal([2, 4], trace.Outputs.ToArray());
        Assert.Equal([0L, TimeSpan.TicksPerSecond], trace.Arrivals.ToArray());
        Assert.Equal(0, report.SkippedRows);
    }

    [Fact]
    public void Last_line_without_newline_is_read()
    {
        string file = _dir.Write("nonl.csv", AzureHeader + "2023-11-16 18:17:03.0000000,1,2\n2023-11-16 18:17:04.0000000,3,4");
        Assert.Equal([2, 4], TraceReader.Read(file).Outputs.ToArray());
    }

    [Fact]
    public void Header_only_is_a_valid_empty_trace()
    {
        foreach (string text in (string[])[AzureHeader, "TIMESTAMP,ContextTokens,GeneratedTokens", AzureHeader + "\n\n"])
        {
            string file = _dir.Write("header.csv", text);
            Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
            Assert.Equal(0, trace.Count);
            Assert.Equal(0, report.Rows);
            Assert.Equal(0L, trace.SpanTicks);
        }
    }

    [Fact]
    public void Out_of_order_arrivals_are_counted_and_sorted_stably()
    {
        string file = _dir.Write("unordered.csv", AzureHeader +
            "2023-11-16 18:00:02.0000000,1,0\n" +
            "2023-11-16 18:00:01.0000000,2,0\n" +
            "2023-11-16 18:00:03.0000000,3,0\n" +
            "2023-11-16 18:00:01.0000000,4,0\n" +
            "2023-11-16 18:00:01.0000000,5,0\n");
        Trace sorted = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.Equal(2, report.OutOfOrder);
        Assert.True(report.Sorted);
        Assert.True(sorted.IsSorted);
        Assert.Equal([2, 4, 5, 1, 3], sorted.Inputs.ToArray());
        Assert.Equal(Utc(2023, 11, 16, 18, 0, 1), sorted.Start);

        Trace asIs = TraceReader.Read(file, new TraceReadOptions { Sort = false }, out TraceReadReport report2);
        Assert.Equal(2, report2.OutOfOrder);
        Assert.False(report2.Sorted);
        Assert.False(asIs.IsSorted);
        Assert.Equal([1, 2, 3, 4, 5], asIs.Inputs.ToArray());
        Assert.Equal(TimeSpan.TicksPerSecond, asIs.Arrivals[0]);
    }
}
