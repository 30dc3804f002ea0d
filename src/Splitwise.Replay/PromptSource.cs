using Splitwise.Tokens;

namespace Splitwise.Replay;

/// <summary>A prompt to send: text, or token ids for servers that take them (<c>/v1/completions</c> of vLLM and
/// llama.cpp); <paramref name="EncodedTokens"/> is its length by the source's own count.</summary>
public readonly record struct PromptPayload(string? Text, int[]? Ids, int EncodedTokens);

/// <summary>Where exact-length prompts come from: the client's tokenizer, or the server's own.</summary>
public interface IPromptSource
{
    /// <summary>The tokenizer as the user named it (<c>cl100k_base</c>, a path, <c>server</c>).</summary>
    string Name { get; }

    /// <summary>A prompt of <paramref name="tokens"/> tokens by this source's count, the same for the same seed.</summary>
    ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, CancellationToken token);

    /// <summary>How many prompts may be built at once (a server-side source is bounded by its HTTP calls).</summary>
    int Parallelism { get; }

    /// <summary>True when <see cref="BuildAsync(int, ulong, ReadOnlyMemory{long}, ulong, CancellationToken)"/> reproduces
    /// a prefix hash chain (equal ids ⇒ equal token blocks).</summary>
    bool FollowsHashChains => false;

    /// <summary>A prompt whose 512-token blocks follow <paramref name="chain"/> (see
    /// <see cref="PromptBuilder.Build(int, ulong, ReadOnlySpan{long}, ulong, int)"/>); sources that cannot ignore it.</summary>
    ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, ReadOnlyMemory<long> chain, ulong chainSeed, CancellationToken token) =>
        BuildAsync(tokens, seed, token);
}

/// <summary>Prompts from a local tokenizer (<see cref="PromptBuilder"/>): text, verified by re-encoding.</summary>
internal sealed class LocalPromptSource(PromptBuilder builder) : IPromptSource
{
    public string Name => builder.Tokenizer.Name;

    public int Parallelism => Environment.ProcessorCount;

    public bool FollowsHashChains => true;

    public ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, CancellationToken token)
    {
        BuiltPrompt prompt = builder.Build(tokens, seed);
        return ValueTask.FromResult(new PromptPayload(prompt.Text, null, prompt.EncodedTokens));
    }

    public ValueTask<PromptPayload> BuildAsync(int tokens, ulong seed, ReadOnlyMemory<long> chain, ulong chainSeed, CancellationToken token)
    {
        BuiltPrompt prompt = builder.Build(tokens, seed, chain.Span, chainSeed);
        return ValueTask.FromResult(new PromptPayload(prompt.Text, null, prompt.EncodedTokens));
    }
}
