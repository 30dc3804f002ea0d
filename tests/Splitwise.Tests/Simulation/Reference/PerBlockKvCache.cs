using Splitwise.Simulation.Paging;

namespace Splitwise.Tests.Simulation.Reference;

/// <summary>
/// The per-block reference (the oracle of <c>PagedKvRunsTests</c>; the engine uses the run-based
/// <c>Splitwise.Simulation.Paging</c> classes). One instance's paged KV memory with automatic prefix caching: vLLM V1's <c>BlockPool</c> (a fixed number of
/// blocks, a free queue, a hash → block index) for one full-attention KV group.
/// </summary>
/// <remarks>
/// <para>A block holds <c>block_size</c> tokens of KV. A block in use has a reference count &gt; 0; a full block is
/// cached: a block of shared content under its content key (<see cref="PerBlockTables"/>: the chained hash of the prompt's
/// 512-token chain blocks up to its own, and its offset there), a block of private content under its request's tag. Freed blocks keep their hash and join the tail of the free queue (a request's blocks in reverse order, so its
/// last block is evicted first); a new block is taken from the head, evicting the hash it carried. A prefix hit on a
/// free block takes it out of the queue (<see cref="Touch"/>). Block 0 is vLLM's null block and is never used.</para>
/// <para>Cost: O(1) per block allocated, freed, touched or looked up: a doubly linked free queue over arrays, and for
/// shared content one record per 512-token chain block (its blocks by offset) in an open-addressing
/// <see cref="BlockIndex"/>, so the index is probed once per 512 tokens, not once per block. One block per content: a
/// block computed twice by requests running at once keeps the first, where vLLM keeps both and can hit the second after
/// the first is evicted. Records grow with the shared content cached, never past one per block. Deterministic.</para>
/// </remarks>
internal sealed class PerBlockKvCache
{
    private const int None = -1;

    private readonly int[] _refs;
    private readonly int[] _prev;
    private readonly int[] _next;
    private int _head = None;
    private int _tail = None;

    // Private content: the request's tag (valid when _tagged).
    private readonly ulong[] _tag;
    private readonly bool[] _tagged;

    // Shared content: the record (512-token chain block) and offset of a cached block, −1 when it holds none.
    private readonly int[] _record;
    private readonly int[] _offset;
    private readonly int _perRecord;
    private BlockIndex? _index; // key → record; made at the first shared block
    private ulong[] _recordKey = [];
    private int[] _recordCount = [];
    private int[] _recordBlocks = []; // _perRecord entries per record, −1 when empty
    private int _records;
    private int _freeRecord = None; // free records chained through _recordCount

    /// <param name="blocks">Blocks of the pool, the null block included (vLLM's <c>num_gpu_blocks</c>); at least 2.</param>
    /// <param name="blockSize">Tokens per block; divides 512.</param>
    /// <param name="prefixCaching">Cache full blocks so later requests reuse them.</param>
    public PerBlockKvCache(int blocks, int blockSize, bool prefixCaching)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (PerBlockTables.ChainBlockTokens % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size must divide 512");
        }

        BlockSize = blockSize;
        PrefixCaching = prefixCaching;
        _perRecord = PerBlockTables.ChainBlockTokens / blockSize;
        _refs = new int[blocks];
        _prev = new int[blocks];
        _next = new int[blocks];
        _tag = new ulong[blocks];
        _tagged = new bool[blocks];
        _record = new int[blocks];
        _offset = new int[blocks];
        _record.AsSpan().Fill(None);
        for (int b = 1; b < blocks; b++)
        {
            Append(b);
        }

        Usable = blocks - 1;
        FreeBlocks = Usable;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>True when full blocks are cached for reuse.</summary>
    public bool PrefixCaching { get; }

    /// <summary>Blocks requests can use (the pool minus the null block).</summary>
    public int Usable { get; }

    /// <summary>Blocks in the free queue, cached or not (vLLM's <c>get_num_free_blocks</c>).</summary>
    public int FreeBlocks { get; private set; }

