namespace Splitwise.Simulation.Paging;

/// <summary>
/// The prefix cache's hash → record index: an open-addressing table (linear probing, backward-shift deletion), so a
/// lookup, insert or removal is one probe sequence in two flat arrays — about half the memory traffic of a
/// <see cref="Dictionary{TKey, TValue}"/>. It doubles when its load would pass 2/3, so it grows with the content
/// cached, not with the pool.
/// </summary>
internal sealed class BlockIndex
{
    private ulong[] _keys;
    private int[] _values; // value + 1; 0 marks an empty slot
    private int _mask;

    /// <param name="capacity">Entries expected at once; the table keeps its load at or below 2/3, growing as needed.</param>
    public BlockIndex(int capacity)
    {
        int size = 16;
        while (size < capacity + (capacity / 2) + 1)
        {
            size <<= 1;
        }

        _keys = new ulong[size];
        _values = new int[size];
        _mask = size - 1;
    }

    public int Count { get; private set; }

    /// <summary>The block stored under <paramref name="key"/>, or −1.</summary>
    public int Find(ulong key)
    {
        for (int i = Home(key); ; i = (i + 1) & _mask)
        {
            int v = _values[i];
            if (v == 0)
            {
                return -1;
            }

            if (_keys[i] == key)
            {
                return v - 1;
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

        int i = Home(key);
        while (_values[i] != 0)
        {
            if (_keys[i] == key)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }

        _keys[i] = key;
        _values[i] = block + 1;
        Count++;
        return true;
    }

    /// <summary>Removes <paramref name="key"/> (present); later entries of its probe run shift back into the gap.</summary>
    public void Remove(ulong key)
    {
        int i = Home(key);
        while (_keys[i] != key || _values[i] == 0)
        {
            if (_values[i] == 0)
            {
                return;
            }

            i = (i + 1) & _mask;
        }

        int gap = i;
        for (int j = (gap + 1) & _mask; _values[j] != 0; j = (j + 1) & _mask)
        {
            int home = Home(_keys[j]);
            // The entry at j may fill the gap if its home is not strictly between the gap and j (cyclically).
            bool between = gap <= j ? gap < home && home <= j : gap < home || home <= j;
            if (!between)
            {
                _keys[gap] = _keys[j];
                _values[gap] = _values[j];
                gap = j;
            }
        }

        _values[gap] = 0;
        Count--;
    }

    private void Grow()
    {
        ulong[] keys = _keys;
        int[] values = _values;
        _keys = new ulong[keys.Length * 2];
        _values = new int[keys.Length * 2];
        _mask = _keys.Length - 1;
        for (int k = 0; k < keys.Length; k++)
        {
            if (values[k] != 0)
            {
                int i = Home(keys[k]);
                while (_values[i] != 0)
                {
                    i = (i + 1) & _mask;
                }

                _keys[i] = keys[k];
                _values[i] = values[k];
            }
        }
    }

    // Keys are 64-bit hashes already; fold the high bits in so a table of any size sees them.
    private int Home(ulong key) => (int)((key ^ (key >> 29)) & (ulong)_mask);
}
