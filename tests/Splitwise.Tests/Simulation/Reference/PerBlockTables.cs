using Splitwise.Simulation.Paging;

namespace Splitwise.Tests.Simulation.Reference;

/// <summary>
/// The per-block reference (the oracle of <c>PagedKvRunsTests</c>; the engine uses the run-based
/// <c>Splitwise.Simulation.Paging</c> classes). The block table of every request in flight (vLLM's <c>KVCacheManager</c> per-request state) and the hashes that
/// identify their blocks' content, indexed by the engine's request slot.
/// </summary>
/// <remarks>
/// <para>Content: a trace without prefix hash chains has no shared text, so every request's blocks are its own. With
/// chains (Mooncake <c>hash_ids</c>, one id per 512-token block of the prompt, equal ids meaning equal content), a
/// block that ends inside the prompt is shared: it is identified by the chain id of the 512-token block holding its
/// last token and its offset there, hashed and chained with the parent block's hash as in vLLM (two requests share
/// block j only if they share every block before it), and indexed in the instance's cache. Blocks past the prompt or
/// the chain (output tokens, unshared text) are private: vLLM caches them too, but only their own request can ever hit
/// them (recomputing after a preemption), so they are found through the request's old block table by a tag instead of
/// a hash — the same hits and evictions without hashing or indexing them. A session's next turn shares the previous
/// turn's prompt blocks (its chain repeats their ids), not its answer's: the trace's chains do not cover answers.</para>
/// <para>Cost: O(1) per block allocated, freed or looked up; shared hashes are computed once per block; the arrays
/// grow with the peak number of requests in flight and are reused by later requests in the same slot.</para>
/// </remarks>
internal sealed class PerBlockTables
{
    /// <summary>Tokens per block id of a hash chain (Mooncake's block size).</summary>
    public const int ChainBlockTokens = 512;

    private int[][] _blocks = [];
    private int[] _count = [];
    private ulong[][] _hashes = [];
    private int[] _hashedCount = [];
    private int[] _registered = [];
    private int[] _freedCount = [];
    private long[][] _chain = [];
    private int[] _sharedTokens = [];
    private ulong[] _serial = [];
    private ulong _serials;

    private readonly int _perChunk;

    /// <param name="blockSize">Tokens per block; divides 512.</param>
    public PerBlockTables(int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        _perChunk = ChainBlockTokens / blockSize;
    }

    public int BlockSize { get; }

    /// <summary>A new request in <paramref name="slot"/>: no blocks; its shared content from its prefix chain.</summary>
    public void Start(int slot, int inputTokens, ReadOnlySpan<long> chain)
    {
        EnsureSlot(slot);
        _count[slot] = 0;
        _hashedCount[slot] = 0;
        _registered[slot] = 0;
        _freedCount[slot] = 0;
        _serial[slot] = ++_serials;
        if (_chain[slot].Length < chain.Length)
        {
            _chain[slot] = new long[Math.Max(chain.Length, _chain[slot].Length * 2)];
        }

        chain.CopyTo(_chain[slot]);
        _sharedTokens[slot] = (int)Math.Min(inputTokens, (long)chain.Length * ChainBlockTokens);
    }

    /// <summary>
    /// Takes the request's first <paramref name="hits"/> cached blocks (found by <see cref="CountCachedPrefix"/>) into its
    /// table with a reference each and returns the tokens they hold. The caller has checked the blocks fit.
    /// </summary>
    public int TakeCachedPrefix(int slot, PerBlockKvCache cache, int hits)
    {
        for (int j = 0; j < hits; j++)
        {
            int b = Find(slot, cache, j);
            cache.Touch(b);
            Push(slot, b);
        }

        _registered[slot] = hits;
        return hits * BlockSize;
    }

    /// <summary>
    /// Prefix-cache lookup (vLLM's <c>get_computed_blocks</c>): how many leading blocks of the request's first
    /// <paramref name="tokens"/> − 1 tokens are cached (the last token is always computed, to produce a token; 0 when
    /// caching is off), and how many of those sit in the free queue (reusing them costs free blocks).
    /// </summary>
    public int CountCachedPrefix(int slot, PerBlockKvCache cache, int tokens, out int freeAmongHits)
    {
        freeAmongHits = 0;
        if (!cache.PrefixCaching)
        {
            return 0;
        }

        int max = (tokens - 1) / BlockSize, hits = 0;
        while (hits < max)
        {
            int b = Find(slot, cache, hits);
            if (b < 0)
            {
                break;
            }

            if (cache.IsFree(b))
            {
                freeAmongHits++;
            }

            hits++;
        }

        return hits;
    }

    /// <summary>New blocks the request needs so its table covers <paramref name="tokens"/> tokens.</summary>
    public int BlocksNeeded(int slot, long tokens) => (int)Math.Max(0, ((tokens + BlockSize - 1) / BlockSize) - _count[slot]);

