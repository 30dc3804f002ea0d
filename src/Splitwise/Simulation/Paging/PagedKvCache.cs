using System.Diagnostics;

namespace Splitwise.Simulation.Paging;

/// <summary>
/// One instance's paged KV memory with automatic prefix caching: vLLM V1's <c>BlockPool</c> (a fixed number of
/// blocks, a free queue, a hash → block index) for one full-attention KV group, kept as runs of content instead of
/// one entry per block.
/// </summary>
/// <remarks>
/// <para>Semantics (vLLM's, block by block): a block in use has a reference count &gt; 0; a full block is cached under
/// its content (<see cref="BlockTables"/>: the chained hash of the prompt's 512-token chain blocks up to its own and
/// its offset there for shared content; its request and index for content only that request has). Freed blocks keep
/// their content and join the tail of the free queue (a request's blocks in reverse order, so its last block is
/// evicted first); a new block is taken from the head, evicting the content it carried. A prefix hit on a free block
/// takes it out of the queue. One block per content: a block computed while the same content is cached elsewhere
/// caches nothing (vLLM keeps both and can hit the second after the first is evicted).</para>
/// <para>Representation: which physical block holds what never shows in any result, so the pool keeps content, not
/// blocks. The free queue is a linked list of runs — blank blocks (a count), a shared record's offsets
/// <c>[lo, hi)</c> (queued highest first, as a request frees them), a request's own blocks <c>[lo, hi)</c>, or dead
/// ones (cached content no lookup can reach any more, which still counts as evicted) — so allocating, freeing or
/// hitting a whole prompt costs a few runs, not one step per block. Shared content is one record per 512-token chain
/// block, looked up once per 512 tokens in the records' own open-addressing table (the record is the table's slot). A record is usually a cached
/// prefix of its offsets all in one state (held by the same number of requests, or free in one run): two ints. Only a
/// record whose offsets differ (held up to different offsets, computed twice, hit in part) gets one int of state per
/// offset (its reference count, or the free run holding it). A hit takes offsets from 0 upwards and eviction takes a run from its
/// highest offset, so a hit always takes a run's low end: no run is ever split. Memory grows with the runs queued and
/// the shared content cached, not with the pool's size. The per-block implementation this replaces is kept in the
/// tests as the oracle it is checked against. Deterministic.</para>
/// </remarks>
internal sealed class PagedKvCache : Memory.IKvMemory
{
    private const int None = -1;
    private const byte Blank = 0, SharedRun = 1, PrivateRun = 2, DeadRun = 3;
    private const byte Empty = 0, Live = 1, Tombstone = 2;

    // Runs of the free queue, doubly linked, nodes recycled through Next.
    private Node[] _n = new Node[16];
    private int _nodes;
    private int _freeNode = None;
    private int _head = None;
    private int _tail = None;

    // Shared content: one record per 512-token chain block, _perRecord offsets each.
    private readonly int _perRecord;
    // The records are an open-addressing table keyed by content (linear probing; an evicted record leaves a tombstone,
    // so records stay where they are until the table is rebuilt): finding a record is reading it.
    private Record[] _rec = new Record[16];
    private Record[]? _spareRec;
    private int _recMask = 15;
    private int _liveRecords;
    private int _tombstones;
    private int[] _state = [];     // expanded records' slabs, per offset: > 0 requests holding it; 0 not cached; < 0 free, in run −1 − state
    private int _slabs;
    private int _freeSlab = None;

    /// <param name="blocks">Blocks of the pool, the null block included (vLLM's <c>num_gpu_blocks</c>); at least 2.</param>
    /// <param name="blockSize">Tokens per block; divides 512.</param>
    /// <param name="prefixCaching">Cache full blocks so later requests reuse them.</param>
    public PagedKvCache(int blocks, int blockSize, bool prefixCaching)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (BlockTables.ChainBlockTokens % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size must divide 512");
        }

        BlockSize = blockSize;
        PrefixCaching = prefixCaching;
        _perRecord = BlockTables.ChainBlockTokens / blockSize;
        Usable = blocks - 1; // block 0 is vLLM's null block
        AppendBlank(Usable);
        FreeBlocks = Usable;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>The cluster's index of cached prefixes this cache reports to (prefix-aware routing), or null.</summary>
    public PrefixLocator? Locator { get; set; }

    /// <summary>This cache's instance in <see cref="Locator"/>.</summary>
    public int InstanceIndex { get; set; }

