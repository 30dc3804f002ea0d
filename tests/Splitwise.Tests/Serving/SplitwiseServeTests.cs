using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Serving;
using Splitwise.Tokens;

namespace Splitwise.Tests.Serving;

/// <summary><c>serve</c> emulating a phase-split design: prompt and token machines with the KV cache moving between them.</summary>
public class SplitwiseServeTests
{
    private static async Task<string> MetricsAsync(HttpClient http) => await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

    private static double Metric(string metrics, string name)
    {
        string line = metrics.Split('\n').Single(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Splitwise_design_streams_every_token_and_frees_its_memory()
    {
        ClusterConfig design = SplitwiseDesigns.Create("splitwise-hh", 1, 2) with { Performance = PerformanceModelKind.Roofline };
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, Catalog.BuiltIn, null, speedup: 10);
        Assert.Equal(3, cluster.InstanceCount);
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var builder = new PromptBuilder(TextTokenizer.Create("cl100k_base"));

        // Small prompts (KV serialized after the prompt) and large ones (layer-wise), streamed at once.
        int[] prompts = [40, 300, 700, 1500, 90, 2500, 64, 1024];
        var tasks = prompts.Select(async (p, i) =>
        {
            string body = JsonSerializer.Serialize(new { model = "llama2-70b", prompt = builder.Build(p, (ulong)i).Text, max_tokens = 5 + i, ignore_eos = true, stream = true });
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await http.PostAsync("/v1/completions", content, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            int chunks = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("data: {", StringComparison.Ordinal));
            Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
            return (Expected: 5 + i, Chunks: chunks);
        }).ToArray();
        foreach (var (expected, chunks) in await Task.WhenAll(tasks))
        {
            Assert.Equal(expected, chunks); // one chunk per token, each released when the engine produced it
        }

        string metrics = await MetricsAsync(http);
        Assert.Equal(prompts.Length, Metric(metrics, "splitwise_requests_finished_total"));
        Assert.Equal(prompts.Sum(), Metric(metrics, "splitwise_prompt_tokens_total"));
        Assert.Equal(Enumerable.Range(0, prompts.Length).Sum(i => 5 + i), Metric(metrics, "splitwise_generation_tokens_total"));
        Assert.Equal(0, Metric(metrics, "splitwise_kv_cache_usage_ratio"));
        Assert.Equal(0, Metric(metrics, "splitwise_requests_running"));
    }

    [Fact]
    public async Task A_client_that_goes_away_is_dropped_and_its_memory_freed()
    {
        ClusterConfig design = SplitwiseDesigns.Create("splitwise-hh", 1, 1) with { Performance = PerformanceModelKind.Roofline };
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, Catalog.BuiltIn, null, speedup: 1);
        // A request that decodes for minutes: beyond Llama-2's context, so the limit is lifted as vLLM's --max-model-len would.
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster, new ServeOptions { MaxModelLen = 100_000 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        string body = JsonSerializer.Serialize(new { model = "llama2-70b", prompt = "hello there", max_tokens = 100_000 - 10, ignore_eos = true, stream = true });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using (HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            string? first = await reader.ReadLineAsync(cts.Token); // the first token: it is decoding on the token machine
            Assert.StartsWith("data: {", first, StringComparison.Ordinal);
            Assert.True(Metric(await MetricsAsync(http), "splitwise_kv_cache_usage_ratio") > 0);
            await cts.CancelAsync();
        }

        for (int i = 0; i < 200 && Metric(await MetricsAsync(http), "splitwise_requests_aborted_total") < 1; i++)
        {
            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        string metrics = await MetricsAsync(http);
        Assert.Equal(1, Metric(metrics, "splitwise_requests_aborted_total"));
        Assert.Equal(0, Metric(metrics, "splitwise_requests_finished_total"));
        Assert.Equal(0, Metric(metrics, "splitwise_kv_cache_usage_ratio"));
    }
}
