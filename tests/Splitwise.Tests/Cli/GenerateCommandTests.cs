using Splitwise.Traces;

namespace Splitwise.Tests.Cli;

public class GenerateCommandTests
{
    [Fact]
    public async Task Generate_like_a_real_trace_to_a_gz_file_is_deterministic_and_analyzable()
    {
        using var dir = new CliRun.TempDir();
        string conv = TestData.ConvTrace;
        string[] args = ["generate", "--like", conv, "--rate", "5", "--duration", "10m", "--seed", "9", "--format", "azure2024", "--whole-second-fraction", "0.01"];
        (int exit, _, string err) = await CliRun.RunAsync([.. args, "-o", dir.File("a.csv.gz")]);
        Assert.True(exit == 0, err);
        Assert.Contains("req/s", err, StringComparison.Ordinal);
        (exit, _, err) = await CliRun.RunAsync([.. args, "-o", dir.File("b.csv.gz")]);
        Assert.True(exit == 0, err);
        Assert.Equal(File.ReadAllBytes(dir.File("a.csv.gz")), File.ReadAllBytes(dir.File("b.csv.gz")));

        Trace generated = TraceReader.Read(dir.File("a.csv.gz"));
        Trace source = TraceReader.Read(conv);
        var pairs = new HashSet<(int, int)>();
        for (int i = 0; i < source.Count; i++)
        {
            pairs.Add((source.Inputs[i], source.Outputs[i]));
        }

        for (int i = 0; i < generated.Count; i++)
        {
            Assert.Contains((generated.Inputs[i], generated.Outputs[i]), pairs);
        }

        // Poisson count over 600 s at 5/s: mean 3000, sd 55; allow 5 sd.
        Assert.InRange(generated.Count, 3000 - 275, 3000 + 275);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public async Task Generate_sessions_writes_mooncake_chains_or_says_that_csv_drops_them()
    {
        string[] args = ["generate", "--sessions", "--input", "constant:600", "--output", "constant:10", "--rate", "1", "--count", "20",
            "--system-prompt-tokens", "1024", "--turns", "constant:2", "--think-time", "constant:5s"];
        (int exit, string stdout, string err) = await CliRun.RunAsync([.. args, "--format", "mooncake"]);
        Assert.True(exit == 0, err);
        Assert.Equal("", err);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.StartsWith("{\"timestamp\": ", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("\"input_length\": 1624, \"output_length\": 10, \"hash_ids\": [0, 1, 2, 3]}", lines[0], StringComparison.Ordinal);

        (exit, stdout, err) = await CliRun.RunAsync([.. args, "--format", "azure2024"]);
        Assert.True(exit == 0, err);
        Assert.StartsWith("TIMESTAMP,ContextTokens,GeneratedTokens\n", stdout, StringComparison.Ordinal);
        Assert.Contains("note: --format azure2024 has no place for prefix hash chains; they are dropped", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_writes_csv_to_stdout_when_no_file_is_given()
    {
        (int exit, string stdout, string err) = await CliRun.RunAsync("generate", "--input", "constant:100", "--output", "uniform:1,10", "--rate", "2", "--count", "3", "--format", "azure2023");
        Assert.True(exit == 0, err);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("TIMESTAMP,ContextTokens,GeneratedTokens", lines[0]);
        Assert.StartsWith("2023-11-16 18:00:", lines[1], StringComparison.Ordinal);
        Assert.Contains(",100,", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scale_to_time_scales_a_real_trace()
    {
        using var dir = new CliRun.TempDir();
        (int exit, _, string err) = await CliRun.RunAsync("generate", "--like", TestData.CodeTrace, "--scale-to", "10", "--format", "azure2023", "-o", dir.File("s.csv"));
        Assert.True(exit == 0, err);
        Trace scaled = TraceReader.Read(dir.File("s.csv"));
        Assert.Equal(8819, scaled.Count);
        Assert.Equal(10.0, scaled.Count / (scaled.SpanTicks / (double)TimeSpan.TicksPerSecond), 3);
    }

    [Theory]
    [InlineData("generate", "--rate", "5", "--count", "10")] // no sizes
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--count", "10")] // no rate
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1")] // no count or duration
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--cv", "2")] // cv with poisson
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--arrival", "weibull")]
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--format", "mooncake", "--whole-second-fraction", "0.1")]
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--format", "azure2023", "--whole-second-fraction", "0.1")]
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--scale-to", "3")]
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--turns", "constant:2")] // needs --sessions
    [InlineData("generate", "--sessions", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--think-time", "soon")]
    [InlineData("generate", "--sessions", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--count", "5", "--system-prompts", "0")]
    [InlineData("generate", "--like", "no-such-file.csv", "--rate", "1", "--count", "5")]
    [InlineData("generate", "--input", "constant:1", "--output", "constant:1", "--rate", "1", "--duration", "forever")]
    public async Task Bad_combinations_are_usage_errors_on_one_line(params string[] args)
    {
        (int exit, string stdout, string stderr) = await CliRun.RunAsync(args);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
    }
}
