using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Splitwise.Tokens;

namespace Splitwise.Replay;

/// <summary>
/// Prompts built with the server's own tokenizer (<c>--tokenizer server</c>): its <c>/tokenize</c> and
/// <c>/detokenize</c> (vLLM, SGLang, llama.cpp and TGI have them). The token pool is the server's tokenization of a
/// fixed English word list; a prompt is a seeded draw of ids from it, sent as ids where the API takes them
/// (<c>/v1/completions</c>, which vLLM and llama.cpp accept), so the server counts exactly those ids. As text (the chat
/// API, or <see cref="ReplayOptions.PromptAsText"/>) the ids are detokenized and the text re-tokenized by the server
/// until its count is the length asked for.
/// </summary>
/// <remarks>Thread-safe once <see cref="CreateAsync"/> returned. A text prompt costs two HTTP calls per fix-up round.</remarks>
internal sealed class ServerPromptSource : IPromptSource, IDisposable
{
    private const int PoolWords = 3000;
    private const int MaxFixupRounds = 12;

    private readonly HttpClient _http;
    private readonly Uri _tokenize;
    private readonly Uri _detokenize;
    private readonly string _model;
    private readonly bool _asText;
    private int[] _pool = [];

    private ServerPromptSource(ReplayOptions options, HttpClient http)
    {
        _http = http;
        string basePath = options.Endpoint.AbsolutePath.TrimEnd('/');
        if (basePath.EndsWith("/v1", StringComparison.Ordinal))
        {
            basePath = basePath[..^3];
        }

        _tokenize = new UriBuilder(options.Endpoint) { Path = basePath + "/tokenize" }.Uri;
        _detokenize = new UriBuilder(options.Endpoint) { Path = basePath + "/detokenize" }.Uri;
        _model = options.Model;
        _asText = options.PromptAsText || options.Api == OpenAiApi.Chat;
    }

    public string Name => "server";

    public int Parallelism => _asText ? 8 : Environment.ProcessorCount;

