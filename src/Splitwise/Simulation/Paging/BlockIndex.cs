namespace Splitwise.Simulation.Paging;

/// <summary>
/// The prefix cache's hash → block index: an open-addressing table (linear probing, backward-shift deletion) sized
/// once for the pool, so a lookup, insert or removal is one probe sequence in two flat arrays — about half the memory
/// traffic of a <see cref="Dictionary{TKey, TValue}"/>, which matters at one insert and one removal per cached block.
/// </summary>
internal sealed class BlockIndex
{
    private readonly ulong[] _keys;
    private readonly int[] _values; // block + 1; 0 marks an empty slot
    private readonly int _mask;

    /// <param name="capacity">Most entries at once (the pool's blocks); the table keeps its load at or below 2/3.</param>
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

    // Keys are 64-bit hashes already; fold the high bits in so a table of any size sees them.
    private int Home(ulong key) => (int)((key ^ (key >> 29)) & (ulong)_mask);
}
