using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Splitwise.Tokens;

namespace Splitwise.Serving;

/// <summary>
/// The OpenAI-compatible HTTP front of an <see cref="EmulatedCluster"/>: <c>/v1/completions</c>,
/// <c>/v1/chat/completions</c> (streaming SSE and not), <c>/v1/models</c>, <c>/health</c> and Prometheus
/// <c>/metrics</c>, on Kestrel. Bad input gets an OpenAI error object (400, 401, 404, 413); nothing a client sends
/// can crash it.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    private static readonly byte[] s_data = "data: "u8.ToArray();
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    private readonly ServeOptions _options;
    // Plain quotes and UTF-8 in JSON bodies, as OpenAI and vLLM write them (these bodies are never embedded in HTML).
    private static readonly JsonWriterOptions s_json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly EmulatedCluster _cluster;
    private readonly PromptBuilder _filler;
    private readonly WebApplication _app;
    private readonly long _created = 1_700_000_000; // a fixed "created" for /v1/models, so its output is stable
    private long _nextId;
    private long _rejected;

    // vLLM's histogram buckets (vllm/v1/metrics/loggers.py), in wall-clock seconds as a client sees them.
    private readonly PrometheusHistogram _ttft = new([0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]);
    private readonly PrometheusHistogram _itl = new([0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]);
    private readonly PrometheusHistogram _e2e = new([0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]);

    private OpenAiServer(ServeOptions options, EmulatedCluster cluster, WebApplication app)
    {
        _options = options;
        _cluster = cluster;
        _filler = new PromptBuilder(TextTokenizer.Create(options.Tokenizer));
        _app = app;
    }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:8000</c> (the real port when 0 was asked).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public EmulatedCluster Cluster => _cluster;

    /// <summary>Longest prompt + <c>max_tokens</c> accepted, reported as <c>max_model_len</c>: <c>--max-model-len</c>,
    /// else the model's context length, else what one instance's KV memory holds.</summary>
    public long MaxModelLen => _options.MaxModelLen ?? (_cluster.ContextLength > 0 ? _cluster.ContextLength : _cluster.MaxRequestTokens);

    /// <summary>Builds and starts the server; returns once it is listening.</summary>
    public static async Task<OpenAiServer> StartAsync(ServeOptions options, EmulatedCluster cluster, TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cluster);
        options.Validate();
        TextTokenizer.Create(options.Tokenizer); // fail early on a bad tokenizer
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            // Bodies up to twice the limit are read to the end and answered 413 cleanly; beyond that Kestrel cuts the
            // connection (a client still sending then sees a reset instead of the 413).
            k.Limits.MaxRequestBodySize = Math.Max(2 * options.MaxBodyBytes, options.MaxBodyBytes + (1 << 20));
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MinResponseDataRate = null; // token streams are slow by design
            if (string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                k.ListenLocalhost(options.Port);
            }
            else if (IPAddress.TryParse(options.Host, out IPAddress? ip))
            {
                k.Listen(ip, options.Port);
            }
            else
            {
                throw SplitwiseException.Usage($"--host '{options.Host}': give an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost");
            }
        });
        WebApplication app = builder.Build();
        var server = new OpenAiServer(options, cluster, app);
        server.Map(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync();
            throw new SplitwiseException($"cannot listen on {options.Host}:{options.Port}: {ex.Message}; pick another --port (0 picks a free one)", ExitCodes.Failure, ex);
        }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        if (log is not null)
        {
            await log.WriteLineAsync($"listening on {address}");
        }

        return server;
    }

    /// <summary>Completes when the server stops.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    private void Map(WebApplication app)
    {
        app.MapPost("/v1/completions", (HttpContext ctx) => CompletionAsync(ctx, chat: false));
        app.MapPost("/v1/chat/completions", (HttpContext ctx) => CompletionAsync(ctx, chat: true));
        app.MapGet("/v1/models", (HttpContext ctx) => ModelsAsync(ctx, null));
        app.MapGet("/v1/models/{id}", (HttpContext ctx) => ModelsAsync(ctx, ctx.Request.RouteValues["id"] as string)); // a RequestDelegate: no reflection (Native AOT)
        app.MapGet("/health", (HttpContext ctx) => Results.Text("ok\n", "text/plain").ExecuteAsync(ctx)); // a RequestDelegate: no reflection (Native AOT)
        app.MapGet("/metrics", (HttpContext ctx) => MetricsAsync(ctx));
        app.MapPost("/tokenize", (HttpContext ctx) => TokenizeAsync(ctx, detokenize: false));
        app.MapPost("/detokenize", (HttpContext ctx) => TokenizeAsync(ctx, detokenize: true));
        app.MapFallback((HttpContext ctx) => WriteErrorAsync(ctx, new ApiError(404, $"no route {ctx.Request.Method} {ctx.Request.Path}; this server has /v1/completions, /v1/chat/completions, /v1/models, /tokenize, /detokenize, /health and /metrics", "not_found_error")));
    }

    private bool Authorized(HttpContext ctx)
    {
        if (_options.ApiKey is not { Length: > 0 } key)
        {
            return true;
        }

        string? header = ctx.Request.Headers.Authorization;
        return header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal)
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(key));
    }

    /// <summary><c>GET /v1/models</c> (the list) or <c>GET /v1/models/{id}</c> (one model, 404 for another id).</summary>
    private async Task ModelsAsync(HttpContext ctx, string? id)
    {
        if (!Authorized(ctx))
        {
            await WriteErrorAsync(ctx, Unauthorized());
            return;
        }

        if (id is not null && id != _options.ModelName)
        {
            await WriteErrorAsync(ctx, new ApiError(404, $"The model '{id}' does not exist; this server serves '{_options.ModelName}'.", param: "model", code: "model_not_found"));
            return;
        }

        ctx.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            if (id is null)
            {
                json.WriteStartObject();
                json.WriteString("object", "list");
                json.WriteStartArray("data");
            }

            json.WriteStartObject();
            json.WriteString("id", _options.ModelName);
            json.WriteString("object", "model");
            json.WriteNumber("created", _created);
            json.WriteString("owned_by", "splitwise");
            json.WriteString("root", _options.ModelName);
            json.WriteNumber("max_model_len", MaxModelLen);
            json.WriteEndObject();
            if (id is null)
            {
                json.WriteEndArray();
                json.WriteEndObject();
            }
        }

        await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted);
    }

    /// <summary>
    /// vLLM's <c>/tokenize</c> (<c>{"prompt": text}</c>, llama.cpp's <c>{"content": text}</c> too) → <c>{"count",
    /// "max_model_len", "tokens"}</c>, and <c>/detokenize</c> (<c>{"tokens": [...]}</c>) → <c>{"prompt"}</c>, with
    /// the served tokenizer; no special tokens are added (the emulator adds none to prompts either).
    /// </summary>
    private async Task TokenizeAsync(HttpContext ctx, bool detokenize)
    {
        try
        {
            if (!Authorized(ctx))
            {
                throw Unauthorized();
            }

            byte[] body = await ReadBodyAsync(ctx);
            using JsonDocument doc = ParseJson(body);
            JsonElement root = doc.RootElement;
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var json = new Utf8JsonWriter(buffer, s_json))
            {
                json.WriteStartObject();
                if (detokenize)
                {
                    if (!root.TryGetProperty("tokens", out JsonElement tokens) || tokens.ValueKind != JsonValueKind.Array
                        || tokens.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out int v) || v < 0 || v >= _filler.Tokenizer.VocabularySize))
                    {
                        throw new ApiError(400, $"'tokens' must be an array of token ids below {_filler.Tokenizer.VocabularySize}", param: "tokens");
                    }

                    json.WriteString("prompt", _filler.Tokenizer.Decode(tokens.EnumerateArray().Select(t => t.GetInt32()).ToArray()));
                }
                else
                {
                    string? text = (root.TryGetProperty("prompt", out JsonElement p) || root.TryGetProperty("content", out p)) && p.ValueKind == JsonValueKind.String
                        ? p.GetString()
                        : throw new ApiError(400, "'prompt' (or 'content') must be a string", param: "prompt");
                    IReadOnlyList<int> ids = _filler.Tokenizer.Encode(text!);
                    json.WriteNumber("count", ids.Count);
                    json.WriteNumber("max_model_len", _cluster.MaxRequestTokens);
                    json.WriteStartArray("tokens");
                    foreach (int id in ids)
                    {
                        json.WriteNumberValue(id);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted);
        }
        catch (ApiError error)
        {
            await WriteErrorAsync(ctx, error);
        }
    }

    private static JsonDocument ParseJson(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new ApiError(400, "the body is not valid JSON: " + ex.Message);
        }
    }

    private static ApiError Unauthorized() => new(401, "missing or wrong API key: send 'Authorization: Bearer KEY'", "authentication_error", code: "invalid_api_key");

    private async Task CompletionAsync(HttpContext ctx, bool chat)
    {
        // The request reaches the emulated cluster when it reached the server: reading, parsing and tokenizing it take
        // wall time that the speed-up would otherwise multiply into the emulated timeline.
        long received = System.Diagnostics.Stopwatch.GetTimestamp();
        EmulatedRequest? live = null;
        try
        {
            if (!Authorized(ctx))
            {
                throw Unauthorized();
            }

            byte[] body = await ReadBodyAsync(ctx);
            CompletionRequest request = CompletionRequest.Parse(body, chat, _options.ModelName, _filler.Tokenizer.Count, _cluster.PrefixCaching ? _filler.Tokenizer.Encode : null);
            if (request.PromptTokens + (long)(request.MaxTokens ?? 0) > MaxModelLen || request.PromptTokens >= MaxModelLen)
            {
                throw BeyondContext(request);
            }

            long needed = (long)request.PromptTokens + (request.MaxTokens ?? 1);
            if (needed > _cluster.MaxRequestTokens)
            {
                throw ContextTooLong(needed);
            }

            (int output, string finish) = OutputLength(request);
            live = new EmulatedRequest(request.PromptTokens, output, request.PrefixChain);
            if (!_cluster.TrySubmit(live, received))
            {
                throw ContextTooLong(request.PromptTokens + output);
            }

            long id = Interlocked.Increment(ref _nextId);
            ulong seed = _options.Seed ^ request.PromptHash;
            if (request.Stream)
            {
                await StreamAsync(ctx, request, live, output, finish, id, seed, received);
            }
            else
            {
                await RespondWholeAsync(ctx, request, live, output, finish, id, seed);
            }
        }
        catch (ApiError error)
        {
            Interlocked.Increment(ref _rejected);
            await WriteErrorAsync(ctx, error);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // the client went away; the emulator drops the request at its next iteration
        }
        catch (IOException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, new ApiError(500, "internal error: " + ex.Message, "server_error"));
        }
        finally
        {
            if (live is not null)
            {
                _cluster.Cancel(live); // a no-op when it finished; frees its KV memory when it did not
            }
        }
    }

    /// <summary>
    /// Tokens to generate: <c>max_tokens</c> (or the default) when <c>ignore_eos</c>; otherwise the emulated model
    /// stops at a deterministic "natural" length drawn from the prompt, never below <c>min_tokens</c>.
    /// </summary>
    private (int Output, string Finish) OutputLength(CompletionRequest r)
    {
        int max = r.MaxTokens ?? (r.Chat ? Math.Min(_options.DefaultChatTokens, (int)Math.Max(1, Math.Min(_cluster.MaxRequestTokens, MaxModelLen) - r.PromptTokens)) : _options.DefaultCompletionTokens);
        if (r.IgnoreEos)
        {
            return (max, "length");
        }

        var rng = new SplitMix64(_options.Seed ^ r.PromptHash ^ 0x5EED);
        int natural = 1 + (int)rng.NextBelow(512);
        int output = Math.Clamp(natural, Math.Max(1, r.MinTokens), max);
        return (output, output == max && natural >= max ? "length" : "stop");
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext ctx)
    {
        long? length = ctx.Request.ContentLength;
        try
        {
            using var ms = new MemoryStream(length is > 0 && length <= _options.MaxBodyBytes ? (int)length.Value : 4096);
            await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
            if (ms.Length > _options.MaxBodyBytes)
            {
                throw TooLarge();
            }

            return ms.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        catch (BadHttpRequestException ex)
        {
            throw new ApiError(ex.StatusCode, "bad request body: " + ex.Message);
        }
    }

    /// <summary>vLLM's answer to a prompt + <c>max_tokens</c> beyond <c>max_model_len</c>, word for word.</summary>
    private ApiError BeyondContext(CompletionRequest r) =>
        new(400, string.Create(CultureInfo.InvariantCulture,
            $"This model's maximum context length is {MaxModelLen} tokens. However, you requested {r.PromptTokens + (long)(r.MaxTokens ?? 0)} tokens ({r.PromptTokens} in the messages, {r.MaxTokens ?? 0} in the completion). Please reduce the length of the messages or completion."),
            param: "max_tokens", code: "context_length_exceeded");

    private ApiError ContextTooLong(long tokens) =>
        new(400, $"this request needs KV memory for {tokens} tokens (prompt + max_tokens) but one instance holds at most {_cluster.MaxRequestTokens}; shorten the prompt or max_tokens", param: "max_tokens", code: "context_length_exceeded");

    private ApiError TooLarge() => new(413, $"the request body is larger than the limit of {_options.MaxBodyBytes} bytes", code: "request_too_large");

    private async Task StreamAsync(HttpContext ctx, CompletionRequest request, EmulatedRequest live, int output, string finish, long id, ulong seed, long received)
    {
        long previous = 0;
        HttpResponse response = ctx.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        PipeWriter pipe = response.BodyWriter;
        await response.StartAsync(ctx.RequestAborted);
        var json = new Utf8JsonWriter(pipe, s_json);
        var text = new StringBuilder(64);
        string idText = (request.Chat ? "chatcmpl-" : "cmpl-") + id.ToString(CultureInfo.InvariantCulture);
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int sent = 0;
        bool firstChunk = true;
        await foreach (int generated in live.Tokens.ReadAllAsync(ctx.RequestAborted))
        {
            if (generated <= sent)
            {
                continue;
            }

            text.Clear();
            for (int k = sent; k < generated; k++)
            {
                text.Append(_filler.FillerToken(seed, k));
            }

            bool last = generated >= output;
            sent = generated;
            pipe.Write(s_data);
            json.Reset(pipe);
            WriteChunk(json, request, idText, created, text.ToString(), last ? finish : null, usage: null, first: firstChunk);
            firstChunk = false;
            json.Flush();
            pipe.Write(s_eventEnd);
            await pipe.FlushAsync(ctx.RequestAborted);
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            (previous == 0 ? _ttft : _itl).Observe(now - (previous == 0 ? received : previous));
            previous = now;
        }

        if (previous != 0)
        {
            _e2e.Observe(previous - received);
        }

        if (request.IncludeUsage)
        {
            pipe.Write(s_data);
            json.Reset(pipe);
            WriteChunk(json, request, idText, created, null, null, (request.PromptTokens, sent, live.CachedTokens), first: false);
            json.Flush();
            pipe.Write(s_eventEnd);
        }

        pipe.Write(s_done);
        await pipe.FlushAsync(ctx.RequestAborted);
        await json.DisposeAsync();
    }

    private void WriteChunk(Utf8JsonWriter json, CompletionRequest request, string id, long created, string? text, string? finish, (int Prompt, int Completion, int Cached)? usage, bool first)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", request.Chat ? "chat.completion.chunk" : "text_completion");
        json.WriteNumber("created", created);
        json.WriteString("model", _options.ModelName);
        json.WriteStartArray("choices");
        if (text is not null)
        {
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            if (request.Chat)
            {
                json.WriteStartObject("delta");
                if (first)
                {
                    json.WriteString("role", "assistant");
                }

                json.WriteString("content", text);
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text);
                json.WriteNull("logprobs");
            }

            if (finish is null)
            {
                json.WriteNull("finish_reason");
            }
            else
            {
                json.WriteString("finish_reason", finish);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (usage is { } u)
        {
            WriteUsage(json, u.Prompt, u.Completion, u.Cached);
        }
        else if (request.IncludeUsage)
        {
            json.WriteNull("usage");
        }

        json.WriteEndObject();
    }

    /// <summary>The usage object; with the vLLM engine also <c>prompt_tokens_details.cached_tokens</c>, the prompt
    /// tokens its prefix cache served (vLLM's <c>num_cached_tokens</c>).</summary>
    private void WriteUsage(Utf8JsonWriter json, int prompt, int completion, int cached)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", prompt);
        json.WriteNumber("completion_tokens", completion);
        json.WriteNumber("total_tokens", prompt + completion);
        if (_cluster.ReportsCachedTokens)
        {
            json.WriteStartObject("prompt_tokens_details");
            json.WriteNumber("cached_tokens", cached);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private async Task RespondWholeAsync(HttpContext ctx, CompletionRequest request, EmulatedRequest live, int output, string finish, long id, ulong seed)
    {
        int generated = 0;
        await foreach (int g in live.Tokens.ReadAllAsync(ctx.RequestAborted))
        {
            generated = g;
        }

        var text = new StringBuilder(generated * 6);
        for (int k = 0; k < generated; k++)
        {
            text.Append(_filler.FillerToken(seed, k));
        }

        ctx.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(text.Length + 512);
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("id", (request.Chat ? "chatcmpl-" : "cmpl-") + id.ToString(CultureInfo.InvariantCulture));
            json.WriteString("object", request.Chat ? "chat.completion" : "text_completion");
            json.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            json.WriteString("model", _options.ModelName);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            if (request.Chat)
            {
                json.WriteStartObject("message");
                json.WriteString("role", "assistant");
                json.WriteString("content", text.ToString());
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", text.ToString());
                json.WriteNull("logprobs");
            }

            json.WriteString("finish_reason", generated >= output ? finish : "abort");
            json.WriteEndObject();
            json.WriteEndArray();
            WriteUsage(json, request.PromptTokens, generated, live.CachedTokens);
            json.WriteEndObject();
        }

        await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext ctx, ApiError error)
    {
        if (ctx.Response.HasStarted)
        {
            return; // mid-stream: nothing sane to add; the client sees the stream end without [DONE]
        }

        ctx.Response.StatusCode = error.Status;
        ctx.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", error.Message);
            json.WriteString("type", error.Type);
            if (error.Param is null)
            {
                json.WriteNull("param");
            }
            else
            {
                json.WriteString("param", error.Param);
            }

            if (error.Code is null)
            {
                json.WriteNull("code");
            }
            else
            {
                json.WriteString("code", error.Code);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        try
        {
            await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }
    }

    private async Task MetricsAsync(HttpContext ctx)
    {
        ClusterCounters c = _cluster.Counters;
        string model = _options.ModelName;
        var sb = new StringBuilder(2048);
        void Metric(string name, string type, string help, double value)
        {
            sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name}{{model_name=\"{model}\"}} {value.ToString("R", CultureInfo.InvariantCulture)}\n");
        }

        Metric("splitwise_requests_running", "gauge", "Requests in the batch of an emulated instance.", c.Running);
        Metric("splitwise_requests_waiting", "gauge", "Requests queued for a prompt or decode slot.", c.Waiting);
        Metric("splitwise_prompt_tokens_total", "counter", "Prompt tokens admitted.", c.PromptTokens);
        Metric("splitwise_generation_tokens_total", "counter", "Output tokens generated.", c.GenerationTokens);
        Metric("splitwise_requests_finished_total", "counter", "Requests that generated all their tokens.", c.Finished);
        Metric("splitwise_requests_aborted_total", "counter", "Requests dropped because the client went away.", c.Aborted);
        Metric("splitwise_requests_rejected_total", "counter", "Requests answered with an error.", Interlocked.Read(ref _rejected));
        Metric("splitwise_iterations_total", "counter", "Emulated batch iterations.", c.Iterations);
        Metric("splitwise_kv_cache_usage_ratio", "gauge", "KV-cache memory in use over capacity, all instances.", c.KvUsage);
        Metric("splitwise_clock_max_late_seconds", "gauge", "Largest delay of the emulator clock past an iteration deadline.", c.MaxLateSeconds);
        // vLLM's names, so tools that scrape vLLM read this server too.
        Metric("vllm:num_requests_running", "gauge", "Requests running (vLLM name).", c.Running);
        Metric("vllm:num_requests_waiting", "gauge", "Requests waiting (vLLM name).", c.Waiting);
        Metric("vllm:prompt_tokens_total", "counter", "Prompt tokens (vLLM name).", c.PromptTokens);
        Metric("vllm:generation_tokens_total", "counter", "Generation tokens (vLLM name).", c.GenerationTokens);
        Metric("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage, 1 = full (vLLM name).", c.KvUsage);
        Metric("vllm:num_preemptions_total", "counter", "Preemptions of running requests (vLLM name).", c.Preemptions);
        _ttft.Write(sb, "vllm:time_to_first_token_seconds", "Time to first token of streamed requests, wall clock (vLLM name).", model);
        _itl.Write(sb, "vllm:inter_token_latency_seconds", "Time between streamed chunks, wall clock (vLLM name).", model);
        _itl.Write(sb, "vllm:time_per_output_token_seconds", "Time between streamed chunks, wall clock (vLLM's older name).", model);
        _e2e.Write(sb, "vllm:e2e_request_latency_seconds", "Arrival to last token of streamed requests, wall clock (vLLM name).", model);
        ctx.Response.ContentType = "text/plain; version=0.0.4";
        await ctx.Response.WriteAsync(sb.ToString(), ctx.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
