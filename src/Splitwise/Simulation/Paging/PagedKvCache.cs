namespace Splitwise.Simulation.Paging;

/// <summary>
/// One instance's paged KV memory with automatic prefix caching: vLLM V1's <c>BlockPool</c> (a fixed number of
/// blocks, a free queue, a hash → block index) for one full-attention KV group.
/// </summary>
/// <remarks>
/// <para>A block holds <c>block_size</c> tokens of KV. A block in use has a reference count &gt; 0; a full block
/// carries the hash of its tokens chained with its parent's (<see cref="BlockTables"/> computes it) and is indexed by
/// it. Freed blocks keep their hash and join the tail of the free queue (a request's blocks in reverse order, so its
/// last block is evicted first); a new block is taken from the head, evicting the hash it carried. A prefix hit on a
/// free block takes it out of the queue (<see cref="Touch"/>). Block 0 is vLLM's null block and is never used.</para>
/// <para>Cost: O(1) per block allocated, freed, touched or looked up (a doubly linked free queue over arrays and an
/// open-addressing <see cref="BlockIndex"/> of hashed blocks, at most one entry per block: a hash computed twice by
/// requests running at once keeps the first block, where vLLM keeps both and can hit the second after the first is
/// evicted). Nothing is allocated after the index is made. Deterministic.</para>
/// </remarks>
internal sealed class PagedKvCache
{
    private const int None = -1;

    private readonly int[] _refs;
    private readonly ulong[] _hash;
    private readonly bool[] _hashed;
    private readonly bool[] _indexed;
    private readonly int[] _prev;
    private readonly int[] _next;
    private BlockIndex? _index; // made at the first shared block: a trace without shared prefixes never needs it
    private int _head = None;
    private int _tail = None;

    /// <param name="blocks">Blocks of the pool, the null block included (vLLM's <c>num_gpu_blocks</c>); at least 2.</param>
    /// <param name="blockSize">Tokens per block.</param>
    /// <param name="prefixCaching">Index full blocks by hash so later requests reuse them.</param>
    public PagedKvCache(int blocks, int blockSize, bool prefixCaching)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        PrefixCaching = prefixCaching;
        _refs = new int[blocks];
        _hash = new ulong[blocks];
        _hashed = new bool[blocks];
        _indexed = new bool[blocks];
        _prev = new int[blocks];
        _next = new int[blocks];
        for (int b = 1; b < blocks; b++)
        {
            Append(b);
        }

        Usable = blocks - 1;
        FreeBlocks = Usable;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>True when full blocks are indexed for reuse.</summary>
    public bool PrefixCaching { get; }

    /// <summary>Blocks requests can use (the pool minus the null block).</summary>
    public int Usable { get; }

    /// <summary>Blocks in the free queue, cached or not (vLLM's <c>get_num_free_blocks</c>).</summary>
    public int FreeBlocks { get; private set; }

    /// <summary>Blocks held by requests now.</summary>
    public int UsedBlocks => Usable - FreeBlocks;

    /// <summary>Cached blocks evicted to make room so far.</summary>
    public long Evictions { get; private set; }

    /// <summary>The cached block with this hash, or −1.</summary>
    public int Lookup(ulong hash) => _index is null ? None : _index.Find(hash);

    /// <summary>True when the block is in the free queue (reference count 0): reusing it costs a free block.</summary>
    public bool IsFree(int block) => _refs[block] == 0;

    /// <summary>A request reuses a cached block: one more reference; out of the free queue if it was there.</summary>
    public void Touch(int block)
    {
        if (_refs[block]++ == 0)
        {
            Unlink(block);
            FreeBlocks--;
        }
    }

    /// <summary>Takes the block at the head of the free queue (evicting its hash) with one reference. The caller has
    /// checked <see cref="FreeBlocks"/>.</summary>
    public int Allocate()
    {
        int b = _head;
        if (b == None)
        {
            throw new InvalidOperationException("no free KV block; check FreeBlocks before allocating");
        }

        Unlink(b);
        FreeBlocks--;
        if (_hashed[b])
        {
            _hashed[b] = false;
            if (_indexed[b])
            {
                _indexed[b] = false;
                _index!.Remove(_hash[b]);
            }

            Evictions++;
        }

        _refs[b] = 1;
        return b;
    }

    /// <summary>A block of content other requests may share became full: index it under <paramref name="hash"/> unless
    /// that hash is cached already.</summary>
    public void Register(int block, ulong hash)
    {
        if (PrefixCaching && !_hashed[block] && (_index ??= new BlockIndex(_refs.Length)).TryAdd(hash, block))
        {
            _hash[block] = hash;
            _hashed[block] = true;
            _indexed[block] = true;
        }
    }

    /// <summary>
    /// A block of content only its request has (its output, or a prompt without a shared prefix) became full: it keeps
    /// its hash like any cached block, but only that request can look it up again (after a preemption), through its own
    /// block table and <see cref="Holds"/>, so it stays out of the index — the same hits and evictions as indexing it,
    /// without a dictionary insert per block of unshared text.
    /// </summary>
    public void RegisterPrivate(int block, ulong hash)
    {
        if (PrefixCaching && !_hashed[block])
        {
            _hash[block] = hash;
            _hashed[block] = true;
        }
    }

    /// <summary>True when the block still holds the content <paramref name="hash"/> (it was not evicted since).</summary>
    public bool Holds(int block, ulong hash) => PrefixCaching && _hashed[block] && _hash[block] == hash;

    /// <summary>Drops one reference; at zero the block joins the tail of the free queue, keeping its hash.</summary>
    public void Release(int block)
    {
        if (--_refs[block] == 0)
        {
            Append(block);
            FreeBlocks++;
        }
    }

    private void Append(int b)
    {
        _prev[b] = _tail;
        _next[b] = None;
        if (_tail == None)
        {
            _head = b;
        }
        else
        {
            _next[_tail] = b;
        }

        _tail = b;
    }

    private void Unlink(int b)
    {
        int p = _prev[b], n = _next[b];
        if (p == None)
        {
            _head = n;
        }
        else
        {
            _next[p] = n;
        }

        if (n == None)
        {
            _tail = p;
        }
        else
        {
            _prev[n] = p;
        }
    }
}