    /// <summary>True when full blocks are cached for reuse.</summary>
    public bool PrefixCaching { get; }

    /// <summary>Blocks requests can use (the pool minus the null block).</summary>
    public int Usable { get; }

    /// <summary>Blocks in the free queue, cached or not (vLLM's <c>get_num_free_blocks</c>).</summary>
    public int FreeBlocks { get; private set; }

    /// <summary>Blocks held by requests now.</summary>
    public int UsedBlocks => Usable - FreeBlocks;

    /// <summary>Bytes of one block over the instance's GPUs (0 when only blocks are counted).</summary>
    public long BlockBytes { get; init; }

    /// <summary>Bytes of the blocks held now.</summary>
    public long UsedBytes => UsedBlocks * BlockBytes;

    /// <summary>The most bytes held when a step was scheduled (<see cref="NotePeak"/>).</summary>
    public long PeakBytes { get; private set; }

    /// <summary>A step was scheduled: records the bytes held now as the peak if they are the most so far.</summary>
    public void NotePeak()
    {
        long used = UsedBytes;
        if (used > PeakBytes)
        {
            PeakBytes = used;
        }
    }

    /// <summary>Cached blocks evicted to make room so far.</summary>
    public long Evictions { get; private set; }

    /// <summary>The record of shared content <paramref name="key"/> (a 512-token chain block), or −1 when none of its
    /// blocks is cached.</summary>
    public int FindRecord(ulong key)
    {
        Record[] table = _rec;
        for (int i = Home(key); ; i = (i + 1) & _recMask)
        {
            ref Record r = ref table[i];
            if (r.Use == Empty)
            {
                return None;
            }

            if (r.Key == key && r.Use == Live)
            {
                return i;
            }
        }
    }

    /// <summary>The record of <paramref name="key"/>, made (empty) when there is none.</summary>
    public int FindOrAddRecord(ulong key)
    {
        if ((_liveRecords + _tombstones + 1) * 4 > (_recMask + 1) * 3)
        {
            // Grow when live records pass half the table, else clear the tombstones at the same size.
            Rebuild((_liveRecords + 1) * 2 > _recMask + 1 ? (_recMask + 1) * 2 : _recMask + 1);
        }

        Record[] table = _rec;
        int at = None, i = Home(key);
        for (; table[i].Use != Empty; i = (i + 1) & _recMask)
        {
            if (table[i].Use == Live)
            {
                if (table[i].Key == key)
                {
                    return i;
                }
            }
            else if (at == None)
            {
                at = i; // the first tombstone: where the record goes if the key is not further on
            }
        }

        if (at == None)
        {
            at = i;
        }
        else
        {
            _tombstones--;
        }

        table[at] = new Record { Key = key, Slab = None, Use = Live };
        _liveRecords++;
        Locator?.Add(key, InstanceIndex);
        return at;
    }

    /// <summary>The records' table at <paramref name="size"/> slots without tombstones. Records move, so the runs of
    /// the free queue are told their records' new places; block tables check a remembered record id against its key
    /// before they use it (<see cref="IsRecordOf"/>).</summary>
    private void Rebuild(int size)
    {
        Record[] old = _rec;
        int[] moved = System.Buffers.ArrayPool<int>.Shared.Rent(old.Length);
        if (_spareRec?.Length == size)
        {
            _rec = _spareRec;
            Array.Clear(_rec);
        }
        else
        {
            _rec = new Record[size];
        }

        _spareRec = old.Length == size ? old : null; // the same two arrays take turns while the table keeps its size
        _recMask = size - 1;
        for (int k = 0; k < old.Length; k++)
        {
            if (old[k].Use != Live)
            {
                continue;
            }

            int i = Home(old[k].Key);
            while (_rec[i].Use != Empty)
            {
                i = (i + 1) & _recMask;
            }

            _rec[i] = old[k];
            moved[k] = i;
        }

        for (int n = _head; n != None; n = _n[n].Next)
        {
            if (_n[n].Kind == SharedRun)
            {
                _n[n].Record = moved[_n[n].Record];
            }
        }

        _tombstones = 0;
        System.Buffers.ArrayPool<int>.Shared.Return(moved);
    }

    private int Home(ulong key) => BlockIndex.HomeOf(key, _recMask);

