using System.Net;
using System.Text;
using System.Text.Json;
using Splitwise.Serving;
using Splitwise.Tokens;

namespace Splitwise.Tests.Serving;

public sealed class OpenAiServerTests : IAsyncLifetime
{
    private EmulatedCluster _cluster = null!;
    private OpenAiServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _cluster = ServingFixtures.FastCluster();
        _server = await ServingFixtures.StartAsync(_cluster, new ServeOptions { MaxBodyBytes = 64 * 1024, ApiKey = null });
        _http = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _cluster.Dispose();
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string body)
    {
        using HttpResponseMessage response = await _http.PostAsync(path, Json(body), TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Binds_loopback_and_reports_the_real_port()
    {
        Assert.Equal("127.0.0.1", _server.BaseAddress.Host);
        Assert.NotEqual(0, _server.BaseAddress.Port);
        string health = await _http.GetStringAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal("ok\n", health);
    }

    [Fact]
    public async Task Non_streaming_completion_returns_exactly_max_tokens_of_text_with_ignore_eos()
    {
        string prompt = new PromptBuilder(TextTokenizer.Create("cl100k_base")).Build(300, 1).Text;
        string body = JsonSerializer.Serialize(new { model = "llama2-70b", prompt, max_tokens = 37, ignore_eos = true });
        (HttpStatusCode status, JsonElement json) = await PostAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(300, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(37, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        string text = json.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(37, TextTokenizer.Create("cl100k_base").Count(text));
        Assert.Equal("length", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Without_ignore_eos_the_output_respects_min_tokens_and_max_tokens()
    {
        string body = JsonSerializer.Serialize(new { model = "llama2-70b", prompt = "hello there", max_tokens = 600, min_tokens = 550 });
        (_, JsonElement json) = await PostAsync("/v1/completions", body);
        int n = json.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.InRange(n, 550, 600);
    }

    [Fact]
    public async Task Chat_stream_carries_content_then_a_usage_only_chunk_then_done()
    {
        string body = JsonSerializer.Serialize(new
        {
            model = "llama2-70b",
            messages = new[] { new { role = "user", content = "say something" } },
            max_tokens = 5,
            ignore_eos = true,
            stream = true,
            stream_options = new { include_usage = true },
        });
        using HttpResponseMessage response = await _http.PostAsync("/v1/chat/completions", Json(body), TestContext.Current.CancellationToken);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        string[] events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        JsonElement usage = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement;
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var content = new StringBuilder();
        for (int i = 0; i < events.Length - 2; i++)
        {
            JsonElement chunk = JsonDocument.Parse(events[i]["data: ".Length..]).RootElement;
            content.Append(chunk.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        }

        Assert.Equal(5, TextTokenizer.Create("cl100k_base").Count(content.ToString()));
    }

    [Theory]
    [InlineData("{not json", "invalid_json")]
    [InlineData("[1,2]", "invalid_json")]
    [InlineData("{\"model\":\"gpt-5\",\"prompt\":\"x\"}", "model_not_found")]
    [InlineData("{\"prompt\":\"x\"}", null)]
    [InlineData("{\"model\":\"llama2-70b\"}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"max_tokens\":-1}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"max_tokens\":\"ten\"}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"max_tokens\":5,\"min_tokens\":9}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"stream\":\"yes\"}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"n\":3}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"\"}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":[1,-2]}", null)]
    [InlineData("{\"model\":\"llama2-70b\",\"prompt\":\"x\",\"max_tokens\":99999999}", "context_length_exceeded")]
    public async Task Bad_completion_requests_get_400_with_an_openai_error_object(string body, string? code)
    {
        (HttpStatusCode status, JsonElement json) = await PostAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        JsonElement error = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Error_bodies_are_written_with_plain_quotes_as_openai_does()
    {
        using HttpResponseMessage response = await _http.PostAsync("/v1/completions", Json("{\"model\":\"gpt-9\",\"prompt\":\"x\"}"), TestContext.Current.CancellationToken);
        string raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("'gpt-9'", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"llama2-70b\",\"messages\":[]}")]
    [InlineData("{\"model\":\"llama2-70b\",\"messages\":[{\"content\":\"x\"}]}")]
    [InlineData("{\"model\":\"llama2-70b\",\"messages\":[{\"role\":\"user\",\"content\":5}]}")]
    [InlineData("{\"model\":\"llama2-70b\",\"messages\":\"hi\"}")]
    public async Task Bad_chat_requests_get_400(string body)
    {
        (HttpStatusCode status, JsonElement json) = await PostAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(json.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_and_the_server_keeps_serving()
    {
        string big = JsonSerializer.Serialize(new { model = "llama2-70b", prompt = new string('a', 100_000) });
        (HttpStatusCode status, JsonElement json) = await PostAsync("/v1/completions", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", json.GetProperty("error").GetProperty("code").GetString());
        (HttpStatusCode ok, _) = await PostAsync("/v1/completions", "{\"model\":\"llama2-70b\",\"prompt\":\"hi\",\"max_tokens\":2}");
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Fact]
    public async Task Models_lists_the_served_model_and_metrics_are_prometheus_text()
    {
        JsonElement models = JsonDocument.Parse(await _http.GetStringAsync("/v1/models", TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("llama2-70b", models.GetProperty("data")[0].GetProperty("id").GetString());
        await PostAsync("/v1/completions", "{\"model\":\"llama2-70b\",\"prompt\":\"hi there\",\"max_tokens\":3,\"ignore_eos\":true}");
        string metrics = await _http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("# TYPE splitwise_requests_running gauge", metrics, StringComparison.Ordinal);
        Assert.Contains("splitwise_generation_tokens_total{model_name=\"llama2-70b\"} ", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:num_requests_waiting", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_route_is_404_with_an_error_object()
    {
        using HttpResponseMessage response = await _http.GetAsync("/v2/nothing", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}

public class OpenAiServerApiKeyTests
{
    [Fact]
    public async Task With_an_api_key_requests_without_it_get_401()
    {
        using EmulatedCluster cluster = ServingFixtures.FastCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster, new ServeOptions { ApiKey = "s3cret" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        string body = "{\"model\":\"llama2-70b\",\"prompt\":\"hi\",\"max_tokens\":2}";
        using HttpResponseMessage denied = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret");
        using HttpResponseMessage allowed = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health", TestContext.Current.CancellationToken)).StatusCode);
    }
}
