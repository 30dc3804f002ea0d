using System.Text.Json;
using Splitwise.Replay;
using Splitwise.Serving;
using Splitwise.Tests.Serving;

namespace Splitwise.Tests.Replay;

public class ReplayRunnerTests
{
    [Fact]
    public async Task Failures_of_every_kind_are_counted_and_the_run_survives_them()
    {
        await using var server = new FakeHttpServer(async (n, stream, socket) =>
        {
            switch (n % 5)
            {
                case 0:
                    await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
                    break;
                case 1:
                    await FakeHttpServer.WriteAsync(stream, "HTTP/1.1 500 Internal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    break;
                case 2:
                    await FakeHttpServer.WriteAsync(stream, "HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    break;
                default:
                    socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                    socket.Close();
                    break;
            }
        });
        string dir = ReplayTestData.TempDir();
        // Request numbers 3 and 4 of every 5 are reset: a request reset on its first attempt is retried once on a fresh
        // connection, reset again there, and counted as failed (and retried).
        var runner = new ReplayRunner(ReplayTestData.Options(server.BaseAddress, dir) with { MaxConcurrency = 1, SendMinTokens = false, Warmup = false, Calibrate = false }, ReplayTestData.Uniform(8, 5, output: 2));
        ReplaySummary summary = await runner.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(8, summary.RequestsSent);
        Assert.Equal(2, summary.Completed);
        Assert.Equal(2, summary.Failures["http_500"]);
        Assert.Equal(2, summary.Failures["http_429"]);
        Assert.Equal(2, summary.Failures["connection_reset"]);
        Assert.Equal(2, summary.Retried);
        Assert.Equal(10, server.Requests);
        Assert.Equal(9, File.ReadAllLines(Path.Combine(dir, "requests.csv")).Length);
        Assert.Equal(8, File.ReadAllLines(Path.Combine(dir, "requests.jsonl")).Length);
        JsonElement json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        Assert.Equal(6, json.GetProperty("failed").GetInt32());
    }

    [Fact]
    public async Task A_server_that_drops_the_connection_after_each_response_loses_no_requests()
    {
        await using FakeHttpServer server = FakeHttpServer.ClosingAfterEachResponse(tokens: 3);
        string dir = ReplayTestData.TempDir();
        var options = ReplayTestData.Options(server.BaseAddress, dir) with { MaxConcurrency = 2, Warmup = false, Calibrate = false };
        var runner = new ReplayRunner(options, ReplayTestData.Uniform(30, 2, output: 3));
        ReplaySummary summary = await runner.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(30, summary.Completed);
        Assert.Equal(0, summary.Failed);
        Assert.True(summary.Retried > 0, "requests sent on a dropped pooled connection are retried");
        Assert.Equal(30 + summary.Retried, server.Requests);
        Assert.All(runner.Results, r => Assert.True(r!.TtftNs >= 0 && r.E2eNs >= r.TtftNs));
        string[] csv = File.ReadAllLines(Path.Combine(dir, "requests.csv"));
        int retriedColumn = Array.IndexOf(csv[0].Split(','), "retried");
        Assert.Equal(summary.Retried, csv.Skip(1).Count(l => l.Split(',')[retriedColumn] == "1"));
    }

    [Fact]
    public async Task The_warm_up_sends_three_requests_to_the_target_and_reports_their_failures()
    {
        const string Ok = "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\ndata: [DONE]\n\n";
        await using var server = new FakeHttpServer(async (n, stream, socket) =>
            await FakeHttpServer.WriteAsync(stream, n == 1
                ? "HTTP/1.1 500 Internal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                : FakeHttpServer.SseHeaders + Ok));
        var runner = new ReplayRunner(ReplayTestData.Options(server.BaseAddress, ReplayTestData.TempDir()) with { SendMinTokens = false, Calibrate = false }, ReplayTestData.Uniform(5, 2, output: 2));
        ReplaySummary summary = await runner.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(5, summary.Completed);
        Assert.Equal(3, summary.WarmupTargetRequests);
        Assert.Equal(1, summary.WarmupTargetFailed);
        Assert.Equal(5 + 3, server.Requests);
        Assert.Equal(64 + 1000, summary.WarmupLoopbackRequests);
        Assert.Contains("warm-up: 3 requests to the target (1 failed)", summary.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_against_serve_gets_exact_lengths_and_no_mismatches()
    {
        using EmulatedCluster cluster = ServingFixtures.FastCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        string dir = ReplayTestData.TempDir();
        var options = ReplayTestData.Options(server.BaseAddress, dir) with { Slo = Splitwise.Designs.SloSet.Parse("ttft_p99=5s,tbt_p99=1s") };
        var runner = new ReplayRunner(options, ReplayTestData.Uniform(40, 10, input: 100, output: 6));
        ReplaySummary summary = await runner.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(40, summary.Completed);
        Assert.Equal(1.0, summary.ExactInputRate);
        Assert.Equal(0, summary.OutputTokenMismatches);
        Assert.Equal(0, summary.PromptTokenMismatches);
        Assert.Equal(40 * 5, summary.ItlMs!.Count);
        Assert.Equal(40, summary.GoodRequests);
        Assert.All(summary.SloVerdicts, v => Assert.True(v.Met));
        Assert.True(summary.TtftMs!.Min >= 1.0, "TTFT includes at least one emulated prompt iteration (1 ms)");
    }

    [Fact]
    public async Task Chat_api_works_against_serve_and_cancellation_keeps_rows_and_summary()
    {
        using EmulatedCluster cluster = ServingFixtures.FastCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        string dir = ReplayTestData.TempDir();
        var runner = new ReplayRunner(ReplayTestData.Options(server.BaseAddress, dir) with { Api = OpenAiApi.Chat }, ReplayTestData.Uniform(400, 5));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Task run = runner.RunAsync(cts.Token);
        while (runner.Progress.Done < 20 && !run.IsCompleted)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        JsonElement json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        Assert.True(json.GetProperty("interrupted").GetBoolean());
        int sent = json.GetProperty("requests_sent").GetInt32();
        Assert.InRange(sent, 1, 399);
        Assert.Equal(sent + 1, File.ReadAllLines(Path.Combine(dir, "requests.csv")).Length);
        Assert.True(json.GetProperty("completed").GetInt32() > 0);
    }
}