    /// <summary>A request takes cached offset <paramref name="offset"/> of an expanded record (a prefix hit): one more
    /// reference, out of the free queue if it was there (always the low end of its run: hits take offsets from 0
    /// upwards).</summary>
    private void Hold(int baseAt, int offset)
    {
        int at = baseAt + offset;
        if (_state[at] > 0)
        {
            _state[at]++;
            return;
        }

        int n = -1 - _state[at];
        Debug.Assert(_n[n].Lo == offset, "a hit takes the low end of a run");
        _state[at] = 1;
        _n[n].Lo++;
        FreeBlocks--;
        if (_n[n].Lo == _n[n].Hi)
        {
            Unlink(n);
        }
    }

    /// <summary>True when <paramref name="record"/> is still the record of <paramref name="key"/> (a request's
    /// remembered record id, checked before it is used again).</summary>
    public bool IsRecordOf(int record, ulong key) => record >= 0 && record <= _recMask && _rec[record].Use == Live && _rec[record].Key == key;

    /// <summary>How many offsets from <paramref name="lo"/> (below <paramref name="hi"/>) are cached in a row, and how
    /// many of those are free (queued).</summary>
    public int CachedFrom(int record, int lo, int hi, out int queued)
    {
        ref Record r = ref _rec[record];
        if (r.Slab < 0)
        {
            int run = Math.Max(0, Math.Min(hi, r.Present) - lo);
            queued = r.Whole < 0 ? run : 0;
            return run;
        }

        int baseAt = r.Slab * _perRecord, o = lo;
        queued = 0;
        int[] state = _state;
        for (; o < hi; o++)
        {
            int v = state[baseAt + o];
            if (v > 0)
            {
                continue;
            }

            if (v == 0)
            {
                break;
            }

            queued++;
        }

        return o - lo;
    }

    /// <summary><see cref="Hold"/> for the cached offsets <c>[0, hi)</c>, lowest first.</summary>
    public void HoldRange(int record, int hi)
    {
        ref Record r = ref _rec[record];
        if (r.Slab < 0 && hi == r.Present)
        {
            if (r.Whole > 0)
            {
                r.Whole++;
                return;
            }

            // Free: all of it is one run, [0, hi), which the hit takes whole.
            int n = -1 - r.Whole;
            Debug.Assert(_n[n].Lo == 0 && _n[n].Hi == hi, "a free prefix record is one run");
            FreeBlocks -= hi;
            Unlink(n);
            r.Whole = 1;
            return;
        }

        int baseAt = Expand(record);
        for (int o = 0; o < hi; o++)
        {
            Hold(baseAt, o);
        }
    }

    /// <summary>Caches the freshly computed, full blocks at <c>[lo, hi)</c>: sets bit <c>o</c> of <paramref name="cached"/>
    /// (64 offsets a word) where the block caches the content, clears it where another block does already.</summary>
    public void CacheRange(int record, int lo, int hi, Span<ulong> cached)
    {
        ref Record r = ref _rec[record];
        if (r.Slab < 0 && lo == r.Present && (r.Present == 0 || r.Whole == 1))
        {
            // The record's cached prefix grows (nothing cached yet, or only this request holds it): still a prefix
            // held once.
            r.Whole = 1;
            r.Present = hi;
            SetBits(cached, lo, hi, true);
            return;
        }

        if (r.Slab < 0 && hi <= r.Present)
        {
            SetBits(cached, lo, hi, false); // all cached already: computed twice, the first block keeps it
            return;
        }

        int baseAt = Expand(record), added = 0;
        int[] state = _state;
        for (int o = lo; o < hi; o++)
        {
            int at = baseAt + o;
            if (state[at] != 0)
            {
                cached[o >> 6] &= ~(1UL << o);
            }
            else
            {
                state[at] = 1;
                added++;
                cached[o >> 6] |= 1UL << o;
            }
        }

        r.Present += added;
    }