    /// <summary>Grows the table to cover <paramref name="tokens"/> tokens (the caller has checked the free blocks), then
    /// indexes the blocks that are full among the first <paramref name="knownTokens"/> (vLLM's <c>cache_blocks</c>).</summary>
    public void Grow(int slot, PerBlockKvCache cache, long tokens, long knownTokens)
    {
        int need = BlocksNeeded(slot, tokens);
        for (int i = 0; i < need; i++)
        {
            Push(slot, cache.Allocate());
        }

        if (cache.PrefixCaching)
        {
            int full = (int)Math.Min(_count[slot], Math.Min(tokens, knownTokens) / BlockSize);
            int[] table = _blocks[slot];
            for (int j = _registered[slot]; j < full; j++)
            {
                if (IsShared(slot, j))
                {
                    cache.RegisterShared(table[j], ChunkKey(slot, j / _perChunk), j % _perChunk);
                }
                else
                {
                    cache.RegisterPrivate(table[j], PrivateTag(slot, j));
                }
            }

            if (full > _registered[slot])
            {
                _registered[slot] = full;
            }
        }
    }

    /// <summary>Frees the request's blocks, last block first (vLLM frees in reverse so tails are evicted first).</summary>
    public void Free(int slot, PerBlockKvCache cache)
    {
        int[] table = _blocks[slot];
        for (int j = _count[slot] - 1; j >= 0; j--)
        {
            cache.Release(table[j]);
        }

        _freedCount[slot] = _count[slot]; // the table's entries stay: a recompute finds its private blocks there
        _count[slot] = 0;
        _registered[slot] = 0;
    }

    /// <summary>The cached block holding block <paramref name="j"/>'s content, or −1: shared content through the
    /// cache's index, the request's own content where its table had it before it was freed.</summary>
    private int Find(int slot, PerBlockKvCache cache, int j)
    {
        if (IsShared(slot, j))
        {
            int record = cache.FindRecord(ChunkKey(slot, j / _perChunk));
            return record < 0 ? -1 : cache.RecordBlock(record, j % _perChunk);
        }

        if (j < _freedCount[slot])
        {
            int b = _blocks[slot][j];
            return cache.Holds(b, PrivateTag(slot, j)) ? b : -1;
        }

        return -1;
    }

    /// <summary>What identifies block <paramref name="j"/> of content only this request has: no other request can look
    /// it up, so its request's serial number and the block's index name it (no hash to compute). Private blocks come
    /// after shared ones, so no shared hash chains through them.</summary>
    private ulong PrivateTag(int slot, int j) => (_serial[slot] << 24) | (uint)j;

    /// <summary>True when block <paramref name="j"/> ends inside the prompt's shared (hash-chained) prefix.</summary>
    private bool IsShared(int slot, int j) => ((long)j + 1) * BlockSize <= _sharedTokens[slot];

    /// <summary>The content key of chain block <paramref name="c"/> (512 tokens) of the request: its chain ids up to
    /// <paramref name="c"/>, hashed in a chain as vLLM chains block hashes.</summary>
    private ulong ChunkKey(int slot, int c)
    {
        ulong[] keys = _hashes[slot];
        if (c < _hashedCount[slot])
        {
            return keys[c];
        }

        if (keys.Length <= c)
        {
            Array.Resize(ref _hashes[slot], Math.Max(c + 1, keys.Length * 2));
            keys = _hashes[slot];
        }

        for (int k = _hashedCount[slot]; k <= c; k++)
        {
            keys[k] = BlockTables.Mix(k == 0 ? 0x1B10C0DEUL : keys[k - 1], (ulong)_chain[slot][k]);
        }

        _hashedCount[slot] = c + 1;
        return keys[c];
    }

    private void Push(int slot, int block)
    {
        int[] table = _blocks[slot];
        int n = _count[slot];
        if (n == table.Length)
        {
            Array.Resize(ref _blocks[slot], Math.Max(16, table.Length * 2));
        }

        _blocks[slot][n] = block;
        _count[slot] = n + 1;
    }

    private void EnsureSlot(int slot)
    {
        if (slot < _count.Length)
        {
            return;
        }

        int size = Math.Max(64, Math.Max(slot + 1, _count.Length * 2)), old = _count.Length;
        Array.Resize(ref _blocks, size);
        Array.Resize(ref _count, size);
        Array.Resize(ref _hashes, size);
        Array.Resize(ref _hashedCount, size);
        Array.Resize(ref _registered, size);
        Array.Resize(ref _freedCount, size);
        Array.Resize(ref _chain, size);
        Array.Resize(ref _sharedTokens, size);
        Array.Resize(ref _serial, size);
        for (int i = old; i < size; i++)
        {
            _blocks[i] = [];
            _hashes[i] = [];
            _chain[i] = [];
        }
    }
}
