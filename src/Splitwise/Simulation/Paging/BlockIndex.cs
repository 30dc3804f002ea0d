namespace Splitwise.Simulation.Paging;

/// <summary>
/// A content hash → int index (the cluster's <see cref="PrefixLocator"/>; each instance's cache keeps its records in
/// a table of the same kind, <see cref="PagedKvCache"/>): an open-addressing table (linear probing, backward-shift deletion) of
/// key–value entries side by side, so a lookup, insert or removal is one probe sequence, usually within one cache line
/// — about a quarter of the memory traffic of a <see cref="Dictionary{TKey, TValue}"/>. It doubles when its load would
/// pass 2/3, so it grows with the content cached, not with the pool.
/// </summary>
internal sealed class BlockIndex
{
    private Entry[] _entries;
    private int _mask;

    /// <param name="capacity">Entries expected at once; the table keeps its load at or below 2/3, growing as needed.</param>
    public BlockIndex(int capacity)
    {
        int size = 16;
        while (size < capacity + (capacity / 2) + 1)
        {
            size <<= 1;
        }

        _entries = new Entry[size];
        _mask = size - 1;
    }

    public int Count { get; private set; }

    /// <summary>The block stored under <paramref name="key"/>, or −1.</summary>
    public int Find(ulong key)
    {
        Entry[] entries = _entries;
        for (int i = Home(key); ; i = (i + 1) & _mask)
        {
            ref Entry e = ref entries[i];
            if (e.Value == 0)
            {
                return -1;
            }

            if (e.Key == key)
            {
                return e.Value - 1;
            }
        }
    }

    /// <summary>Stores <paramref name="block"/> under <paramref name="key"/> unless the key is present; true when stored.</summary>
    public bool TryAdd(ulong key, int block)
    {
        if ((Count + 1) * 3 > (_mask + 1) * 2)
        {
            Grow();
        }

        Entry[] entries = _entries;
        int i = Home(key);
        while (entries[i].Value != 0)
        {
            if (entries[i].Key == key)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }

        entries[i] = new Entry { Key = key, Value = block + 1 };
        Count++;
        return true;
    }

    /// <summary>Removes <paramref name="key"/> (present); later entries of its probe run shift back into the gap.</summary>
    public void Remove(ulong key)
    {
        Entry[] entries = _entries;
        int i = Home(key);
        while (entries[i].Key != key || entries[i].Value == 0)
        {
            if (entries[i].Value == 0)
            {
                return;
            }

            i = (i + 1) & _mask;
        }

        int gap = i;
        for (int j = (gap + 1) & _mask; entries[j].Value != 0; j = (j + 1) & _mask)
        {
            int home = Home(entries[j].Key);
            // The entry at j may fill the gap if its home is not strictly between the gap and j (cyclically).
            bool between = gap <= j ? gap < home && home <= j : gap < home || home <= j;
            if (!between)
            {
                entries[gap] = entries[j];
                gap = j;
            }
        }

        entries[gap].Value = 0;
        Count--;
    }

    private void Grow()
    {
        Entry[] old = _entries;
        _entries = new Entry[old.Length * 2];
        _mask = _entries.Length - 1;
        foreach (Entry e in old)
        {
            if (e.Value != 0)
            {
                int i = Home(e.Key);
                while (_entries[i].Value != 0)
                {
                    i = (i + 1) & _mask;
                }

                _entries[i] = e;
            }
        }
    }

    private int Home(ulong key) => HomeOf(key, _mask);

    /// <summary>Where a key's probe starts in a table of <paramref name="mask"/> + 1 slots: keys are 64-bit hashes
    /// already, so the high bits are folded in for a table of any size to see them.</summary>
    internal static int HomeOf(ulong key, int mask) => (int)((key ^ (key >> 29)) & (ulong)mask);

    private struct Entry
    {
        public ulong Key;
        public int Value; // value + 1; 0 marks an empty slot
    }
}
