using System.Globalization;
using System.Text.Json;
using Splitwise.Replay;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Replay;

/// <summary>"Exact" means the server's <c>prompt_tokens</c> equals the trace's input tokens, whatever the server adds.</summary>
public class ReplayCalibrationTests
{
    /// <summary>A server that reports <c>prompt_tokens</c> as <paramref name="count"/> of the prompt text (each filler
    /// piece of cl100k_base is one word, so the word count is our count).</summary>
    private static FakeHttpServer Counting(Func<int, int> count) => new(
        async r =>
        {
            string prompt = JsonDocument.Parse(r.Body).RootElement.GetProperty("prompt").GetString()!;
            int words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            await FakeHttpServer.WriteAsync(r.Stream, FakeHttpServer.SseHeaders
                + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\n"
                + string.Create(CultureInfo.InvariantCulture, $"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{count(words)},\"completion_tokens\":2}}}}\n\n")
                + "data: [DONE]\n\n");
        },
        keepAlive: false);

    private static async Task<ReplaySummary> RunAsync(FakeHttpServer server) =>
        await new ReplayRunner(ReplayTestData.Options(server.BaseAddress, ReplayTestData.TempDir()) with { Warmup = false, SendMinTokens = false }, ReplayTestData.Uniform(20, 1, input: 40, output: 2))
            .RunAsync(TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_server_that_adds_BOS_gets_prompts_one_shorter_and_every_prompt_is_exact()
    {
        await using FakeHttpServer server = Counting(words => words + 1);
        ReplaySummary summary = await RunAsync(server);
        Assert.Equal(1, summary.Calibration!.AddedTokens);
        Assert.Equal([33, 129], summary.Calibration.ServerTokens);
        Assert.Equal(20, summary.Completed);
        Assert.Equal(0, summary.PromptTokenMismatches);
        Assert.Equal(20, summary.ExactInputPrompts);
        Assert.Equal(1.0, summary.PromptCountRatio!.Max);
        Assert.Null(summary.PromptWarning);
        Assert.Contains("calibration: the server counts our tokens + 1 (BOS or template); prompts are built 1 shorter", summary.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_with_another_vocabulary_is_reported_loudly_and_nothing_counts_as_exact()
    {
        await using FakeHttpServer server = Counting(words => (words * 7 / 4) + 1);
        ReplaySummary summary = await RunAsync(server);
        Assert.False(summary.Calibration!.Matches);
        Assert.Equal(1.75, summary.Calibration.Ratio, 2);
        Assert.Equal(20, summary.PromptTokenMismatches);
        Assert.Equal(0, summary.ExactInputPrompts);
        Assert.InRange(summary.PromptCountRatio!.P50, 1.7, 1.8);
        Assert.StartsWith("WARNING: 20 of 20 prompts were not the trace's length by the server's count", summary.PromptWarning, StringComparison.Ordinal);
        Assert.Contains("it uses another vocabulary", summary.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_warns_on_stderr_when_prompts_are_not_exact()
    {
        await using FakeHttpServer server = Counting(words => words * 2);
        string trace = Path.Combine(ReplayTestData.TempDir(), "t.csv");
        File.WriteAllLines(trace, ["TIMESTAMP,ContextTokens,GeneratedTokens", "2023-11-16 18:00:00.0000000,30,2", "2023-11-16 18:00:00.0100000,31,2"]);
        (int code, _, string stderr) = await CliRunner.RunAsync(["replay", "--endpoint", server.BaseAddress.ToString(), "--model", "m", "--trace", trace, "--out", ReplayTestData.TempDir(), "--no-warmup", "--no-min-tokens"]);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("WARNING: 2 of 2 prompts were not the trace's length by the server's count (server/trace p50 2.0", stderr, StringComparison.Ordinal);
    }
}
