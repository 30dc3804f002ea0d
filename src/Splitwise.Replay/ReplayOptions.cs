using Splitwise.Designs;

namespace Splitwise.Replay;

/// <summary>Which OpenAI endpoint to call.</summary>
public enum OpenAiApi
{
    /// <summary><c>/v1/completions</c> with a <c>prompt</c>.</summary>
    Completions,

    /// <summary><c>/v1/chat/completions</c> with one user message.</summary>
    Chat,
}

/// <summary>Everything a replay run needs besides the trace.</summary>
/// <remarks>
/// <see cref="Duration"/> and <see cref="Count"/> select requests in trace time (the first two minutes of the trace
/// are two minutes whatever the speed-up); the wall-clock length of the run is that divided by <see cref="Speedup"/>.
/// </remarks>
public sealed record ReplayOptions
{
    /// <summary>Base URL of the server, e.g. <c>http://127.0.0.1:8000</c> (a trailing <c>/v1</c> is accepted).</summary>
    public required Uri Endpoint { get; init; }

    public required string Model { get; init; }

    public OpenAiApi Api { get; init; } = OpenAiApi.Completions;

    /// <summary>The <see cref="Tokenizer"/> that means the server's own <c>/tokenize</c> and <c>/detokenize</c>.</summary>
    public const string ServerTokenizer = "server";

    /// <summary>Tokenizer for exact-length prompts: a tiktoken encoding name, a tokenizer.json or SentencePiece .model
    /// path, or <see cref="ServerTokenizer"/>.</summary>
    public string Tokenizer { get; init; } = "cl100k_base";

    /// <summary>With the server's tokenizer, send prompts as text even where token ids could be sent.</summary>
    public bool PromptAsText { get; init; }

    /// <summary>Time compression: 2 sends the trace twice as fast.</summary>
    public double Speedup { get; init; } = 1.0;

    /// <summary>At most this many requests in flight; a send waits for a slot (and its lag shows it). 0 = unlimited.</summary>
    public int MaxConcurrency { get; init; }

    /// <summary>Replay only arrivals within this much trace time from the first arrival.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Replay at most this many requests.</summary>
    public int? Count { get; init; }

    /// <summary>Send <c>max_tokens</c> = trace output tokens.</summary>
    public bool SendMaxTokens { get; init; } = true;

    /// <summary>Send <c>ignore_eos: true</c> (vLLM, SGLang, TGI-compatible servers).</summary>
    public bool SendIgnoreEos { get; init; } = true;

    /// <summary>Send <c>min_tokens</c> = trace output tokens (vLLM).</summary>
    public bool SendMinTokens { get; init; } = true;

    /// <summary>Send <c>stream_options: {"include_usage": true}</c> to read the true token counts.</summary>
    public bool IncludeUsage { get; init; } = true;

    /// <summary>Per-request timeout, from send to the end of the stream.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Optional <c>Authorization: Bearer</c> key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Seed of the prompt texts (each request's prompt is seeded by this, its trace row and
    /// <see cref="PrefixSeed"/>).</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Makes every prompt unique to the run from its first token, so a server's prefix cache (vLLM, SGLang and
    /// llama.cpp cache by default) cannot serve a repeated run from what an earlier one left behind. Null draws a fresh
    /// one per run (recorded as <c>prefix_seed</c> in <c>summary.json</c>; pass it back to send the same prompts again).
    /// Ignored with <see cref="AllowPrefixReuse"/>.
    /// </summary>
    public ulong? PrefixSeed { get; init; }

    /// <summary>Prompts depend only on <see cref="Seed"/> and the trace row, so a repeated run sends the same texts
    /// (and measures the server's prefix cache).</summary>
    public bool AllowPrefixReuse { get; init; }

    /// <summary>
    /// Send one short request before the run (not measured): it checks the endpoint and model, failing fast with the
    /// server's message, and warms both sides' code paths.
    /// </summary>
    public bool Warmup { get; init; } = true;

    /// <summary>SLOs to judge the run by (percentile verdicts and goodput); null for none. The same model and
    /// evaluator as <c>simulate</c> (<see cref="SloEvaluator"/>).</summary>
    public SloSet? Slo { get; init; }

    /// <summary>Each request's latency alone on the idle reference machine, for slowdown SLOs (<c>6x</c>,
    /// <c>paper</c>); required when <see cref="Slo"/> has one. Already on the replay's clock (divided by the server's
    /// time compression).</summary>
    public ISloReference? SloReference { get; init; }

    /// <summary>Before the run, send two probes of known length and build every prompt shorter by what the server
    /// adds (BOS, chat template), so that the server's <c>prompt_tokens</c> equals the trace's input tokens; needs
    /// <see cref="IncludeUsage"/>.</summary>
    public bool Calibrate { get; init; } = true;

    /// <summary>The run fails (exit code 1, one warning line) when more than this percentage of the sent requests
    /// failed; 0 means any failure fails the run.</summary>
    public double MaxFailedPercent { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>Validates once; every problem is a usage error naming the flag.</summary>
    public void Validate()
    {
        if (Endpoint.Scheme is not ("http" or "https"))
        {
            throw SplitwiseException.Usage($"--endpoint {Endpoint}: must be an http:// or https:// URL, e.g. http://127.0.0.1:8000");
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            throw SplitwiseException.Usage("--model: give the model name the server serves (see its /v1/models)");
        }

        if (!(Speedup > 0) || double.IsInfinity(Speedup))
        {
            throw SplitwiseException.Usage($"--speedup {Speedup}: must be a positive number (1 = real time)");
        }

        if (MaxConcurrency < 0)
        {
            throw SplitwiseException.Usage($"--max-concurrency {MaxConcurrency}: must be 0 (unlimited) or positive");
        }

        if (Count is <= 0)
        {
            throw SplitwiseException.Usage($"--count {Count}: must be positive");
        }

        if (Duration is { } d && d <= TimeSpan.Zero)
        {
            throw SplitwiseException.Usage($"--duration {d}: must be positive");
        }

        if (Slo is { NeedsIdealLatency: true } && SloReference is null)
        {
            throw SplitwiseException.Usage($"--slo {Slo}: slowdown SLOs need the reference latencies of the idle DGX-A100; give the performance profile (--profile or $SPLITWISE_PROFILE)");
        }

        if (AllowPrefixReuse && PrefixSeed is not null)
        {
            throw SplitwiseException.Usage("--prefix-seed with --allow-prefix-reuse: a prefix seed makes prompts unique to a run, prefix reuse makes them the same for every run; give one of them");
        }

        if (!(MaxFailedPercent >= 0 && MaxFailedPercent <= 100))
        {
            throw SplitwiseException.Usage($"--max-failed {MaxFailedPercent}: must be a percentage from 0 to 100, e.g. 2%");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw SplitwiseException.Usage($"--timeout {Timeout}: must be positive");
        }
    }
}