    /// <summary>Fetches the token pool from the server; a server without <c>/tokenize</c> is a failure naming the fix.</summary>
    public static async Task<ServerPromptSource> CreateAsync(ReplayOptions options, CancellationToken token)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        if (options.ApiKey is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + key);
        }

        var source = new ServerPromptSource(options, http);
        try
        {
            FillerVocabulary words = TextTokenizer.Create("cl100k_base").Filler;
            var text = new StringBuilder();
            for (int i = 0; i < words.Count && i < PoolWords; i++)
            {
                text.Append(words.Texts[i]);
            }

            int[] ids = await source.TokenizeAsync(text.ToString(), token);
            source._pool = [.. ids.Distinct()];
            if (source._pool.Length < 16)
            {
                throw new SplitwiseException($"--tokenizer server: {source._tokenize} gave only {source._pool.Length} distinct tokens for {PoolWords} words; give the model's tokenizer.json instead", ExitCodes.Failure);
            }

            return source;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public bool FollowsHashChains => true;

    public ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, CancellationToken token) =>
        BuildAsync(tokens, seed, ReadOnlyMemory<long>.Empty, 0, token);

    /// <summary>
    /// A prompt whose 512-token blocks follow a prefix hash chain, as <see cref="PromptBuilder"/> builds them with a
    /// local tokenizer: block k's ids are drawn from a stream seeded by <paramref name="chainSeed"/> and chain id k
    /// alone, the tail from the request's stream. As ids the server sees exactly those tokens; as text the shared blocks
    /// are the same text, so its tokenization agrees but for the token at a block's end.
    /// </summary>
    public async ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, ReadOnlyMemory<long> chain, ulong chainSeed, CancellationToken token)
    {
        var ids = new List<int>(tokens);
        ReadOnlySpan<long> blocks = chain.Span;
        for (int k = 0; k < blocks.Length && ids.Count < tokens; k++)
        {
            var block = new SplitMix64(chainSeed ^ ((ulong)blocks[k] * 0x9E3779B97F4A7C15UL));
            for (int j = 0; j < 512 && ids.Count < tokens; j++)
            {
                ids.Add(_pool[block.NextBelow((uint)_pool.Length)]);
            }
        }

        var rng = new SplitMix64(seed ^ ((ulong)tokens * 0x9E3779B97F4A7C15UL));
        while (ids.Count < tokens)
        {
            ids.Add(_pool[rng.NextBelow((uint)_pool.Length)]);
        }

        if (!_asText)
        {
            return new PromptPayload(null, [.. ids], tokens);
        }

        string text = await DetokenizeAsync(ids, token);
        int count = (await TokenizeAsync(text, token)).Length;
        for (int round = 0; round < MaxFixupRounds && count != tokens; round++)
        {
            int delta = tokens - count;
            if (delta > 0)
            {
                for (int i = 0; i < delta; i++)
                {
                    ids.Add(_pool[rng.NextBelow((uint)_pool.Length)]);
                }
            }
            else
            {
                ids.RemoveRange(ids.Count - Math.Min(-delta, ids.Count - 1), Math.Min(-delta, ids.Count - 1));
            }

            text = await DetokenizeAsync(ids, token);
            count = (await TokenizeAsync(text, token)).Length;
        }

        return new PromptPayload(text, null, count);
    }

    private async Task<int[]> TokenizeAsync(string text, CancellationToken token)
    {
        // vLLM and SGLang read "prompt" and "add_special_tokens", llama.cpp "content" and "add_special".
        var body = new JsonObject { ["model"] = _model, ["prompt"] = text, ["content"] = text, ["add_special_tokens"] = false, ["add_special"] = false };
        using JsonDocument doc = await PostAsync(_tokenize, body, token);
        if (!doc.RootElement.TryGetProperty("tokens", out JsonElement tokens) || tokens.ValueKind != JsonValueKind.Array)
        {
            throw new SplitwiseException($"--tokenizer server: {_tokenize} answered without a 'tokens' array; give the model's tokenizer.json instead", ExitCodes.Failure);
        }

        // llama.cpp with pieces answers [{"id": n, "piece": ...}]; everyone else plain ids.
        return [.. tokens.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Object ? t.GetProperty("id").GetInt32() : t.GetInt32())];
    }

    private async Task<string> DetokenizeAsync(List<int> ids, CancellationToken token)
    {
        var body = new JsonObject { ["model"] = _model, ["tokens"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]) };
        using JsonDocument doc = await PostAsync(_detokenize, body, token);
        JsonElement root = doc.RootElement;
        return (root.TryGetProperty("prompt", out JsonElement p) || root.TryGetProperty("content", out p)) && p.ValueKind == JsonValueKind.String
            ? p.GetString()!
            : throw new SplitwiseException($"--tokenizer server: {_detokenize} answered without 'prompt' or 'content'", ExitCodes.Failure);
    }

    private async Task<JsonDocument> PostAsync(Uri url, JsonObject body, CancellationToken token)
    {
        HttpResponseMessage response;
        try
        {
            // The body as text (no reflection-based serializer: the tool is Native AOT).
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            response = await _http.PostAsync(url, content, token);
        }
        catch (HttpRequestException ex)
        {
            throw new SplitwiseException($"--tokenizer server: {url} failed: {ex.Message}; check --endpoint", ExitCodes.Failure, ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new SplitwiseException(
                    $"--tokenizer server: {url} answered {(int)response.StatusCode}; this server has no usable {url.AbsolutePath} (vLLM, SGLang, llama.cpp and TGI have one); give the model's tokenizer.json or .model instead",
                    ExitCodes.Failure);
            }

            byte[] bytes = await response.Content.ReadAsByteArrayAsync(token);
            try
            {
                return JsonDocument.Parse(bytes);
            }
            catch (JsonException ex)
            {
                throw new SplitwiseException($"--tokenizer server: {url} answered with invalid JSON ({ex.Message})", ExitCodes.Failure, ex);
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
