using System.Text;
using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

/// <summary>Every kind of bad input gets one clear line naming file, line, column and why — or is skipped on request.</summary>
public sealed class TraceReaderBadInputTests : IDisposable
{
    private const string AzureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    private const string Good = "2023-11-16 18:17:03.9799600,4808,10\n";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private TraceFormatException Fails(string text, TraceReadOptions? options = null, string name = "bad.csv")
    {
        string file = _dir.Write(name, text);
        var e = Assert.Throws<TraceFormatException>(() => TraceReader.Read(file, options));
        Assert.Equal(file, e.File);
        Assert.Equal(ExitCodes.Failure, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void Empty_file_is_an_error_naming_the_expected_headers()
    {
        foreach (string text in (string[])["", "\n\n", "\uFEFF", "  \r\n"])
        {
            var e = Fails(text);
            Assert.Contains("the file is empty (no header)", e.Message, StringComparison.Ordinal);
            Assert.Contains("TIMESTAMP,ContextTokens,GeneratedTokens", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Empty_file_is_an_empty_trace_when_mooncake_is_asked_for()
    {
        string file = _dir.Write("empty.jsonl", "");
        Assert.Equal(0, TraceReader.Read(file, new TraceReadOptions { Format = TraceFormat.Mooncake }).Count);
    }

    [Fact]
    public void Unknown_header_names_every_format_and_its_columns()
    {
        var e = Fails("time,in,out\n1,2,3\n");
        Assert.Equal(1, e.Line);
        Assert.Contains("unknown header \"time,in,out\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("TIMESTAMP,ContextTokens,GeneratedTokens", e.Message, StringComparison.Ordinal);
        Assert.Contains("request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size", e.Message, StringComparison.Ordinal);
        Assert.Contains("arrived_at,num_prefill_tokens,num_decode_tokens", e.Message, StringComparison.Ordinal);
        Assert.Contains("Mooncake", e.Message, StringComparison.Ordinal);
        Assert.Contains("--format", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_column_in_the_header_is_named()
    {
        var e = Fails("TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.9799600,4808\n");
        Assert.Equal("bad.csv:1:1: missing column \"GeneratedTokens\" for the Azure2023 format (header \"TIMESTAMP,ContextTokens\"; needs \"TIMESTAMP,ContextTokens,GeneratedTokens\")",
            Path.GetFileName(e.Message));
    }

    [Fact]
    public void Csv_header_where_mooncake_is_asked_for_is_an_error()
    {
        var e = Fails(AzureHeader + Good, new TraceReadOptions { Format = TraceFormat.Mooncake });
        Assert.Contains("expected Mooncake JSON lines", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_last_line_is_an_error_with_its_line_and_column()
    {
        var e = Fails(AzureHeader + Good + "2023-11-16 18:17:04.0319600,3180");
        Assert.Equal(3, e.Line);
        Assert.Equal(33, e.Column);
        Assert.Contains("GeneratedTokens: missing; the row ends after 2 of 3 columns", e.Message, StringComparison.Ordinal);

        var cut = Fails(AzureHeader + Good + "2023-11-16 18:1");
        Assert.Equal(3, cut.Line);
        Assert.Equal(1, cut.Column);
        Assert.Contains("TIMESTAMP: \"2023-11-16 18:1\" is not a timestamp like", cut.Message, StringComparison.Ordinal);

        var trailingComma = Fails(AzureHeader + Good + "2023-11-16 18:17:04.0319600,3180,");
        Assert.Contains("GeneratedTokens: empty value", trailingComma.Message, StringComparison.Ordinal);
        Assert.Equal(34, trailingComma.Column);
    }

    [Fact]
    public void Non_integer_token_count_names_file_line_column_value_and_remedy()
    {
        var e = Fails(AzureHeader + Good + Good + "2023-11-16 18:17:04.0319600,3180,12x\n" + Good, name: "conv.csv");
        Assert.Equal(4, e.Line);
        Assert.Equal(34, e.Column);
        Assert.Equal("GeneratedTokens: \"12x\" is not a non-negative integer; fix the row or pass --skip-invalid", e.Reason);
        Assert.EndsWith("conv.csv:4:34: GeneratedTokens: \"12x\" is not a non-negative integer; fix the row or pass --skip-invalid", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2023-11-16 18:17:04.0000000,-5,1", 29, "ContextTokens: \"-5\" is negative")]
    [InlineData("2023-11-16 18:17:04.0000000,99999999999,1", 29, "ContextTokens: \"99999999999\" is out of range (more than 2147483647)")]
    [InlineData("2023-11-16 18:17:04.0000000,2147483648,1", 29, "ContextTokens: \"2147483648\" is out of range")]
    [InlineData("2023-11-16 18:17:04.0000000,1.5,1", 29, "ContextTokens: \"1.5\" is not a whole number of tokens")]
    [InlineData("2023-11-16 18:17:04.0000000,NaN,1", 29, "ContextTokens: \"NaN\" is not a non-negative integer")]
    [InlineData("2023-11-16 18:17:04.0000000,,1", 29, "ContextTokens: empty value")]
    [InlineData("2023-11-16 18:17:04.0000000,1,2,3", 32, "the row has more than the header's 3 columns")]
    [InlineData("2023-13-16 18:17:04.0000000,1,2", 1, "TIMESTAMP: \"2023-13-16 18:17:04.0000000\" is not a timestamp")]
    [InlineData("2023-02-30 18:17:04.0000000,1,2", 1, "TIMESTAMP: \"2023-02-30 18:17:04.0000000\" is not a timestamp")]
    [InlineData("2023-11-16 24:00:00.0000000,1,2", 1, "is not a timestamp")]
    [InlineData("2023-11-16 18:60:00.0000000,1,2", 1, "is not a timestamp")]
    [InlineData("2023-11-16 18:17:04.,1,2", 1, "is not a timestamp")]
    [InlineData("2023-11-16 18:17:04+25:00,1,2", 1, "is not a timestamp")]
    [InlineData("2023-11-16 18:17:04.00000x0,1,2", 1, "is not a timestamp")]
    [InlineData("16/11/2023 18:17:04,1,2", 1, "is not a timestamp")]
    [InlineData("NaN,1,2", 1, "TIMESTAMP: \"NaN\" is not a timestamp")]
    public void Absurd_azure_values_are_rejected_with_the_column(string row, int column, string why)
    {
        var e = Fails(AzureHeader + Good + row + "\n");
        Assert.Equal(3, e.Line);
        Assert.Equal(column, e.Column);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NaN,1,2", "arrived_at: \"NaN\" is not a finite number of seconds")]
    [InlineData("inf,1,2", "arrived_at: \"inf\" is not a finite number of seconds")]
    [InlineData("-1.5,1,2", "arrived_at: \"-1.5\" is negative")]
    [InlineData("1e300,1,2", "arrived_at: \"1e300\" is out of range")]
    [InlineData("abc,1,2", "arrived_at: \"abc\" is not a number of seconds")]
    [InlineData("1.5,1", "num_decode_tokens: missing")]
    public void Absurd_relative_values_are_rejected(string row, string why)
    {
        var e = Fails("arrived_at,num_prefill_tokens,num_decode_tokens\n" + row + "\n");
        Assert.Equal(2, e.Line);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2}", "output_length: missing")]
    [InlineData("{\"timestamp\": \"1\", \"input_length\": 2, \"output_length\": 3}", "timestamp: \"1\" is not a number")]
    [InlineData("{\"timestamp\": 1, \"input_length\": -2, \"output_length\": 3}", "input_length: -2 is negative")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3", "not valid JSON")]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3} {}", "more than one JSON value")]
    public void Bad_mooncake_lines_are_rejected(string line, string why)
    {
        var e = Fails("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n" + line + "\n", name: "bad.jsonl");
        Assert.Equal(2, e.Line);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_invalid_skips_bad_rows_and_reports_the_count_and_first_five()
    {
        var text = new StringBuilder(AzureHeader);
        for (int i = 0; i < 10; i++)
        {
            text.Append(Good).Append("2023-11-16 18:17:04.0000000,").Append(i).Append("x,1\n");
        }

        text.Append("2023-11-16 18:17:04.0000000,5"); // truncated last line
        string file = _dir.Write("skip.csv", text.ToString());
        Trace trace = TraceReader.Read(file, new TraceReadOptions { SkipInvalid = true }, out TraceReadReport report);
        Assert.Equal(10, trace.Count);
        Assert.Equal(10, report.Rows);
        Assert.Equal(11, report.SkippedRows);
        Assert.Equal(TraceReadReport.MaxErrors, report.FirstErrors.Count);
        Assert.Equal($"{file}:3:29: ContextTokens: \"0x\" is not a non-negative integer", report.FirstErrors[0]);
        Assert.StartsWith($"{file}:11:29:", report.FirstErrors[4], StringComparison.Ordinal);
        Assert.Contains("11 invalid rows skipped", report.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Error_line_is_exact_deep_in_a_file_read_in_many_small_blocks()
    {
        var text = new StringBuilder(AzureHeader);
        for (int i = 2; i <= 5000; i++)
        {
            text.Append(i == 3777 ? "2023-11-16 18:17:03.9799600,48O8,10\n" : (i % 97 == 0 ? "\n" : Good));
        }

        string file = _dir.Write("deep.csv", text.ToString());
        foreach (int blockSize in (int[])[64, 100, 1000, 4096, 1 << 20])
        {
            var report = new TraceReadReport(file);
            var e = Assert.Throws<TraceFormatException>(() =>
            {
                foreach (TraceChunk chunk in TraceReader.ReadChunks(file, null, report, blockSize))
                {
                    Assert.True(chunk.Count > 0);
                }
            });
            Assert.Equal(3777, e.Line);
            Assert.Equal(29, e.Column);
            Assert.Contains("\"48O8\" is not a non-negative integer", e.Message, StringComparison.Ordinal);

            var skipping = new TraceReadReport(file);
            int rows = 0;
            foreach (TraceChunk chunk in TraceReader.ReadChunks(file, new TraceReadOptions { SkipInvalid = true }, skipping, blockSize))
            {
                rows += chunk.Count;
            }

            Assert.Equal(5000 - 1 - 1 - (5000 / 97), rows);
            Assert.Equal(1, skipping.SkippedRows);
            Assert.StartsWith($"{file}:3777:29:", skipping.FirstErrors[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<SplitwiseException>(() => TraceReader.Read(_dir.PathOf("nope.csv")));
        Assert.Contains("nope.csv: no such file", e.Message, StringComparison.Ordinal);
        Assert.Contains("conv-2023", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_gzip_is_a_clear_error()
    {
        var random = new Random(11);
        var text = new StringBuilder(AzureHeader);
        for (int i = 0; i < 5000; i++)
        {
            text.Append("2023-11-16 18:17:03.9799600,").Append(random.Next(100_000)).Append(',').Append(random.Next(1000)).Append('\n');
        }

        string good = _dir.WriteGzip("t.csv.gz", text.ToString());
        Assert.Equal(5000, TraceReader.Read(good).Count);
        byte[] bytes = File.ReadAllBytes(good);
        string truncated = _dir.WriteBytes("cut.csv.gz", bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsAny<SplitwiseException>(() => TraceReader.Read(truncated));
        Assert.Contains("cut.csv.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains("the gzip data ends early", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_garbage_is_an_unknown_header_not_a_crash()
    {
        byte[] garbage = new byte[5000];
        new Random(3).NextBytes(garbage);
        garbage[0] = (byte)'x';
        string file = _dir.WriteBytes("garbage.bin", garbage);
        Assert.ThrowsAny<SplitwiseException>(() => TraceReader.Read(file));
    }
}
