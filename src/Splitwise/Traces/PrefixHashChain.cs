namespace Splitwise.Traces;

/// <summary>
/// Builds a prompt's prefix hash chain from its token ids — the shape of Mooncake's <c>hash_ids</c>: one id per full
/// block of <see cref="BlockTokens"/> tokens, each the hash of its block's token ids chained with the previous block's
/// id, so two prompts have the same k-th id exactly when they share their first k + 1 blocks (up to 64-bit hash
/// collisions). A last, partial block has no id: like a paged prefix cache, only whole blocks are shared.
/// </summary>
/// <remarks>Tokens are fed in order, in as many calls as convenient (the messages of a chat). Deterministic across
/// runs and platforms (FNV-1a over the ids, SplitMix64's finaliser per block). O(1) per token.</remarks>
public sealed class PrefixHashChain
{
    /// <summary>Tokens per chain id (Mooncake's block, and what the vLLM engine's <c>BlockTables</c> reads chains in).</summary>
    public const int BlockTokens = 512;

    private const ulong Seed = 0x5EC0_1D0C_A11C_4A11UL;
    private const ulong FnvPrime = 1099511628211UL;

    private readonly List<long> _ids = [];
    private ulong _state = Seed;
    private int _inBlock;

    /// <summary>Full blocks so far.</summary>
    public int Count => _ids.Count;

    /// <summary>Feeds the next token id.</summary>
    public void Add(int token)
    {
        _state = (_state ^ (uint)token) * FnvPrime;
        if (++_inBlock == BlockTokens)
        {
            long id = (long)Finalise(_state);
            _ids.Add(id);
            _state = Seed ^ (ulong)id; // the next block's hash starts from this one: a chain
            _inBlock = 0;
        }
    }

    /// <summary>Feeds the next token ids.</summary>
    public void Add(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        foreach (int t in tokens)
        {
            Add(t);
        }
    }

    /// <summary>The chain of the full blocks fed so far.</summary>
    public long[] ToArray() => [.. _ids];

    /// <summary>The chain of <paramref name="tokens"/>.</summary>
    public static long[] FromTokens(ReadOnlySpan<int> tokens)
    {
        var chain = new PrefixHashChain();
        foreach (int t in tokens)
        {
            chain.Add(t);
        }

        return chain.ToArray();
    }

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