    /// <summary>Drops a request's reference to each cached offset of <c>[lo, hi)</c>, highest first; at zero an offset joins the tail of the free queue, still cached (one run per stretch that reaches
    /// zero references).</summary>
    public void ReleaseRange(int record, int lo, int hi)
    {
        ref Record r = ref _rec[record];
        int t = _tail;
        bool extend = t != None && _n[t].Kind == SharedRun && _n[t].Record == record;
        if (r.Slab < 0 && lo == 0 && hi == r.Present)
        {
            Debug.Assert(r.Whole > 0, "released offsets are held");
            if (--r.Whole > 0)
            {
                return;
            }

            FreeBlocks += hi;
            t = Append(SharedRun, 0, hi);
            _n[t].Record = record;
            r.Whole = -1 - t;
            return;
        }

        int baseAt = Expand(record);
        int[] state = _state;
        Span<int> range = state.AsSpan(baseAt + lo, hi - lo);
        if (!range.IsEmpty && !range.ContainsAnyExcept(1))
        {
            // No other request holds any of them, so all join one run (the tail's, when it is this record's and ends
            // where they start) — what the loop below does offset by offset, in one step.
            FreeBlocks += hi - lo;
            if (extend && _n[t].Lo == hi)
            {
                _n[t].Lo = lo;
            }
            else
            {
                t = Append(SharedRun, lo, hi);
                _n[t].Record = record;
            }

            range.Fill(-1 - t);
            return;
        }

        for (int o = hi - 1; o >= lo; o--)
        {
            int at = baseAt + o;
            if (--state[at] > 0)
            {
                extend = false; // held by another request: not queued, so the next queued offset starts a new run
                continue;
            }

            FreeBlocks++;
            if (extend && _n[t].Lo == o + 1)
            {
                _n[t].Lo = o;
            }
            else
            {
                t = Append(SharedRun, o, o + 1);
                _n[t].Record = record;
                extend = true;
            }

            state[at] = -1 - t;
        }
    }

    /// <summary>Sets (or clears) bits <c>[lo, hi)</c> of <paramref name="bits"/>, a word at a time.</summary>
    private static void SetBits(Span<ulong> bits, int lo, int hi, bool set)
    {
        while (lo < hi)
        {
            int w = lo >> 6, end = Math.Min(hi, (w + 1) << 6);
            int n = end - lo;
            ulong mask = (n == 64 ? ulong.MaxValue : (1UL << n) - 1) << (lo & 63);
            bits[w] = set ? bits[w] | mask : bits[w] & ~mask;
            lo = end;
        }
    }

    /// <summary>Blocks that cache nothing (unfinished, duplicated or uncached content) join the tail of the free queue.</summary>
    public void ReleaseBlank(int count)
    {
        if (count <= 0)
        {
            return;
        }

        FreeBlocks += count;
        AppendBlank(count);
    }

    /// <summary>A request's own cached blocks <c>[lo, hi)</c> (content no other request has) join the tail of the free
    /// queue, highest first; returns the run, which only <paramref name="owner"/> can hit again (after a preemption).</summary>
    public int ReleasePrivate(ulong owner, int lo, int hi)
    {
        FreeBlocks += hi - lo;
        int n = Append(PrivateRun, lo, hi);
        _n[n].Owner = owner;
        return n;
    }

    /// <summary>The blocks <c>[lo, hi)</c> of run <paramref name="run"/> still cached for <paramref name="owner"/>
    /// (evicted from the top: <c>lo</c> stays where it was freed); false when none is.</summary>
    public bool PrivateCached(int run, ulong owner, out int lo, out int hi)
    {
        if (run != None && _n[run].Kind == PrivateRun && _n[run].Owner == owner && _n[run].Lo < _n[run].Hi)
        {
            lo = _n[run].Lo;
            hi = _n[run].Hi;
            return true;
        }

        lo = hi = 0;
        return false;
    }

    /// <summary>The owner takes its first <paramref name="count"/> cached blocks of a private run back (a recompute
    /// hitting its own blocks); the rest can never be found again and stays queued as dead content.</summary>
    public void HoldPrivate(int run, int count)
    {
        _n[run].Lo += count;
        FreeBlocks -= count;
        if (_n[run].Lo == _n[run].Hi)
        {
            Unlink(run);
        }
        else
        {
            _n[run].Kind = DeadRun;
        }
    }

    /// <summary>A private run its owner will never look up again (it was admitted anew): dead content.</summary>
    public void Forget(int run, ulong owner)
    {
        if (run != None && _n[run].Kind == PrivateRun && _n[run].Owner == owner)
        {
            _n[run].Kind = DeadRun;
        }
    }

    /// <summary>Takes <paramref name="count"/> blocks from the head of the free queue, evicting what they cached. The
    /// caller has checked <see cref="FreeBlocks"/>.</summary>
    public void Allocate(int count)
    {
        if (count > FreeBlocks)
        {
            throw new InvalidOperationException("not enough free KV blocks; check FreeBlocks before allocating");
        }

        FreeBlocks -= count;
        while (count > 0)
        {
            int n = _head, t = Math.Min(count, _n[n].Hi - _n[n].Lo);
            switch (_n[n].Kind)
            {
                case SharedRun:
                    EvictShared(_n[n].Record, _n[n].Hi - t, _n[n].Hi);
                    Evictions += t;
                    break;
                case PrivateRun:
                case DeadRun:
                    Evictions += t;
                    break;
            }

            _n[n].Hi -= t;
            count -= t;
            if (_n[n].Lo == _n[n].Hi)
            {
                Unlink(n);
            }
        }
    }

