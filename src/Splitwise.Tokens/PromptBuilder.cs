using System.Text;

namespace Splitwise.Tokens;

/// <summary>A prompt and whether re-encoding it gave exactly the requested number of tokens.</summary>
/// <param name="Text">The prompt text.</param>
/// <param name="RequestedTokens">The token count asked for.</param>
/// <param name="EncodedTokens">The token count of <paramref name="Text"/> re-encoded by the tokenizer.</param>
public readonly record struct BuiltPrompt(string Text, int RequestedTokens, int EncodedTokens)
{
    public bool IsExact => EncodedTokens == RequestedTokens;
}

/// <summary>
/// Builds texts of an exact token count: picks token ids from the tokenizer's filler vocabulary with a seeded
/// generator, decodes them, <b>re-encodes</b> the text and adds or removes pieces until the count is exact (decode →
/// re-encode drift is the classic bug of replay tools). Deterministic per (tokenizer, length, seed).
/// </summary>
/// <remarks>Thread-safe. Cost is one encode of the text per fix-up round (one round in practice).</remarks>
public sealed class PromptBuilder
{
    private const int MaxFixupRounds = 16;

    private readonly TextTokenizer _tokenizer;
    private readonly FillerVocabulary _vocabulary;

    public PromptBuilder(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _vocabulary = tokenizer.Filler;
    }

    public TextTokenizer Tokenizer => _tokenizer;

    /// <summary>A prompt of exactly <paramref name="tokens"/> tokens (when achievable), the same for the same seed.</summary>
    public BuiltPrompt Build(int tokens, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (tokens == 0)
        {
            return new BuiltPrompt("", 0, 0);
        }

        var rng = new SplitMix64(seed ^ ((ulong)tokens * 0x9E3779B97F4A7C15UL));
        var pieces = new List<int>(tokens);
        for (int i = 0; i < tokens; i++)
        {
            pieces.Add((int)rng.NextBelow((uint)_vocabulary.Count));
        }

        return FixUp(pieces, tokens, ref rng);
    }

    /// <summary>Re-encodes and adds or removes pieces at the tail until the count is exact.</summary>
    private BuiltPrompt FixUp(List<int> pieces, int tokens, ref SplitMix64 rng)
    {
        string text = Join(pieces);
        int count = _tokenizer.Count(text);
        for (int round = 0; round < MaxFixupRounds && count != tokens; round++)
        {
            int delta = tokens - count;
            if (delta > 0)
            {
                for (int i = 0; i < delta; i++)
                {
                    pieces.Add((int)rng.NextBelow((uint)_vocabulary.Count));
                }
            }
            else
            {
                int remove = Math.Min(-delta, pieces.Count - 1);
                pieces.RemoveRange(pieces.Count - remove, remove);
            }

            text = Join(pieces);
            count = _tokenizer.Count(text);
        }

        return new BuiltPrompt(text, tokens, count);
    }

    /// <summary>
    /// A prompt of exactly <paramref name="tokens"/> tokens whose blocks follow a prefix hash chain (Mooncake's
    /// <c>hash_ids</c>: one id per <paramref name="blockTokens"/> tokens; equal ids mean equal content): block k's
    /// pieces come from a stream seeded by <paramref name="chainSeed"/> and id k alone, so two prompts sharing their
    /// first ids share exactly those blocks' tokens (the filler pieces are single tokens that re-encode alone) and a
    /// server's prefix cache sees the trace's sharing. Tokens past the chain come from <paramref name="seed"/>'s stream;
    /// the exact-length fix-up only touches the tail.
    /// </summary>
    public BuiltPrompt Build(int tokens, ulong seed, ReadOnlySpan<long> chain, ulong chainSeed, int blockTokens = 512)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockTokens);
        if (chain.IsEmpty || tokens == 0)
        {
            return Build(tokens, seed);
        }

        var pieces = new List<int>(tokens);
        for (int k = 0; k < chain.Length && pieces.Count < tokens; k++)
        {
            var block = new SplitMix64(chainSeed ^ ((ulong)chain[k] * 0x9E3779B97F4A7C15UL));
            for (int j = 0; j < blockTokens && pieces.Count < tokens; j++)
            {
                pieces.Add((int)block.NextBelow((uint)_vocabulary.Count));
            }
        }

        var rng = new SplitMix64(seed ^ ((ulong)tokens * 0x9E3779B97F4A7C15UL));
        while (pieces.Count < tokens)
        {
            pieces.Add((int)rng.NextBelow((uint)_vocabulary.Count));
        }

        return FixUp(pieces, tokens, ref rng);
    }

    /// <summary>
    /// The text of output token <paramref name="index"/> of a stream: one filler piece, so <c>n</c> consecutive pieces
    /// re-encode to <c>n</c> tokens. Deterministic per (seed, index).
    /// </summary>
    public string FillerToken(ulong seed, int index)
    {
        var rng = new SplitMix64(seed + ((ulong)index * 0xD1B54A32D192ED03UL));
        return _vocabulary.Texts[(int)rng.NextBelow((uint)_vocabulary.Count)];
    }

    private string Join(List<int> pieces)
    {
        int length = 0;
        foreach (int p in pieces)
        {
            length += _vocabulary.Texts[p].Length;
        }

        var sb = new StringBuilder(length);
        foreach (int p in pieces)
        {
            sb.Append(_vocabulary.Texts[p]);
        }

        // A SentencePiece model puts its own space (dummy prefix) before the first word.
        return _tokenizer.IsSentencePiece && sb.Length > 0 ? sb.ToString(1, sb.Length - 1) : sb.ToString();
    }
}

/// <summary>SplitMix64: a tiny, fast, stable-across-runtimes seeded generator.</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) by Lemire's multiply-shift (bias below 2^-32 for the bounds used here).</summary>
    public uint NextBelow(uint bound) => (uint)(((Next() >> 32) * bound) >> 32);
}
