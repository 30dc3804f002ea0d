namespace Splitwise.Simulation.Paging;

/// <summary>
/// The block table of every request in flight (vLLM's <c>KVCacheManager</c> per-request state) and the hashes that
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
/// a hash — the same hits and evictions without hashing or indexing them (the cache keeps them as one run). A session's next turn shares the previous
/// turn's prompt blocks (its chain repeats their ids), not its answer's: the trace's chains do not cover answers.</para>
/// <para>A table is counts, not block ids (<see cref="PagedKvCache"/> keeps content, not blocks): the blocks held, the
/// leading ones full and cached, and for each shared 512-token chain block the record it is in and a bit per offset
/// telling a cached block from a duplicate. Cost: the cache does a few operations per run of blocks and a small loop
/// over dense per-record state per block of shared prefix; chain hashes are computed once per 512 tokens; the arrays
/// grow with the peak number of requests in flight and are reused by later requests in the same slot.</para>
/// </remarks>
internal sealed class BlockTables
{
    /// <summary>Tokens per block id of a hash chain (Mooncake's block size).</summary>
    public const int ChainBlockTokens = 512;

    private const int None = -1;
    private const ulong ChainSeed = 0x1B10C0DEUL;

    private int[] _count = [];          // blocks the request holds
    private int[] _registered = [];     // its leading blocks that are full and cached (or duplicates)
    private int[] _sharedBlocks = [];   // its blocks that end inside the chain-covered prompt
    private ulong[] _serial = [];
    private int[] _privateRun = [];     // its own blocks' run in the free queue since it was last freed, or −1
    private long[][] _chain = [];
    private ulong[][] _keys = [];
    private int[] _keyed = [];
    private int[] _found = [];          // its leading chain blocks whose entry in _record was set for it
    private int[][] _record = [];       // per chain block: the record its held offsets are in
    private ulong[][] _held = [];       // per chain block: bit o set when it holds the cached block at offset o
    private ulong _serials;

    private readonly int _perChunk;
    private readonly int _words;

    /// <param name="blockSize">Tokens per block; divides 512.</param>
    /// <param name="serialBase">Where the tags of requests' own blocks start: two tables whose requests meet in one cache
    /// need disjoint ranges.</param>
    public BlockTables(int blockSize, ulong serialBase = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        _serials = serialBase;
        _perChunk = ChainBlockTokens / blockSize;
        _words = (_perChunk + 63) / 64;
    }

    public int BlockSize { get; }

    /// <summary>A new request in <paramref name="slot"/>: no blocks; its shared content from its prefix chain.</summary>
    public void Start(int slot, int inputTokens, ReadOnlySpan<long> chain)
    {
        EnsureSlot(slot);
        _count[slot] = 0;
        _registered[slot] = 0;
        _keyed[slot] = 0;
        _found[slot] = 0;
        _serial[slot] = ++_serials;
        _privateRun[slot] = None;
        if (_chain[slot].Length < chain.Length)
        {
            int size = Math.Max(chain.Length, _chain[slot].Length * 2);
            _chain[slot] = new long[size];
            _keys[slot] = new ulong[size];
            _record[slot] = new int[size];
            _held[slot] = new ulong[size * _words];
        }

        chain.CopyTo(_chain[slot]);
        _sharedBlocks[slot] = (int)(Math.Min(inputTokens, (long)chain.Length * ChainBlockTokens) / BlockSize);
    }

    /// <summary>A new table in <paramref name="slot"/> for the request that <paramref name="source"/> holds there (its
    /// prefix chain copied): the same request on another instance.</summary>
    public void StartFrom(int slot, int inputTokens, BlockTables source)
    {
        int chainBlocks = (int)((((long)source._sharedBlocks[slot] * source.BlockSize) + ChainBlockTokens - 1) / ChainBlockTokens);
        Start(slot, inputTokens, source._chain[slot].AsSpan(0, chainBlocks));
    }

