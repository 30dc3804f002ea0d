using System.Diagnostics;
using System.Net.Sockets;
using Splitwise.Replay;

namespace Splitwise.Tests.Replay;

public class OpenAiClientTests
{
    private static async Task<RequestResult> SendOnceAsync(FakeHttpServer server, TimeSpan? timeout = null, int output = 3, long startTicks = 0)
    {
        ReplayOptions options = ReplayTestData.Options(server.BaseAddress, ReplayTestData.TempDir()) with { Timeout = timeout ?? TimeSpan.FromSeconds(5) };
        using var client = new OpenAiClient(options, 4);
        var result = new RequestResult { OutputTokens = output, InputTokens = 10, PromptTokensEncoded = 10 };
        await client.SendAsync(client.BuildBody("hello world", output), result, startTicks > 0 ? startTicks : Stopwatch.GetTimestamp(), TestContext.Current.CancellationToken);
        return result;
    }

    private static string Text(string t) => $"data: {{\"choices\":[{{\"index\":0,\"text\":\"{t}\"}}]}}\n\n";

    private const string Usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3,\"total_tokens\":13}}\n\n";

    [Fact]
    public async Task Events_split_across_reads_with_comments_and_a_usage_only_chunk_are_measured_right()
    {
        long usageWritten = 0;
        await using var server = new FakeHttpServer(async (_, stream, _) =>
        {
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders);
            await FakeHttpServer.WriteAsync(stream, ": keep-alive comment\n\n");
            await FakeHttpServer.WriteAsync(stream, "data: {\"choices\":[{\"index\":0,\"te");
            await Task.Delay(30);
            await FakeHttpServer.WriteAsync(stream, "xt\":\" one\"}]}\n");
            await FakeHttpServer.WriteAsync(stream, "\n" + Text(" two"));
            await Task.Delay(30);
            await FakeHttpServer.WriteAsync(stream, Text(" three"));
            await Task.Delay(200);
            usageWritten = Stopwatch.GetTimestamp();
            await FakeHttpServer.WriteAsync(stream, Usage);
            await FakeHttpServer.WriteAsync(stream, "data: [DONE]\n\n");
        });
        long start = Stopwatch.GetTimestamp();
        RequestResult r = await SendOnceAsync(server, startTicks: start);
        Assert.True(r.Succeeded, r.ErrorDetail);
        Assert.Equal(3, r.ContentChunks);
        Assert.Equal(3, r.UsageCompletionTokens);
        Assert.Equal(10, r.UsagePromptTokens);
        Assert.Equal(2, r.ItlNs.Length);
        Assert.True(r.TtftNs > 0 && r.E2eNs >= r.TtftNs);
        // The usage chunk was written after the last content chunk: E2E must end before the client could have read it
        // (causality, not a wall-clock budget: holds however slow the machine is).
        long usageNs = (long)Stopwatch.GetElapsedTime(start, usageWritten).TotalNanoseconds;
        Assert.True(r.SentNs + r.E2eNs < usageNs, $"E2E {r.E2eNs} ns from the send at {r.SentNs} ns includes the usage-only chunk written at {usageNs} ns");
        Assert.False(r.OutputMismatch);
    }

    [Fact]
    public async Task Chat_deltas_with_an_empty_role_chunk_count_from_the_first_text()
    {
        long textWritten = 0;
        await using var server = new FakeHttpServer(async (_, stream, _) =>
        {
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders);
            await FakeHttpServer.WriteAsync(stream, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
            await Task.Delay(50);
            textWritten = Stopwatch.GetTimestamp();
            await FakeHttpServer.WriteAsync(stream, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" hi\"}}]}\n\n");
            await FakeHttpServer.WriteAsync(stream, "data: [DONE]\n\n");
        });
        long start = Stopwatch.GetTimestamp();
        RequestResult r = await SendOnceAsync(server, output: 1, startTicks: start);
        Assert.True(r.Succeeded, r.ErrorDetail);
        Assert.Equal(1, r.ContentChunks);
        // The first text was written after the role chunk: TTFT cannot end before it was written (causality; times from start).
        long textNs = (long)Stopwatch.GetElapsedTime(start, textWritten).TotalNanoseconds;
        Assert.True(r.SentNs + r.TtftNs >= textNs, $"TTFT {r.TtftNs} ns from the send at {r.SentNs} ns ends before the first text was written ({textNs} ns): it counted the empty role chunk");
        Assert.Equal(-1, r.UsageCompletionTokens);
    }

    [Fact]
    public async Task An_error_event_mid_stream_is_a_stream_error()
    {
        await using var server = new FakeHttpServer(async (_, stream, _) =>
        {
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + Text(" a"));
            await FakeHttpServer.WriteAsync(stream, "data: {\"error\":{\"message\":\"out of KV blocks\",\"code\":500}}\n\n");
        });
        RequestResult r = await SendOnceAsync(server);
        Assert.Equal("stream_error", r.Error);
        Assert.Contains("out of KV blocks", r.ErrorDetail, StringComparison.Ordinal);
        Assert.Equal(1, r.ContentChunks);
    }

    [Fact]
    public async Task An_sse_event_named_error_is_a_stream_error()
    {
        await using var server = new FakeHttpServer(async (_, stream, _) =>
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + "event: error\ndata: upstream failed\n\n"));
        RequestResult r = await SendOnceAsync(server);
        Assert.Equal("stream_error", r.Error);
    }

    [Fact]
    public async Task A_stream_without_done_is_incomplete()
    {
        await using var server = new FakeHttpServer(async (_, stream, _) =>
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + Text(" a")));
        RequestResult r = await SendOnceAsync(server);
        Assert.Equal("incomplete_stream", r.Error);
    }

    [Theory]
    [InlineData(500, "http_500")]
    [InlineData(429, "http_429")]
    [InlineData(404, "http_404")]
    public async Task Http_errors_are_counted_with_status_and_message(int status, string reason)
    {
        await using var server = new FakeHttpServer(async (_, stream, _) =>
        {
            string body = "{\"error\":{\"message\":\"busy\",\"type\":\"x\"}}";
            await FakeHttpServer.WriteAsync(stream, $"HTTP/1.1 {status} Oops\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        });
        RequestResult r = await SendOnceAsync(server);
        Assert.Equal(reason, r.Error);
        Assert.Equal(status, r.HttpStatus);
        Assert.Equal("busy", r.ErrorDetail);
    }

    [Fact]
    public async Task A_connection_reset_is_counted_as_such()
    {
        await using var server = new FakeHttpServer((_, _, socket) =>
        {
            socket.LingerState = new LingerOption(true, 0); // RST on close
            socket.Close();
            return Task.CompletedTask;
        });
        RequestResult r = await SendOnceAsync(server);
        Assert.Equal("connection_reset", r.Error);
    }

    [Fact]
    public async Task A_reset_mid_stream_keeps_the_tokens_seen_and_counts_a_reset()
    {
        await using var server = new FakeHttpServer(async (_, stream, socket) =>
        {
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + Text(" a"));
            await Task.Delay(50);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        RequestResult r = await SendOnceAsync(server);
        Assert.Contains(r.Error, new[] { "connection_reset", "incomplete_stream" });
        Assert.Equal(1, r.ContentChunks);
    }

    [Fact]
    public async Task A_server_that_stalls_past_the_timeout_is_a_timeout()
    {
        await using var server = new FakeHttpServer(async (_, stream, _) =>
        {
            await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + Text(" a"));
            await Task.Delay(3000);
        });
        RequestResult r = await SendOnceAsync(server, TimeSpan.FromMilliseconds(300));
        Assert.Equal("timeout", r.Error);
    }

    [Fact]
    public async Task Nothing_listening_is_connection_refused()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        ReplayOptions options = ReplayTestData.Options(new Uri($"http://127.0.0.1:{port}"), ReplayTestData.TempDir());
        using var client = new OpenAiClient(options, 1);
        var result = new RequestResult { OutputTokens = 1 };
        await client.SendAsync(client.BuildBody("x", 1), result, System.Diagnostics.Stopwatch.GetTimestamp(), TestContext.Current.CancellationToken);
        Assert.Equal("connection_refused", result.Error);
    }

    [Fact]
    public void Body_switches_off_each_forcing_field()
    {
        ReplayOptions options = ReplayTestData.Options(new Uri("http://127.0.0.1:1"), "x") with { SendIgnoreEos = false, SendMinTokens = false, IncludeUsage = false, Api = OpenAiApi.Chat };
        using var client = new OpenAiClient(options, 1);
        string body = System.Text.Encoding.UTF8.GetString(client.BuildBody("hi", 7));
        Assert.Equal("{\"model\":\"llama2-70b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":7,\"stream\":true}", body);
        ReplayOptions all = options with { SendIgnoreEos = true, SendMinTokens = true, IncludeUsage = true, Api = OpenAiApi.Completions };
        using var client2 = new OpenAiClient(all, 1);
        Assert.Equal(
            "{\"model\":\"llama2-70b\",\"prompt\":\"hi\",\"max_tokens\":7,\"min_tokens\":7,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
            System.Text.Encoding.UTF8.GetString(client2.BuildBody("hi", 7)));
    }

    [Theory]
    [InlineData("http://h:1", "http://h:1/v1/completions")]
    [InlineData("http://h:1/", "http://h:1/v1/completions")]
    [InlineData("http://h:1/v1", "http://h:1/v1/completions")]
    [InlineData("http://h:1/proxy/v1/", "http://h:1/proxy/v1/completions")]
    public void Endpoint_url_accepts_a_base_with_or_without_v1(string endpoint, string expected) =>
        Assert.Equal(expected, OpenAiClient.EndpointUrl(new Uri(endpoint), OpenAiApi.Completions).ToString());
}
