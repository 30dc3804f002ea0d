using System.Net.Http.Json;
using System.Text.Json;
using Splitwise.Replay;
using Splitwise.Serving;
using Splitwise.Tests.Serving;

namespace Splitwise.Tests.Replay;

/// <summary><c>--tokenizer server</c>: prompts built with the server's /tokenize and /detokenize.</summary>
public class ServerTokenizerTests
{
    private static async Task<ReplaySummary> ReplayAsync(OpenAiServer server, OpenAiApi api, bool asText = false)
    {
        var options = ReplayTestData.Options(server.BaseAddress, ReplayTestData.TempDir()) with
        {
            Tokenizer = ReplayOptions.ServerTokenizer,
            Api = api,
            PromptAsText = asText,
            Warmup = false,
        };
        return await new ReplayRunner(options, ReplayTestData.Uniform(30, 2, input: 80, output: 3)).RunAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Token_id_prompts_are_exact_by_the_servers_count()
    {
        using EmulatedCluster cluster = ServingFixtures.FastCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster);
        ReplaySummary summary = await ReplayAsync(server, OpenAiApi.Completions);
        Assert.Equal("server", summary.Tokenizer);
        Assert.Equal(30, summary.Completed);
        Assert.Equal(30, summary.ExactInputPrompts);
        Assert.Equal(0, summary.PromptTokenMismatches);
        Assert.Equal(0, summary.Calibration!.AddedTokens);
    }

    [Theory]
    [InlineData(OpenAiApi.Chat, false)]
    [InlineData(OpenAiApi.Completions, true)]
    public async Task Text_prompts_are_fixed_up_with_the_servers_tokenizer_until_exact(OpenAiApi api, bool asText)
    {
        using EmulatedCluster cluster = ServingFixtures.FastCluster();
        await using OpenAiServer server = await ServingFixtures.StartAsync(cluster, new ServeOptions { Tokenizer = "o200k_base" });
        ReplaySummary summary = await ReplayAsync(server, api, asText);
        Assert.Equal(30, summary.Completed);
        Assert.Equal(30, summary.ExactInputPrompts);
        Assert.Equal(0, summary.PromptTokenMismatches);
    }

    [Fact]
    public async Task Serve_tokenizes_and_detokenizes_like_vllm()
    {
        await using ServedCluster served = await ServingFixtures.ServeAsync();
        HttpClient http = served.Http;
        CancellationToken ct = TestContext.Current.CancellationToken;
        using HttpResponseMessage tokenized = await http.PostAsJsonAsync("/tokenize", new { model = "llama2-70b", prompt = "Tell me about phase splitting" }, ct);
        JsonElement t = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync(ct)).RootElement;
        int[] ids = [.. t.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(ids.Length, t.GetProperty("count").GetInt32());
        Assert.Equal(Splitwise.Tokens.TextTokenizer.Create("cl100k_base").Count("Tell me about phase splitting"), ids.Length);
        using HttpResponseMessage detokenized = await http.PostAsJsonAsync("/detokenize", new { model = "llama2-70b", tokens = ids }, ct);
        Assert.Equal("Tell me about phase splitting", JsonDocument.Parse(await detokenized.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("prompt").GetString());
        using HttpResponseMessage bad = await http.PostAsJsonAsync("/detokenize", new { tokens = new[] { -1 } }, ct);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_server_without_tokenize_is_one_clear_failure()
    {
        await using var server = new FakeHttpServer(async (n, stream, socket) =>
            await FakeHttpServer.WriteAsync(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        var options = ReplayTestData.Options(server.BaseAddress, ReplayTestData.TempDir()) with { Tokenizer = ReplayOptions.ServerTokenizer, Warmup = false };
        SplitwiseException ex = await Assert.ThrowsAsync<SplitwiseException>(() => new ReplayRunner(options, ReplayTestData.Uniform(3, 1)).RunAsync(TestContext.Current.CancellationToken));
        Assert.Equal(ExitCodes.Failure, ex.ExitCode);
        Assert.Contains("answered 404; this server has no usable /tokenize", ex.Message, StringComparison.Ordinal);
    }
}