    /// <summary>
    /// Prefix-cache lookup (vLLM's <c>get_computed_blocks</c>): how many leading blocks of the request's first
    /// <paramref name="tokens"/> − 1 tokens are cached (the last token is always computed, to produce a token; 0 when
    /// caching is off), and how many of those sit in the free queue (reusing them costs free blocks).
    /// </summary>
    public int CountCachedPrefix(int slot, PagedKvCache cache, int tokens, out int freeAmongHits)
    {
        freeAmongHits = 0;
        if (!cache.PrefixCaching)
        {
            return 0;
        }

        int max = (tokens - 1) / BlockSize, shared = _sharedBlocks[slot], limit = Math.Min(max, shared), hits = 0;
        int[] records = _record[slot];
        while (hits < limit)
        {
            int c = hits / _perChunk, record = cache.FindRecord(ChunkKey(slot, c));
            if (record < 0)
            {
                return hits;
            }

            records[c] = record; // for TakeCachedPrefix, which follows with nothing changed in between
            _found[slot] = Math.Max(_found[slot], c + 1);
            int from = hits - (c * _perChunk), to = Math.Min(limit - (c * _perChunk), _perChunk);
            int run = cache.CachedFrom(record, from, to, out int queued);
            hits += run;
            freeAmongHits += queued;
            if (from + run < to)
            {
                return hits;
            }
        }

        // Its own blocks, after a preemption: all free, still cached from the bottom of the run up.
        if (hits == shared && hits < max && cache.PrivateCached(_privateRun[slot], _serial[slot], out _, out int top))
        {
            int own = Math.Min(top, max) - hits;
            if (own > 0)
            {
                hits += own;
                freeAmongHits += own;
            }
        }

        return hits;
    }

    /// <summary>
    /// Takes the request's first <paramref name="hits"/> cached blocks (found by <see cref="CountCachedPrefix"/>) into its
    /// table with a reference each and returns the tokens they hold. The caller has checked the blocks fit.
    /// </summary>
    public int TakeCachedPrefix(int slot, PagedKvCache cache, int hits)
    {
        int sharedHits = Math.Min(hits, _sharedBlocks[slot]);
        int[] records = _record[slot];
        ulong[] held = _held[slot];
        for (int c = 0; c * _perChunk < sharedHits; c++)
        {
            int end = Math.Min(sharedHits - (c * _perChunk), _perChunk);
            cache.HoldRange(records[c], end);
            SetBits(held.AsSpan(c * _words, _words), end);
        }

        if (hits > sharedHits)
        {
            cache.HoldPrivate(_privateRun[slot], hits - sharedHits);
        }
        else
        {
            cache.Forget(_privateRun[slot], _serial[slot]); // its blocks will be recomputed into new ones
        }

        _privateRun[slot] = None;
        _count[slot] = hits;
        _registered[slot] = hits;
        return hits * BlockSize;
    }

    /// <summary>New blocks the request needs so its table covers <paramref name="tokens"/> tokens.</summary>
    public int BlocksNeeded(int slot, long tokens) => (int)Math.Max(0, ((tokens + BlockSize - 1) / BlockSize) - _count[slot]);

    /// <summary>Grows the table to cover <paramref name="tokens"/> tokens (the caller has checked the free blocks), then
    /// caches the blocks that are full among the first <paramref name="knownTokens"/> (vLLM's <c>cache_blocks</c>).</summary>
    public void Grow(int slot, PagedKvCache cache, long tokens, long knownTokens)
    {
        int need = BlocksNeeded(slot, tokens);
        if (need > 0)
        {
            cache.Allocate(need);
            _count[slot] += need;
        }

        if (!cache.PrefixCaching)
        {
            return;
        }

        int full = (int)Math.Min(_count[slot], Math.Min(tokens, knownTokens) / BlockSize), j = _registered[slot];
        if (full <= j)
        {
            return;
        }

        int sharedEnd = Math.Min(full, _sharedBlocks[slot]);
        int[] records = _record[slot];
        ulong[] held = _held[slot];
        while (j < sharedEnd)
        {
            int c = j / _perChunk, record = records[c];
            ulong key = ChunkKey(slot, c);
            if (c >= _found[slot] || !cache.IsRecordOf(record, key)) // an entry not set for this request is stale
            {
                record = cache.FindOrAddRecord(key);
                records[c] = record;
                _found[slot] = Math.Max(_found[slot], c + 1);
            }

            int lo = j - (c * _perChunk), hi = Math.Min(sharedEnd - (c * _perChunk), _perChunk);
            cache.CacheRange(record, lo, hi, held.AsSpan(c * _words, _words)); // a bit clear: computed twice, the first block keeps it
            j += hi - lo;
        }

        _registered[slot] = full; // blocks past the shared prefix are the request's own: cached implicitly
    }

