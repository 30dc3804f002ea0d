namespace Splitwise.Serving;

/// <summary>How <c>splitwise serve</c> listens and what it accepts (the emulated cluster is built separately).</summary>
public sealed record ServeOptions
{
    /// <summary>Address to bind; loopback unless the user says otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one (read it back from the server's bound address).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>When set, <c>/v1/*</c> requires <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model name served (and required in requests).</summary>
    public string ModelName { get; init; } = "llama2-70b";

    /// <summary>Tokenizer for counting prompt tokens and generating filler text.</summary>
    public string Tokenizer { get; init; } = "cl100k_base";

    /// <summary>Longest prompt + <c>max_tokens</c> accepted, as vLLM's <c>--max-model-len</c>; null for the model's
    /// catalog <c>context_length</c> (or the KV capacity when the catalog has none).</summary>
    public int? MaxModelLen { get; init; }

    /// <summary>Largest accepted request body; larger bodies get 413.</summary>
    public long MaxBodyBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Seed of the filler text and of the emulated end-of-sequence lengths.</summary>
    public ulong Seed { get; init; }

    /// <summary>Default <c>max_tokens</c> of <c>/v1/completions</c> when the request gives none (OpenAI's is 16).</summary>
    public int DefaultCompletionTokens { get; init; } = 16;

    /// <summary>Upper bound on <c>max_tokens</c> when a chat request gives none.</summary>
    public int DefaultChatTokens { get; init; } = 1024;

    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw SplitwiseException.Usage($"--port {Port}: must be 0..65535 (0 picks a free port)");
        }

        if (string.IsNullOrWhiteSpace(ModelName))
        {
            throw SplitwiseException.Usage("--served-model-name: must not be empty");
        }

        if (MaxModelLen is <= 0)
        {
            throw SplitwiseException.Usage($"--max-model-len {MaxModelLen}: must be positive");
        }

        if (MaxBodyBytes < 1024)
        {
            throw SplitwiseException.Usage($"--max-body-bytes {MaxBodyBytes}: must be at least 1024");
        }
    }
}
