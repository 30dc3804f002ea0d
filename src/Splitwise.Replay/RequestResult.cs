namespace Splitwise.Replay;

/// <summary>What one replayed request measured. Times are nanoseconds; <c>-1</c> means "not observed".</summary>
public sealed class RequestResult
{
    /// <summary>Position in the replay plan (0-based, send order).</summary>
    public int Index { get; init; }

    /// <summary>Row of the trace the request came from.</summary>
    public int TraceIndex { get; init; }

    /// <summary>Scheduled send time from the start of the run.</summary>
    public long ScheduledNs { get; init; }

    /// <summary>Actual send time (handed to the HTTP stack) from the start of the run.</summary>
    public long SentNs { get; set; }

    /// <summary>Actual − scheduled send time: the client's own lag.</summary>
    public long SendLagNs => SentNs - ScheduledNs;

    public int InputTokens { get; init; }

    /// <summary>Token count of the prompt as re-encoded by the client's tokenizer.</summary>
    public int PromptTokensEncoded { get; init; }

    public int OutputTokens { get; init; }

    /// <summary>Tokens the server adds to every prompt, as calibrated (BOS, chat template); the prompt was built that
    /// much shorter.</summary>
    public int ServerAddedTokens { get; init; }

    /// <summary><c>usage.prompt_tokens</c> reported by the server, or -1.</summary>
    public int UsagePromptTokens { get; set; } = -1;

    /// <summary><c>usage.prompt_tokens_details.cached_tokens</c> — prompt tokens the server's prefix cache already
    /// held — or -1 when the server did not report it.</summary>
    public int UsageCachedTokens { get; set; } = -1;

    /// <summary><c>usage.completion_tokens</c> reported by the server, or -1.</summary>
    public int UsageCompletionTokens { get; set; } = -1;

    /// <summary>Chunks that carried output text.</summary>
    public int ContentChunks { get; set; }

    /// <summary>Send → first chunk with output text.</summary>
    public long TtftNs { get; set; } = -1;

    /// <summary>Send → last chunk with output text (a usage-only chunk does not extend it).</summary>
    public long E2eNs { get; set; } = -1;

    /// <summary>Gaps between consecutive content chunks.</summary>
    public long[] ItlNs { get; set; } = [];

    /// <summary>The first attempt failed before any response byte (reset or closed pooled connection) and the request
    /// was sent again on a fresh connection; times still count from the first send.</summary>
    public bool Retried { get; set; }

    /// <summary>Why the first attempt failed, when <see cref="Retried"/>.</summary>
    public string? RetryReason { get; set; }

    /// <summary>HTTP status, or 0 when no response arrived.</summary>
    public int HttpStatus { get; set; }

    /// <summary>Null on success; otherwise the failure reason class (<c>http_500</c>, <c>timeout</c>, <c>connection_reset</c>, ...).</summary>
    public string? Error { get; set; }

    /// <summary>Human detail of the failure (server message, exception message).</summary>
    public string? ErrorDetail { get; set; }

    public bool Succeeded => Error is null;

    /// <summary>Output tokens as the server counted them, else the content chunks seen.</summary>
    public int CompletionTokens => UsageCompletionTokens >= 0 ? UsageCompletionTokens : ContentChunks;

    /// <summary>TPOT = (E2E − TTFT) / (output tokens − 1); -1 with fewer than two tokens.</summary>
    public long TpotNs => Succeeded && CompletionTokens > 1 && TtftNs >= 0 ? (E2eNs - TtftNs) / (CompletionTokens - 1) : -1;

    /// <summary>The prompt had the trace's input length by the server's count (<c>usage.prompt_tokens</c>) where the
    /// server reported it, else by ours plus what the server was calibrated to add.</summary>
    public bool IsExactInput => UsagePromptTokens >= 0 ? UsagePromptTokens == InputTokens : PromptTokensEncoded + ServerAddedTokens == InputTokens;

    /// <summary>True when the server reported a completion count different from the trace's output tokens.</summary>
    public bool OutputMismatch => Succeeded && UsageCompletionTokens >= 0 && UsageCompletionTokens != OutputTokens;
}
