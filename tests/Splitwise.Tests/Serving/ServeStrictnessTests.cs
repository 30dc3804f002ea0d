using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Splitwise.Serving;

namespace Splitwise.Tests.Serving;

/// <summary><c>serve</c> is as strict as vLLM: a context length, vLLM's 400 beyond it, model lookup, vLLM's metrics.</summary>
public class ServeStrictnessTests
{
    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        using HttpResponseMessage response = await http.GetAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(expected, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.Clone();
    }

    [Fact]
    public async Task Models_report_the_context_length_and_one_model_can_be_looked_up()
    {
        await using ServedCluster served = await ServingFixtures.ServeAsync();
        HttpClient http = served.Http;
        JsonElement list = await GetJsonAsync(http, "/v1/models", HttpStatusCode.OK);
        Assert.Equal(4096, list.GetProperty("data")[0].GetProperty("max_model_len").GetInt32());
        Assert.True(served.Cluster.MaxRequestTokens > 4096, "the KV capacity is not what max_model_len reports");
        JsonElement one = await GetJsonAsync(http, "/v1/models/llama2-70b", HttpStatusCode.OK);
        Assert.Equal("llama2-70b", one.GetProperty("id").GetString());
        Assert.Equal(4096, one.GetProperty("max_model_len").GetInt32());
        JsonElement missing = await GetJsonAsync(http, "/v1/models/gpt-9", HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", missing.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(6000, 16)]
    [InlineData(100, 100000)]
    [InlineData(4096, null)]
    public async Task Prompt_and_max_tokens_beyond_the_context_get_vllms_400(int promptTokens, int? maxTokens)
    {
        await using ServedCluster served = await ServingFixtures.ServeAsync();
        HttpClient http = served.Http;
        var body = new Dictionary<string, object> { ["model"] = "llama2-70b", ["prompt"] = Enumerable.Range(100, promptTokens).ToArray() };
        if (maxTokens is { } m)
        {
            body["max_tokens"] = m;
        }

        using HttpResponseMessage response = await http.PostAsJsonAsync("/v1/completions", body, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(
            $"This model's maximum context length is 4096 tokens. However, you requested {promptTokens + (maxTokens ?? 0)} tokens ({promptTokens} in the messages, {maxTokens ?? 0} in the completion). Please reduce the length of the messages or completion.",
            error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Max_model_len_overrides_the_catalog()
    {
        await using ServedCluster served = await ServingFixtures.ServeAsync(new ServeOptions { MaxModelLen = 8192 });
        HttpClient http = served.Http;
        var body = new { model = "llama2-70b", prompt = Enumerable.Range(100, 6000).ToArray(), max_tokens = 2 };
        using HttpResponseMessage response = await http.PostAsJsonAsync("/v1/completions", body, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(8192, (await GetJsonAsync(http, "/v1/models", HttpStatusCode.OK)).GetProperty("data")[0].GetProperty("max_model_len").GetInt32());
    }

    [Fact]
    public async Task Metrics_carry_vllms_names_and_latency_histograms()
    {
        await using ServedCluster served = await ServingFixtures.ServeAsync();
        HttpClient http = served.Http;
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage r = await http.PostAsJsonAsync("/v1/completions", new { model = "llama2-70b", prompt = "hello there", max_tokens = 4, ignore_eos = true, stream = true }, ct);
            await r.Content.ReadAsStringAsync(ct);
        }

        string metrics = await http.GetStringAsync("/metrics", ct);
        foreach (string name in (string[])["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:num_preemptions_total"])
        {
            Assert.Contains($"# TYPE {name} ", metrics, StringComparison.Ordinal);
        }

        Assert.Contains("vllm:generation_tokens_total{model_name=\"llama2-70b\"} 12", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:time_to_first_token_seconds_count{model_name=\"llama2-70b\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"llama2-70b\"} 3", metrics, StringComparison.Ordinal);
        // Tokens released together go out in one chunk, so there are at most 3 × 3 gaps between chunks.
        string itl = metrics.Split('\n').Single(l => l.StartsWith("vllm:inter_token_latency_seconds_count", StringComparison.Ordinal));
        Assert.InRange(int.Parse(itl[(itl.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture), 1, 9);
        Assert.Contains("vllm:e2e_request_latency_seconds_count{model_name=\"llama2-70b\"} 3", metrics, StringComparison.Ordinal);
    }
}
