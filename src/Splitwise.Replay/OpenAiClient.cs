using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text.Json;

namespace Splitwise.Replay;

/// <summary>
/// Streams OpenAI-compatible completions and measures them: TTFT at the first chunk carrying output text, ITL between
/// content chunks, E2E at the last content chunk, true token counts from <c>usage</c>. Every failure is classified.
/// </summary>
/// <remarks>
/// One instance per run: it owns a <see cref="SocketsHttpHandler"/> whose pool is sized for the run's concurrency
/// (no hidden cap), so connections are reused. A request that fails before any response byte — the pooled connection
/// was reset or closed, as llama.cpp's server does after every streaming response although it advertises keep-alive —
/// is sent once more on a fresh connection (a second handler that never reuses one) and marked
/// <see cref="RequestResult.Retried"/>; its TTFT and E2E still count from the first send. Thread-safe.
/// </remarks>
public sealed class OpenAiClient : IDisposable
{
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly HttpClient _http;
    private readonly HttpClient _fresh;
    private readonly Uri _url;
    private readonly ReplayOptions _options;
    private readonly string? _authorization;

    public OpenAiClient(ReplayOptions options, int expectedConcurrency)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = expectedConcurrency > 0 ? expectedConcurrency : int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        };
        _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        // Retries only: a zero lifetime means every request opens its own connection, never a pooled (maybe dead) one.
        _fresh = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        })
        { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _url = EndpointUrl(options.Endpoint, options.Api);
        _authorization = options.ApiKey is { Length: > 0 } key ? "Bearer " + key : null;
    }

    /// <summary>The full URL for the API: <c>{endpoint}/v1/completions</c> or <c>{endpoint}/v1/chat/completions</c>.</summary>
    public static Uri EndpointUrl(Uri endpoint, OpenAiApi api)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        string basePath = endpoint.AbsolutePath.TrimEnd('/');
        if (!basePath.EndsWith("/v1", StringComparison.Ordinal))
        {
            basePath += "/v1";
        }

        string path = basePath + (api == OpenAiApi.Chat ? "/chat/completions" : "/completions");
        return new UriBuilder(endpoint) { Path = path }.Uri;
    }

    /// <summary>The JSON body of one streaming request, serialised once before the run.</summary>
    public byte[] BuildBody(string prompt, int outputTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return BuildBody(new PromptPayload(prompt, null, -1), outputTokens);
    }

    /// <summary>The JSON body of one streaming request: the prompt as text, or as token ids (<c>/v1/completions</c>
    /// only: the chat API takes text).</summary>
    public byte[] BuildBody(PromptPayload prompt, int outputTokens)
    {
        if (prompt.Ids is not null && _options.Api == OpenAiApi.Chat)
        {
            throw new ArgumentException("the chat API takes text, not token ids", nameof(prompt));
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>((prompt.Text?.Length ?? prompt.Ids!.Length * 7) + 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", _options.Model);
            if (_options.Api == OpenAiApi.Chat)
            {
                json.WriteStartArray("messages");
                json.WriteStartObject();
                json.WriteString("role", "user");
                json.WriteString("content", prompt.Text);
                json.WriteEndObject();
                json.WriteEndArray();
            }
            else if (prompt.Ids is { } ids)
            {
                json.WriteStartArray("prompt");
                foreach (int id in ids)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteString("prompt", prompt.Text);
            }

            int max = Math.Max(1, outputTokens);
            if (_options.SendMaxTokens)
            {
                json.WriteNumber("max_tokens", max);
            }

            if (_options.SendMinTokens)
            {
                json.WriteNumber("min_tokens", max);
            }

            if (_options.SendIgnoreEos)
            {
                json.WriteBoolean("ignore_eos", true);
            }

            json.WriteBoolean("stream", true);
            if (_options.IncludeUsage)
            {
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Sends one request and reads its stream to the end, filling <paramref name="result"/>. Never throws except for
    /// cancellation of the whole run (<paramref name="runToken"/>); every other failure is recorded in the result.
    /// </summary>
    /// <param name="body">The request body from <see cref="BuildBody(PromptPayload, int)"/>.</param>
    /// <param name="result">The row to fill; <see cref="RequestResult.SentNs"/> is set here.</param>
    /// <param name="runStartTimestamp">The <see cref="Stopwatch"/> timestamp of the run's time zero.</param>
    /// <param name="runToken">Cancels the whole run.</param>
    public async Task SendAsync(byte[] body, RequestResult result, long runStartTimestamp, CancellationToken runToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(result);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        timeout.CancelAfter(_options.Timeout);
        long sent = Stopwatch.GetTimestamp();
        result.SentNs = ToNs(sent - runStartTimestamp);
        long first = -1, last = -1, previous = -1;
        long[] gaps = result.OutputTokens > 1 ? new long[result.OutputTokens - 1] : [];
        int gapCount = 0;
        bool done = false;
        try
        {
            using HttpResponseMessage response = await SendWithRetryAsync(body, result, timeout.Token);
            result.HttpStatus = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                string text = await ReadErrorBodyAsync(response, timeout.Token);
                Fail(result, $"http_{(int)response.StatusCode}", text);
                return;
            }

            using Stream stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            SseParser<StreamChunk> parser = SseParser.Create(stream, static (type, data) => StreamChunk.Parse(type, data));
            await foreach (SseItem<StreamChunk> item in parser.EnumerateAsync(timeout.Token))
            {
                long now = Stopwatch.GetTimestamp();
                StreamChunk chunk = item.Data;
                if (chunk.IsDone)
                {
                    done = true;
                    break;
                }

                if (chunk.Error is not null)
                {
                    Fail(result, "stream_error", chunk.Error);
                    break;
                }

                if (chunk.HasContent)
                {
                    if (first < 0)
                    {
                        first = now;
                    }
                    else
                    {
                        if (gapCount == gaps.Length)
                        {
                            Array.Resize(ref gaps, Math.Max(4, gaps.Length * 2)); // more chunks than the trace's tokens
                        }

                        gaps[gapCount++] = ToNs(now - previous);
                    }

                    previous = now;
                    last = now;
                    result.ContentChunks++;
                }

                if (chunk.HasUsage)
                {
                    result.UsageCompletionTokens = chunk.CompletionTokens;
                    result.UsagePromptTokens = chunk.PromptTokens;
                    result.UsageCachedTokens = chunk.CachedTokens;
                }
            }

            if (result.Error is null && !done)
            {
                Fail(result, "incomplete_stream", "the stream ended without data: [DONE]");
            }
            else if (result.Error is null && first < 0)
            {
                Fail(result, "no_output", "the stream carried no output text");
            }
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            Fail(result, "cancelled", "the run was interrupted");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Fail(result, "timeout", $"no complete response within {_options.Timeout.TotalSeconds:0.###} s");
        }
        catch (OperationCanceledException ex)
        {
            Fail(result, "connect_timeout", ex.Message);
        }
        catch (HttpRequestException ex)
        {
            Fail(result, Classify(ex), ex.Message);
        }
        catch (IOException ex)
        {
            Fail(result, Classify(ex), ex.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            Fail(result, "stream_error", ex.Message);
        }
        finally
        {
            if (first >= 0)
            {
                result.TtftNs = ToNs(first - sent);
                result.E2eNs = ToNs(last - sent);
            }

            result.ItlNs = gapCount == gaps.Length ? gaps : gaps[..gapCount];
        }
    }

    /// <summary>
    /// Sends the request on a pooled connection; when that fails before any response byte with a reset or closed
    /// connection, sends it once more on a fresh connection (<see cref="_fresh"/>) and marks the result retried.
    /// </summary>
    private async Task<HttpResponseMessage> SendWithRetryAsync(byte[] body, RequestResult result, CancellationToken token)
    {
        try
        {
            using HttpRequestMessage first = CreateRequest(body);
            return await _http.SendAsync(first, HttpCompletionOption.ResponseHeadersRead, token);
        }
        catch (HttpRequestException ex) when (!token.IsCancellationRequested && Classify(ex) == "connection_reset")
        {
            result.Retried = true;
            result.RetryReason = ex.InnerException?.Message ?? ex.Message;
            using HttpRequestMessage second = CreateRequest(body);
            return await _fresh.SendAsync(second, HttpCompletionOption.ResponseHeadersRead, token);
        }
    }

    private HttpRequestMessage CreateRequest(byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _url)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version11,
        };
        // Constant headers go in unparsed: no header-value objects on the send path.
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        if (_authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        }

        return request;
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken token)
    {
        try
        {
            string body = await response.Content.ReadAsStringAsync(token);
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("error", out JsonElement error))
                {
                    return error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out JsonElement m)
                        ? m.GetString() ?? body
                        : error.ToString();
                }
            }
            catch (JsonException)
            {
            }

            return body.Length > 300 ? body[..300] : body;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return ex.Message;
        }
    }

    private static void Fail(RequestResult result, string reason, string detail)
    {
        result.Error ??= reason;
        result.ErrorDetail ??= detail.ReplaceLineEndings(" ");
    }

    /// <summary>Reason class of a transport failure: connection_refused, connection_reset, ... .</summary>
    internal static string Classify(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException se)
            {
                return se.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection_refused",
                    SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => "connection_reset",
                    SocketError.TimedOut => "timeout",
                    SocketError.HostNotFound or SocketError.NoData => "dns",
                    _ => "socket_" + se.SocketErrorCode.ToString().ToLowerInvariant(),
                };
            }

            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded })
            {
                return "connection_reset";
            }

            if (e is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse })
            {
                return "invalid_response";
            }
        }

        return ex is IOException ? "connection_reset" : "http_error";
    }

    private static long ToNs(long ticks) => (long)(ticks * s_nsPerTick);

    public void Dispose()
    {
        _http.Dispose();
        _fresh.Dispose();
    }
}
