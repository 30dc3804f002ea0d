namespace Splitwise.Performance;

/// <summary>
/// The work of one iteration of a continuous batch on one instance.
/// </summary>
/// <param name="PromptTokens">Sum of the prompt sizes of the prompts computed in this iteration (0 if none).</param>
/// <param name="Prompts">Number of prompts in this iteration.</param>
/// <param name="DecodeRequests">Number of requests generating one token each in this iteration.</param>
/// <param name="DecodeContextTokens">Sum of the context lengths (prompt + tokens so far) of the decoding requests; the
/// KV cache read by attention.</param>
public readonly record struct BatchShape(int PromptTokens, int Prompts, int DecodeRequests, long DecodeContextTokens)
{
    public bool IsEmpty => Prompts == 0 && DecodeRequests == 0;

    /// <summary>
    /// Chunked prefill (vLLM personality): tokens already in the KV cache that this iteration's prompt chunks attend to,
    /// summed over the chunks (a chunk continuing a prompt, or the rest of a prompt after a prefix-cache hit). 0 for
    /// whole prompts, so every other engine is priced as before.
    /// </summary>
    public long PromptContextTokens { get; init; }

    /// <summary>(query, cached key) pairs of the chunks: the sum over chunks of chunk tokens × <see cref="PromptContextTokens"/>
    /// of that chunk; the attention work the context adds.</summary>
    public double PromptContextPairs { get; init; }
}

/// <summary>
/// Predicts the duration of one iteration of a batch on one instance (a model on a GPU type at a tensor parallelism).
/// Implementations are immutable and safe to share across threads.
/// </summary>
public interface IPerformanceModel
{
    /// <summary>Iteration time in nanoseconds; deterministic for the same batch.</summary>
    long IterationNanoseconds(in BatchShape batch);
}