    /// <summary>Frees the request's blocks, last block first (vLLM frees in reverse so tails are evicted first).</summary>
    public void Free(int slot, PagedKvCache cache)
    {
        int count = _count[slot], registered = _registered[slot], shared = _sharedBlocks[slot];
        cache.ReleaseBlank(count - registered); // not full, or not cached
        if (registered > shared)
        {
            _privateRun[slot] = cache.ReleasePrivate(_serial[slot], shared, registered);
        }

        int[] records = _record[slot];
        ulong[] held = _held[slot];
        int sharedHeld = Math.Min(registered, shared);
        for (int c = (sharedHeld - 1) / _perChunk; c >= 0 && sharedHeld > 0; c--)
        {
            ReadOnlySpan<ulong> bits = held.AsSpan(c * _words, _words);
            int o = Math.Min(sharedHeld - (c * _perChunk), _perChunk) - 1;
            if (!cache.IsRecordOf(records[c], _keys[slot][c]))
            {
                records[c] = cache.FindRecord(_keys[slot][c]); // the cache's records moved since (it rebuilt its table)
            }

            if (AllSet(bits, o + 1))
            {
                cache.ReleaseRange(records[c], 0, o + 1); // the usual case: every block it holds there is cached
                continue;
            }

            while (o >= 0)
            {
                bool cached = IsSet(bits, o);
                int top = o;
                while (o >= 0 && IsSet(bits, o) == cached)
                {
                    o--;
                }

                if (cached)
                {
                    cache.ReleaseRange(records[c], o + 1, top + 1);
                }
                else
                {
                    cache.ReleaseBlank(top - o);
                }
            }
        }

        _count[slot] = 0;
        _registered[slot] = 0;
    }

    /// <summary>The content keys of a prompt's chain blocks (the keys the caches index its shared blocks under).</summary>
    public static void ChainKeys(ReadOnlySpan<long> chain, Span<ulong> keys)
    {
        for (int k = 0; k < chain.Length; k++)
        {
            keys[k] = Mix(k == 0 ? ChainSeed : keys[k - 1], (ulong)chain[k]);
        }
    }

    private static bool IsSet(ReadOnlySpan<ulong> bits, int o) => (bits[o >> 6] & (1UL << o)) != 0;

    /// <summary>True when bits <c>[0, count)</c> are all set.</summary>
    private static bool AllSet(ReadOnlySpan<ulong> bits, int count)
    {
        int w = 0;
        for (; (w + 1) * 64 <= count; w++)
        {
            if (bits[w] != ulong.MaxValue)
            {
                return false;
            }
        }

        int rest = count - (w * 64);
        ulong mask = (1UL << rest) - 1;
        return rest == 0 || (bits[w] & mask) == mask;
    }

    /// <summary>Sets bits <c>[0, count)</c>.</summary>
    private static void SetBits(Span<ulong> bits, int count)
    {
        for (int w = 0; w * 64 < count; w++)
        {
            int n = Math.Min(64, count - (w * 64));
            bits[w] |= n == 64 ? ulong.MaxValue : (1UL << n) - 1;
        }
    }

    /// <summary>The content key of chain block <paramref name="c"/> (512 tokens) of the request: its chain ids up to
    /// <paramref name="c"/>, hashed in a chain as vLLM chains block hashes.</summary>
    private ulong ChunkKey(int slot, int c)
    {
        ulong[] keys = _keys[slot];
        for (int k = _keyed[slot]; k <= c; k++)
        {
            keys[k] = Mix(k == 0 ? ChainSeed : keys[k - 1], (ulong)_chain[slot][k]);
            _keyed[slot] = k + 1;
        }

        return keys[c];
    }

    private void EnsureSlot(int slot)
    {
        if (slot < _count.Length)
        {
            return;
        }

        int size = Math.Max(64, Math.Max(slot + 1, _count.Length * 2)), old = _count.Length;
        Array.Resize(ref _count, size);
        Array.Resize(ref _registered, size);
        Array.Resize(ref _sharedBlocks, size);
        Array.Resize(ref _serial, size);
        Array.Resize(ref _privateRun, size);
        Array.Resize(ref _chain, size);
        Array.Resize(ref _keys, size);
        Array.Resize(ref _keyed, size);
        Array.Resize(ref _found, size);
        Array.Resize(ref _record, size);
        Array.Resize(ref _held, size);
        for (int i = old; i < size; i++)
        {
            _chain[i] = [];
            _keys[i] = [];
            _record[i] = [];
            _held[i] = [];
        }
    }

    /// <summary>A 64-bit mix of two values (SplitMix64's finaliser over a multiply-xor combine).</summary>
    internal static ulong Mix(ulong a, ulong b)
    {
        ulong z = (a * 0x9E3779B97F4A7C15UL) ^ (b + 0xD6E8FEB86659FD93UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
