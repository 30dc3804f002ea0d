using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Replay;
using Splitwise.Serving;
using Splitwise.Simulation;
using Splitwise.Tests.Replay;

namespace Splitwise.Tests.Serving;

/// <summary>
/// <c>serve --engine vllm</c>: each prompt's token ids become a prefix hash chain of 512-token blocks for the engine's
/// prefix cache, and the usage reports what it served as <c>prompt_tokens_details.cached_tokens</c>, as vLLM does.
/// </summary>
public class ServePrefixCacheTests
{
    /// <summary>One DGX-H100 of Llama-2-70B with the vLLM personality (roofline model: no data files), 20× real time.</summary>
    private static EmulatedCluster VllmCluster(bool prefixCaching = true) => EmulatedCluster.FromConfig(
        ClusterConfig.ForDesign("baseline-h100", 1) with { Performance = PerformanceModelKind.Roofline, Vllm = new VllmEngineOptions { PrefixCaching = prefixCaching } },
        Catalog.BuiltIn, profile: null, speedup: 20);

    private static int[] Ids(int seed, int count) => [.. Enumerable.Range(0, count).Select(i => 1 + (int)((((uint)seed * 2654435761u) + ((uint)i * 40503u)) % 90000))];

    private static async Task<JsonElement> UsageAsync(HttpClient http, int[] prompt, bool stream)
    {
        var body = new Dictionary<string, object> { ["model"] = "llama2-70b", ["prompt"] = prompt, ["max_tokens"] = 3, ["ignore_eos"] = true, ["stream"] = stream };
        if (stream)
        {
            body["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = true };
        }

        using HttpResponseMessage response = await http.PostAsJsonAsync("v1/completions", body, TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, text);
        string json = stream
            ? text.Split("\n\n").Select(e => e.Trim()).Where(e => e.StartsWith("data: {", StringComparison.Ordinal)).Select(e => e[6..]).Last()
            : text;
        return JsonDocument.Parse(json).RootElement.GetProperty("usage").Clone();
    }

    private static int Cached(JsonElement usage) => usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();

    [Fact]
    public async Task Two_requests_sharing_a_1024_token_prefix_get_cached_tokens_1024_on_the_second()
    {
        using EmulatedCluster cluster = VllmCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        int[] shared = Ids(1, 1024);

        JsonElement first = await UsageAsync(http, [.. shared, .. Ids(2, 100)], stream: false);
        JsonElement second = await UsageAsync(http, [.. shared, .. Ids(3, 50)], stream: true);
        JsonElement third = await UsageAsync(http, [.. shared[..700], .. Ids(4, 400)], stream: true); // one whole block shared
        JsonElement other = await UsageAsync(http, Ids(5, 1100), stream: false);

        Assert.Equal(0, Cached(first));
        Assert.Equal(1124, first.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(1024, Cached(second));
        Assert.Equal(1074, second.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(512, Cached(third));
        Assert.Equal(0, Cached(other));
    }

    [Fact]
    public async Task Without_prefix_caching_the_vllm_engine_reports_none_and_the_default_engine_no_details()
    {
        using EmulatedCluster cluster = VllmCluster(prefixCaching: false);
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        int[] prompt = Ids(1, 1100);
        await UsageAsync(http, prompt, stream: false);
        Assert.Equal(0, Cached(await UsageAsync(http, prompt, stream: true)));

        await using ServedCluster plain = await ServingFixtures.ServeAsync();
        JsonElement usage = await UsageAsync(plain.Http, prompt, stream: true);
        Assert.False(usage.TryGetProperty("prompt_tokens_details", out _));
    }

    /// <summary>
    /// replay of a trace with prefix hash chains against <c>serve --engine vllm</c>: replay builds each 512-token block
    /// of a prompt from its chain id (text, through cl100k_base), serve hashes the tokens it reads back into its own
    /// chain — the blocks line up, so the server's cache sees exactly the trace's sharing (whole blocks) and replay
    /// records it per request; another run's prompts share nothing with this one's. The same with the server's own
    /// tokenizer (<c>--tokenizer server</c>: token ids from its /tokenize, sent as ids).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replay_of_a_trace_with_hash_chains_against_serve_vllm_records_the_traces_sharing_block_for_block(bool serverTokenizer)
    {
        // Sequential requests of 1,200 tokens: [1,2,3], [1,2,4], [5,6,7], [1,8,9]; the last block of each is partial.
        long ms = TimeSpan.TicksPerMillisecond;
        var trace = new Splitwise.Traces.Trace("chains", DateTimeOffset.UnixEpoch, [0, 300 * ms, 600 * ms, 900 * ms], [1200, 1200, 1200, 1200], [4, 4, 4, 4], 4,
            [0, 3, 6, 9, 12], [1, 2, 3, 1, 2, 4, 5, 6, 7, 1, 8, 9]);
        using EmulatedCluster cluster = VllmCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        async Task<(int[] Cached, ReplaySummary Summary)> RunOnce(ulong prefixSeed)
        {
            string dir = ReplayTestData.TempDir();
            ReplayOptions options = ReplayTestData.Options(server.BaseAddress, dir) with { Warmup = false, MaxConcurrency = 1, PrefixSeed = prefixSeed };
            if (serverTokenizer)
            {
                options = options with { Tokenizer = ReplayOptions.ServerTokenizer };
            }

            ReplaySummary summary = await new ReplayRunner(options, trace).RunAsync(TestContext.Current.CancellationToken);
            string[] csv = File.ReadAllLines(Path.Combine(dir, "requests.csv"));
            string[] header = csv[0].Split(',');
            int row = Array.IndexOf(header, "trace_index"), cached = Array.IndexOf(header, "cached_tokens_usage");
            return ([.. csv.Skip(1).Select(l => l.Split(',')).OrderBy(f => int.Parse(f[row], CultureInfo.InvariantCulture))
                .Select(f => int.Parse(f[cached], CultureInfo.InvariantCulture))], summary);
        }

        (int[] first, ReplaySummary summary) = await RunOnce(7);
        Assert.Equal([0, 1024, 0, 512], first);
        Assert.Equal(4, summary.CachedTokensReported);
        Assert.Equal(2, summary.PrefixCacheHits);
        Assert.Equal(1536, summary.CachedPromptTokens);
        Assert.Equal(4, summary.ExactInputPrompts);
        (int[] second, _) = await RunOnce(8);
        Assert.Equal([0, 1024, 0, 512], second);
    }
}