    /// <summary>Blocks held by requests now.</summary>
    public int UsedBlocks => Usable - FreeBlocks;

    /// <summary>Cached blocks evicted to make room so far.</summary>
    public long Evictions { get; private set; }

    /// <summary>The record of shared content <paramref name="key"/> (a 512-token chain block), or −1 when none of its
    /// blocks is cached.</summary>
    public int FindRecord(ulong key) => _index is null ? None : _index.Find(key);

    /// <summary>The cached block at <paramref name="offset"/> of a record, or −1.</summary>
    public int RecordBlock(int record, int offset) => _recordBlocks[(record * _perRecord) + offset];

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

    /// <summary>Takes the block at the head of the free queue (evicting what it cached) with one reference. The caller
    /// has checked <see cref="FreeBlocks"/>.</summary>
    public int Allocate()
    {
        int b = _head;
        if (b == None)
        {
            throw new InvalidOperationException("no free KV block; check FreeBlocks before allocating");
        }

        Unlink(b);
        FreeBlocks--;
        if (_tagged[b])
        {
            _tagged[b] = false;
            Evictions++;
        }
        else if (_record[b] != None)
        {
            Uncache(b);
            Evictions++;
        }

        _refs[b] = 1;
        return b;
    }

    /// <summary>
    /// A block of shared content became full: cache it at <paramref name="offset"/> of the record of
    /// <paramref name="key"/>, unless that content is cached in another block already.
    /// </summary>
    public void RegisterShared(int block, ulong key, int offset)
    {
        if (!PrefixCaching || _tagged[block] || _record[block] != None)
        {
            return;
        }

        _index ??= new BlockIndex(_refs.Length);
        int record = _index.Find(key);
        if (record == None)
        {
            record = NewRecord(key);
            _index.TryAdd(key, record);
        }

        int at = (record * _perRecord) + offset;
        if (_recordBlocks[at] != None)
        {
            return;
        }

        _recordBlocks[at] = block;
        _recordCount[record]++;
        _record[block] = record;
        _offset[block] = offset;
    }

    /// <summary>
    /// A block of content only its request has (its output, or a prompt without a shared prefix) became full: it is
    /// cached like any block, but only that request can look it up again (after a preemption), through its own block
    /// table and <see cref="Holds"/> — the same hits and evictions as indexing it, without an index entry.
    /// </summary>
    public void RegisterPrivate(int block, ulong tag)
    {
        if (PrefixCaching && !_tagged[block] && _record[block] == None)
        {
            _tag[block] = tag;
            _tagged[block] = true;
        }
    }

    /// <summary>True when the block still caches the private content <paramref name="tag"/> (not evicted since).</summary>
    public bool Holds(int block, ulong tag) => _tagged[block] && _tag[block] == tag;

    /// <summary>Drops one reference; at zero the block joins the tail of the free queue, still cached.</summary>
    public void Release(int block)
    {
        if (--_refs[block] == 0)
        {
            Append(block);
            FreeBlocks++;
        }
    }

    private int NewRecord(ulong key)
    {
        int record;
        if (_freeRecord != None)
        {
            record = _freeRecord;
            _freeRecord = _recordCount[record];
        }
        else
        {
            if (_records == _recordKey.Length)
            {
                int size = Math.Max(64, _records * 2);
                Array.Resize(ref _recordKey, size);
                Array.Resize(ref _recordCount, size);
                Array.Resize(ref _recordBlocks, size * _perRecord);
            }

            record = _records++;
        }

        _recordKey[record] = key;
        _recordCount[record] = 0;
        _recordBlocks.AsSpan(record * _perRecord, _perRecord).Fill(None);
        return record;
    }

    private void Uncache(int b)
    {
        int record = _record[b];
        _recordBlocks[(record * _perRecord) + _offset[b]] = None;
        _record[b] = None;
        if (--_recordCount[record] == 0)
        {
            _index!.Remove(_recordKey[record]);
            _recordCount[record] = _freeRecord;
            _freeRecord = record;
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
