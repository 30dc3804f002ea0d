using System.Text.Json;

namespace Splitwise.Replay;

/// <summary>What one SSE <c>data:</c> payload of an OpenAI stream carried.</summary>
internal readonly record struct StreamChunk(bool IsDone, int ContentChars, int PromptTokens, int CompletionTokens, string? Error, int CachedTokens = -1)
{
    public bool HasContent => ContentChars > 0;

    public bool HasUsage => CompletionTokens >= 0;

    public static StreamChunk Done { get; } = new(true, 0, -1, -1, null);

    /// <summary>
    /// Parses a payload of <c>/v1/completions</c> (<c>choices[].text</c>) or <c>/v1/chat/completions</c>
    /// (<c>choices[].delta.content</c>, also <c>reasoning_content</c>); <c>[DONE]</c>; <c>usage</c>; and an
    /// <c>error</c> object (vLLM sends errors mid-stream this way). Never throws: bad JSON becomes an error chunk.
    /// </summary>
    public static StreamChunk Parse(string eventType, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> trimmed = data.Trim((byte)' ');
        if (trimmed.SequenceEqual("[DONE]"u8))
        {
            return Done;
        }

        if (eventType == "error")
        {
            return new StreamChunk(false, 0, -1, -1, "error event: " + System.Text.Encoding.UTF8.GetString(trimmed));
        }

        try
        {
            var reader = new Utf8JsonReader(trimmed);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return new StreamChunk(false, 0, -1, -1, "stream chunk is not a JSON object");
            }

            int content = 0, prompt = -1, completion = -1, cached = -1;
            string? error = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                        {
                            content += ReadChoice(ref reader);
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("prompt_tokens"u8))
                            {
                                reader.Read();
                                prompt = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : -1;
                            }
                            else if (reader.ValueTextEquals("completion_tokens"u8))
                            {
                                reader.Read();
                                completion = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : -1;
                            }
                            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
                            {
                                reader.Read();
                                cached = ReadCachedTokens(ref reader);
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    error = ReadError(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return new StreamChunk(false, content, prompt, completion, error, cached);
        }
        catch (JsonException ex)
        {
            return new StreamChunk(false, 0, -1, -1, "malformed JSON in stream: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return new StreamChunk(false, 0, -1, -1, "malformed JSON in stream: " + ex.Message);
        }
    }

    // Reader on the StartObject of a choice; leaves it on the matching EndObject. Returns the content length.
    private static int ReadChoice(ref Utf8JsonReader reader)
    {
        int content = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                content += reader.TokenType == JsonTokenType.String ? reader.ValueSpan.Length : 0;
            }
            else if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("reasoning_content"u8))
                    {
                        reader.Read();
                        content += reader.TokenType == JsonTokenType.String ? reader.ValueSpan.Length : 0;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return content;
    }

    // Reader on the value of usage.prompt_tokens_details (vLLM, llama.cpp, OpenAI); -1 when it has no cached_tokens.
    private static int ReadCachedTokens(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return -1;
        }

        int cached = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isCached = reader.ValueTextEquals("cached_tokens"u8);
            reader.Read();
            if (isCached && reader.TokenType == JsonTokenType.Number)
            {
                cached = reader.GetInt32();
            }
            else
            {
                reader.Skip();
            }
        }

        return cached;
    }

    private static string ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? "error";
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "error";
        }

        string message = "error";
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                message = reader.TokenType == JsonTokenType.String ? reader.GetString() ?? message : message;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return message;
    }
}