    private void EvictShared(int record, int lo, int hi)
    {
        ref Record r = ref _rec[record];
        if (r.Slab < 0)
        {
            Debug.Assert(hi == r.Present && r.Whole < 0, "eviction takes a free prefix record from its top");
            r.Present = lo; // still a prefix, one run
        }
        else
        {
            _state.AsSpan((r.Slab * _perRecord) + lo, hi - lo).Clear();
            r.Present -= hi - lo;
        }

        if (r.Present > 0)
        {
            return;
        }

        // Nothing of it is cached any more: the record (and its offsets' state, if it had its own) is gone.
        Locator?.Remove(r.Key, InstanceIndex);
        if (r.Slab >= 0)
        {
            _state[r.Slab * _perRecord] = _freeSlab;
            _freeSlab = r.Slab;
        }

        r.Use = Tombstone;
        _liveRecords--;
        _tombstones++;
    }

    /// <summary>Gives a prefix record its own per-offset state (its offsets no longer share one state) and returns where
    /// that state starts; an expanded record stays so until it is evicted.</summary>
    private int Expand(int record)
    {
        ref Record r = ref _rec[record];
        if (r.Slab >= 0)
        {
            return r.Slab * _perRecord;
        }

        int slab;
        if (_freeSlab != None)
        {
            slab = _freeSlab;
            _freeSlab = _state[slab * _perRecord];
        }
        else
        {
            if ((_slabs + 1) * _perRecord > _state.Length)
            {
                Array.Resize(ref _state, Math.Max(64, _slabs * 2) * _perRecord);
            }

            slab = _slabs++;
        }

        int baseAt = slab * _perRecord;
        _state.AsSpan(baseAt, r.Present).Fill(r.Whole);
        _state.AsSpan(baseAt + r.Present, _perRecord - r.Present).Clear();
        r.Slab = slab;
        return baseAt;
    }

    private void AppendBlank(int count)
    {
        int t = _tail;
        if (t != None && _n[t].Kind == Blank)
        {
            _n[t].Hi += count;
        }
        else
        {
            Append(Blank, 0, count);
        }
    }

    private int Append(byte kind, int lo, int hi)
    {
        int n = _freeNode;
        if (n != None)
        {
            _freeNode = _n[n].Next;
        }
        else
        {
            if (_nodes == _n.Length)
            {
                Array.Resize(ref _n, _nodes * 2);
            }

            n = _nodes++;
        }

        _n[n].Kind = kind;
        _n[n].Lo = lo;
        _n[n].Hi = hi;
        _n[n].Prev = _tail;
        _n[n].Next = None;
        if (_tail == None)
        {
            _head = n;
        }
        else
        {
            _n[_tail].Next = n;
        }

        _tail = n;
        return n;
    }

    private void Unlink(int n)
    {
        int p = _n[n].Prev, x = _n[n].Next;
        if (p == None)
        {
            _head = x;
        }
        else
        {
            _n[p].Next = x;
        }

        if (x == None)
        {
            _tail = p;
        }
        else
        {
            _n[x].Prev = p;
        }

        _n[n].Kind = Blank;
        _n[n].Next = _freeNode;
        _freeNode = n;
    }

    /// <summary>A record of shared content: its key, the offsets held or queued; a slot of the records' table.</summary>
    /// <remarks>A record is a <em>prefix record</em> while <see cref="Slab"/> is −1: its offsets <c>[0, Present)</c>
    /// all have state <see cref="Whole"/> (the same holders, or all free in one run) and the rest are not cached — the
    /// usual case, which costs no per-offset state. Otherwise its per-offset state is in slab <see cref="Slab"/> of
    /// <c>_state</c>.</remarks>
    private struct Record
    {
        public ulong Key;
        public int Present; // offsets held or queued
        public int Whole;
        public int Slab;
        public byte Use;    // Empty, Live or Tombstone
    }

    /// <summary>A run of the free queue.</summary>
    private struct Node
    {
        public int Lo;
        public int Hi;
        public int Prev;
        public int Next;
        public int Record; // SharedRun: its record
        public byte Kind;
        public ulong Owner; // PrivateRun: its request's serial
    }
}
