using System.Globalization;
using System.Text.Json;
using Splitwise.Replay;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Replay;

/// <summary>A run that lost requests says so: exit code, one warning line, and no zeros standing in for statistics.</summary>
public class ReplayExitTests
{
    private static string WriteTrace(int rows)
    {
        string path = Path.Combine(ReplayTestData.TempDir(), "trace.csv");
        var lines = new List<string> { "TIMESTAMP,ContextTokens,GeneratedTokens" };
        for (int i = 0; i < rows; i++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"2023-11-16 18:00:00.{i * 10:D3}0000,{20 + i},2"));
        }

        File.WriteAllLines(path, lines);
        return path;
    }

    private static FakeHttpServer ServerFailingFrom(int firstFailing) => new(async (n, stream, socket) =>
    {
        await FakeHttpServer.WriteAsync(stream, n < firstFailing
            ? FakeHttpServer.SseHeaders + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\ndata: [DONE]\n\n"
            : "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });

    private static string[] Args(Uri endpoint, string trace, string outDir, params string[] more) =>
        ["replay", "--endpoint", endpoint.ToString(), "--model", "m", "--trace", trace, "--out", outDir, "--no-warmup", "--no-calibrate", "--max-concurrency", "1", .. more];

    [Fact]
    public async Task Failures_beyond_max_failed_exit_1_with_one_warning_line()
    {
        await using FakeHttpServer server = ServerFailingFrom(firstFailing: 6);
        string outDir = ReplayTestData.TempDir();
        (int code, string stdout, string stderr) = await CliRunner.RunAsync(Args(server.BaseAddress, WriteTrace(10), outDir));
        Assert.Equal(ExitCodes.Failure, code);
        string[] warnings = stderr.Split('\n').Where(l => l.StartsWith("WARNING:", StringComparison.Ordinal)).ToArray();
        Assert.Single(warnings);
        Assert.Contains("4 of 10 requests failed (40.0 %)", warnings[0], StringComparison.Ordinal);
        Assert.Contains("http_503 4", warnings[0], StringComparison.Ordinal);
        Assert.Contains("6 completed, 4 failed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_within_max_failed_exit_0()
    {
        await using FakeHttpServer server = ServerFailingFrom(firstFailing: 9);
        (int code, _, string stderr) = await CliRunner.RunAsync(Args(server.BaseAddress, WriteTrace(10), ReplayTestData.TempDir(), "--max-failed", "10%"));
        Assert.Equal(ExitCodes.Success, code);
        Assert.DoesNotContain("WARNING", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_every_request_fails_the_statistics_are_absent_not_zero()
    {
        await using FakeHttpServer server = ServerFailingFrom(firstFailing: 0);
        string outDir = ReplayTestData.TempDir();
        (int code, string stdout, _) = await CliRunner.RunAsync(Args(server.BaseAddress, WriteTrace(5), outDir));
        Assert.Equal(ExitCodes.Failure, code);
        JsonElement json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;
        Assert.False(json.TryGetProperty("ttft_ms", out _));
        Assert.False(json.TryGetProperty("e2e_ms", out _));
        Assert.True(json.TryGetProperty("send_lag_ms", out _), "the sends themselves were measured");
        string ttftLine = stdout.Split('\n').Single(l => l.StartsWith("TTFT", StringComparison.Ordinal));
        Assert.Contains("(no samples)", ttftLine, StringComparison.Ordinal);
        Assert.DoesNotContain("0.000", ttftLine, StringComparison.Ordinal);
    }

    [Fact]
    public void The_latency_table_keeps_its_columns_apart_past_100_seconds()
    {
        var rows = new RequestResult?[3];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = new RequestResult
            {
                Index = i,
                InputTokens = 10,
                PromptTokensEncoded = 10,
                OutputTokens = 3,
                UsageCompletionTokens = 3,
                ContentChunks = 3,
                TtftNs = 1_234_567_891_234L * (i + 1),
                E2eNs = 9_876_543_210_123L * (i + 1),
                ItlNs = [1_000_000_000_000L, 2_000_000_000_000L],
            };
        }

        ReplaySummary summary = ReplaySummary.Build(ReplayTestData.Options(new Uri("http://127.0.0.1:9"), "unused"), "t", rows, false, 1);
        string[] lines = summary.ToText().Split('\n');
        string header = lines.Single(l => l.StartsWith("metric", StringComparison.Ordinal));
        foreach (string name in (string[])["TTFT", "ITL", "TPOT", "E2E"])
        {
            string line = lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(6, fields.Length);
            Assert.True(line.Length <= header.Length, "no value is wider than its column");
            Assert.All(fields.Skip(1), f => double.Parse(f, CultureInfo.InvariantCulture));
        }

        Assert.Contains("29629629.630", lines.Single(l => l.StartsWith("E2E", StringComparison.Ordinal)), StringComparison.Ordinal);
    }
}
