using System.Text.Json;
using Splitwise.Traces;

namespace Splitwise.Serving;

/// <summary>An invalid request: becomes an OpenAI error object with HTTP <see cref="Status"/>.</summary>
internal sealed class ApiError(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    public string? Code { get; } = code;
}

/// <summary>A validated <c>/v1/completions</c> or <c>/v1/chat/completions</c> request.</summary>
internal sealed record CompletionRequest(
    bool Chat,
    string Model,
    int PromptTokens,
    int? MaxTokens,
    int MinTokens,
    bool IgnoreEos,
    bool Stream,
    bool IncludeUsage,
    ulong PromptHash)
{
    /// <summary>The prompt's prefix hash chain (<see cref="PrefixHashChain"/>: one id per full 512-token block of its
    /// token ids); empty unless <see cref="Parse"/> was given an encoder.</summary>
    public long[] PrefixChain { get; init; } = [];

    /// <summary>
    /// Parses and validates a body. Prompt tokens are counted with <paramref name="countTokens"/> (a prompt given as
    /// token ids counts its ids; chat counts the text of every message, without a template). With
    /// <paramref name="encode"/> (a prefix-caching engine), texts are encoded instead and the ids make
    /// <see cref="PrefixChain"/>.
    /// </summary>
    public static CompletionRequest Parse(ReadOnlySpan<byte> body, bool chat, string servedModel, Func<string, int> countTokens, Func<string, IReadOnlyList<int>>? encode = null)
    {
        PrefixHashChain? chain = encode is null ? null : new PrefixHashChain();
        int Count(string text)
        {
            if (chain is null)
            {
                return countTokens(text);
            }

            IReadOnlyList<int> ids = encode!(text);
            chain.Add(ids);
            return ids.Count;
        }

        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new ApiError(400, $"the request body is not valid JSON: {ex.Message}", code: "invalid_json");
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ApiError(400, "the request body must be a JSON object", code: "invalid_json");
            }

            string model = RequireString(root, "model");
            if (!string.Equals(model, servedModel, StringComparison.Ordinal))
            {
                throw new ApiError(400, $"The model '{model}' does not exist; this server serves '{servedModel}'.", param: "model", code: "model_not_found");
            }

            int promptTokens = 0;
            ulong hash = 14695981039346656037UL;
            if (chat)
            {
                if (!root.TryGetProperty("messages", out JsonElement messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
                {
                    throw new ApiError(400, "'messages' must be a non-empty array of {role, content} objects", param: "messages");
                }

                foreach (JsonElement m in messages.EnumerateArray())
                {
                    if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String)
                    {
                        throw new ApiError(400, "each message must be an object with a string 'role'", param: "messages");
                    }

                    if (!m.TryGetProperty("content", out JsonElement content) || content.ValueKind == JsonValueKind.Null)
                    {
                        continue; // an assistant message with tool calls may have no content
                    }

                    if (content.ValueKind == JsonValueKind.String)
                    {
                        string text = content.GetString()!;
                        promptTokens += Count(text);
                        hash = Fnv(hash, text);
                    }
                    else if (content.ValueKind == JsonValueKind.Array)
                    {
                        foreach (JsonElement part in content.EnumerateArray())
                        {
                            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String)
                            {
                                string text = t.GetString()!;
                                promptTokens += Count(text);
                                hash = Fnv(hash, text);
                            }
                        }
                    }
                    else
                    {
                        throw new ApiError(400, "message 'content' must be a string or an array of content parts", param: "messages");
                    }
                }
            }
            else
            {
                if (!root.TryGetProperty("prompt", out JsonElement prompt))
                {
                    throw new ApiError(400, "'prompt' is required", param: "prompt");
                }

                switch (prompt.ValueKind)
                {
                    case JsonValueKind.String:
                        string text = prompt.GetString()!;
                        promptTokens = Count(text);
                        hash = Fnv(hash, text);
                        break;
                    case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.Number:
                        foreach (JsonElement id in prompt.EnumerateArray())
                        {
                            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int tokenId) || tokenId < 0)
                            {
                                throw new ApiError(400, "'prompt' as token ids must be an array of non-negative integers", param: "prompt");
                            }

                            hash = (hash ^ (uint)tokenId) * 1099511628211UL;
                            chain?.Add(tokenId);
                            promptTokens++;
                        }

                        break;
                    case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                        string single = prompt[0].GetString()!;
                        promptTokens = Count(single);
                        hash = Fnv(hash, single);
                        break;
                    case JsonValueKind.Array when prompt.GetArrayLength() > 1:
                        throw new ApiError(400, "batched prompts (several prompts in one request) are not supported; send one request per prompt", param: "prompt");
                    default:
                        throw new ApiError(400, "'prompt' must be a string, a one-element array of strings or an array of token ids", param: "prompt");
                }
            }

            if (promptTokens == 0)
            {
                throw new ApiError(400, "the prompt is empty", param: chat ? "messages" : "prompt");
            }

            int? maxTokens = OptionalInt(root, "max_tokens", 1) ?? OptionalInt(root, "max_completion_tokens", 1);
            int minTokens = OptionalInt(root, "min_tokens", 0) ?? 0;
            if (maxTokens is { } max && minTokens > max)
            {
                throw new ApiError(400, $"min_tokens ({minTokens}) must be at most max_tokens ({max})", param: "min_tokens");
            }

            int n = OptionalInt(root, "n", 1) ?? 1;
            if (n != 1)
            {
                throw new ApiError(400, "only n = 1 is supported", param: "n");
            }

            bool stream = OptionalBool(root, "stream") ?? false;
            bool ignoreEos = OptionalBool(root, "ignore_eos") ?? false;
            bool includeUsage = false;
            if (root.TryGetProperty("stream_options", out JsonElement so) && so.ValueKind != JsonValueKind.Null)
            {
                if (so.ValueKind != JsonValueKind.Object)
                {
                    throw new ApiError(400, "'stream_options' must be an object", param: "stream_options");
                }

                if (!stream)
                {
                    throw new ApiError(400, "'stream_options' is only allowed when 'stream' is true", param: "stream_options");
                }

                includeUsage = OptionalBool(so, "include_usage") ?? false;
            }

            foreach (string name in (string[])["temperature", "top_p", "presence_penalty", "frequency_penalty"])
            {
                if (root.TryGetProperty(name, out JsonElement v) && v.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
                {
                    throw new ApiError(400, $"'{name}' must be a number", param: name);
                }
            }

            return new CompletionRequest(chat, model, promptTokens, maxTokens, minTokens, ignoreEos, stream, includeUsage, hash)
            {
                PrefixChain = chain?.ToArray() ?? [],
            };
        }
    }

    private static string RequireString(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new ApiError(400, $"'{name}' is required and must be a string", param: name);

    private static int? OptionalInt(JsonElement root, string name, int min)
    {
        if (!root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int value) || value < min)
        {
            throw new ApiError(400, $"'{name}' must be an integer >= {min}", param: name);
        }

        return value;
    }

    private static bool? OptionalBool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ApiError(400, $"'{name}' must be a boolean", param: name),
        };
    }

    private static ulong Fnv(ulong hash, string text)
    {
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
