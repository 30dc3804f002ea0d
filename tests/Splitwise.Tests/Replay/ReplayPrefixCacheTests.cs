using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Splitwise.Replay;

namespace Splitwise.Tests.Replay;

/// <summary>A repeated run must not measure the server's prefix cache unless asked to.</summary>
public class ReplayPrefixCacheTests
{
    /// <summary>
    /// A server with a token-level prefix cache like llama.cpp's: a prompt's cached tokens are its longest common
    /// prefix (in words, which are the filler's tokens) with any prompt it saw before, reported in
    /// <c>usage.prompt_tokens_details.cached_tokens</c>.
    /// </summary>
    private sealed class CachingServer : IAsyncDisposable
    {
        private readonly ConcurrentBag<string[]> _seen = [];

        public CachingServer() => Server = new FakeHttpServer(r => AnswerAsync(r), keepAlive: false);

        public FakeHttpServer Server { get; }

        private async Task AnswerAsync(FakeRequest request)
        {
            string prompt = JsonDocument.Parse(request.Body).RootElement.GetProperty("prompt").GetString()!;
            string[] words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int cached = 0;
            foreach (string[] earlier in _seen)
            {
                int common = 0;
                while (common < words.Length && common < earlier.Length && words[common] == earlier[common])
                {
                    common++;
                }

                cached = Math.Max(cached, common);
            }

            _seen.Add(words);
            string usage = string.Create(CultureInfo.InvariantCulture,
                $"{{\"prompt_tokens\":{words.Length},\"completion_tokens\":2,\"prompt_tokens_details\":{{\"cached_tokens\":{cached}}}}}");
            await FakeHttpServer.WriteAsync(request.Stream, FakeHttpServer.SseHeaders
                + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\n"
                + $"data: {{\"choices\":[],\"usage\":{usage}}}\n\ndata: [DONE]\n\n");
        }

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    private static async Task<ReplaySummary> RunAsync(CachingServer server, Func<ReplayOptions, ReplayOptions> configure, string? dir = null)
    {
        ReplayOptions options = configure(ReplayTestData.Options(server.Server.BaseAddress, dir ?? ReplayTestData.TempDir()) with { Warmup = false, Calibrate = false, SendMinTokens = false });
        var runner = new ReplayRunner(options, ReplayTestData.Uniform(12, 2, input: 60, output: 2));
        return await runner.RunAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_repeated_run_gets_no_prefix_cache_hits_and_records_cached_tokens()
    {
        await using var server = new CachingServer();
        ReplaySummary first = await RunAsync(server, o => o with { PrefixSeed = 1 });
        string dir = ReplayTestData.TempDir();
        ReplaySummary second = await RunAsync(server, o => o with { PrefixSeed = 2 }, dir);
        Assert.Equal(12, second.CachedTokensReported);
        Assert.True(second.CachedPromptTokens * 20 < 12 * 60, $"the second run found {second.CachedPromptTokens} of its prompt tokens cached");
        Assert.Equal(1UL, first.PrefixSeed);
        Assert.Equal(2UL, second.PrefixSeed);
        JsonElement summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        Assert.Equal(2UL, summary.GetProperty("prefix_seed").GetUInt64());
        Assert.Equal(second.CachedPromptTokens, summary.GetProperty("cached_prompt_tokens").GetInt64());
        string[] csv = File.ReadAllLines(Path.Combine(dir, "requests.csv"));
        int column = Array.IndexOf(csv[0].Split(','), "cached_tokens_usage");
        Assert.Equal(second.CachedPromptTokens, csv.Skip(1).Sum(l => long.Parse(l.Split(',')[column], CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task With_allow_prefix_reuse_a_repeated_run_is_served_from_the_cache()
    {
        await using var server = new CachingServer();
        await RunAsync(server, o => o with { AllowPrefixReuse = true });
        ReplaySummary second = await RunAsync(server, o => o with { AllowPrefixReuse = true });
        Assert.Null(second.PrefixSeed);
        Assert.Equal(12, second.PrefixCacheHits);
        Assert.Equal(1.0, second.CachedTokenRate);
        Assert.Contains("prefix cache: 12 of 12 requests hit", second.ToText(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A trace with prefix hash chains (Mooncake <c>hash_ids</c>, one id per 512 tokens) is replayed with exactly that
    /// sharing: a request whose chain starts with two ids seen before is served its first 1,024 tokens from the
    /// server's prefix cache, one sharing none gets nothing — and a second run (another prefix seed) finds nothing of the
    /// first run's.
    /// </summary>
    [Fact]
    public async Task A_trace_with_hash_chains_sends_its_prefix_sharing_within_a_run_and_none_across_runs()
    {
        // Four sequential requests of 1,200 tokens: [1,2,3], [1,2,4], [5,6,7], [1,8,9].
        long[] arrivals = [0, 20 * TimeSpan.TicksPerMillisecond, 40 * TimeSpan.TicksPerMillisecond, 60 * TimeSpan.TicksPerMillisecond];
        var trace = new Splitwise.Traces.Trace("chains", DateTimeOffset.UnixEpoch, arrivals, [1200, 1200, 1200, 1200], [2, 2, 2, 2], 4,
            [0, 3, 6, 9, 12], [1, 2, 3, 1, 2, 4, 5, 6, 7, 1, 8, 9]);
        await using var server = new CachingServer();
        async Task<long[]> RunOnce(ulong prefixSeed)
        {
            string dir = ReplayTestData.TempDir();
            ReplayOptions options = ReplayTestData.Options(server.Server.BaseAddress, dir) with
            {
                Warmup = false,
                Calibrate = false,
                SendMinTokens = false,
                MaxConcurrency = 1,
                PrefixSeed = prefixSeed,
            };
            var runner = new ReplayRunner(options, trace);
            await runner.RunAsync(TestContext.Current.CancellationToken);
            Assert.All(runner.Results, r => Assert.True(r is { Succeeded: true, UsageCachedTokens: >= 0 }));
            return [.. runner.Results.OrderBy(r => r!.TraceIndex).Select(r => (long)r!.UsageCachedTokens)];
        }

        long[] first = await RunOnce(7);
        Assert.Equal(0, first[0]);
        Assert.InRange(first[1], 1024, 1026); // two shared blocks (a filler word may match by chance after them)
        Assert.InRange(first[2], 0, 2);
        Assert.InRange(first[3], 512, 514);
        // Another run: its first request finds nothing of the first run's in the cache, then the same sharing again.
        long[] second = await RunOnce(8);
        Assert.InRange(second[0], 0, 2);
        Assert.InRange(second[1], 1024, 1026);
        Assert.InRange(second[3], 512, 514);
    }

    [Fact]
    public void Prompt_seeds_differ_by_run_and_request_and_without_a_prefix_seed_depend_only_on_seed_and_row()
    {
        Assert.NotEqual(ReplayRunner.PromptSeed(0, 1, 5), ReplayRunner.PromptSeed(0, 2, 5));
        Assert.NotEqual(ReplayRunner.PromptSeed(0, 1, 5), ReplayRunner.PromptSeed(0, 1, 6));
        Assert.Equal(ReplayRunner.PromptSeed(0, null, 5), ReplayRunner.PromptSeed(0, null, 5));
        Assert.Equal(5UL, ReplayRunner.PromptSeed(0, null, 5));
    }
}
