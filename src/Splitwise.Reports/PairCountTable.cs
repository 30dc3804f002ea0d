using System.Runtime.CompilerServices;

namespace Splitwise.Reports;

/// <summary>
/// Counts of distinct (input, output) token pairs: an open-addressing hash table keyed by the pair packed into a
/// <see cref="long"/>. It holds the joint distribution of a trace in memory bounded by the number of distinct pairs,
/// not by the number of rows, and yields both marginals exactly.
/// </summary>
/// <remarks>Iteration order depends only on the insertion sequence, so everything derived from it is deterministic.</remarks>
internal sealed class PairCountTable
{
    private const long Empty = -1;
    private long[] _keys;
    private long[] _counts;
    private int _mask;
    private int _shift;
    private int _used;

    public PairCountTable(int capacityPowerOfTwo = 1 << 12)
    {
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacityPowerOfTwo));
        _keys = new long[capacity];
        _counts = new long[capacity];
        Array.Fill(_keys, Empty);
        _mask = capacity - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
    }

    /// <summary>Number of distinct pairs.</summary>
    public int Count => _used;

    /// <summary>Total count over all pairs.</summary>
    public long Total { get; private set; }

    public static long Pack(int input, int output) => ((long)input << 32) | (uint)output;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(long key)
    {
        long[] keys = _keys;
        int i = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15UL)) >> _shift);
        while (true)
        {
            long k = keys[i];
            if (k == key)
            {
                _counts[i]++;
                Total++;
                return;
            }

            if (k == Empty)
            {
                Insert(i, key);
                return;
            }

            i = (i + 1) & _mask;
        }
    }

    /// <summary>Counts every (inputs[i], outputs[i]) pair: the hot loop of analyze, with the table's fields in locals.</summary>
    public void AddAll(ReadOnlySpan<int> inputs, ReadOnlySpan<int> outputs)
    {
        if (inputs.Length != outputs.Length)
        {
            throw new ArgumentException("columns differ in length", nameof(outputs));
        }

        long[] keys = _keys, counts = _counts;
        int shift = _shift, mask = _mask;
        for (int r = 0; r < inputs.Length; r++)
        {
            long key = ((long)inputs[r] << 32) | (uint)outputs[r];
            int i = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15UL)) >> shift);
            while (true)
            {
                long k = keys[i];
                if (k == key)
                {
                    counts[i]++;
                    break;
                }

                if (k == Empty)
                {
                    Insert(i, key);
                    Total--; // Insert counted it; the batch adds all rows at the end.
                    keys = _keys;
                    counts = _counts;
                    shift = _shift;
                    mask = _mask;
                    break;
                }

                i = (i + 1) & mask;
            }
        }

        Total += inputs.Length;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Insert(int slot, long key)
    {
        _keys[slot] = key;
        _counts[slot] = 1;
        Total++;
        if (++_used * 2 > _keys.Length)
        {
            Grow();
        }
    }

    private void Grow()
    {
        long[] oldKeys = _keys, oldCounts = _counts;
        int capacity = oldKeys.Length * 2;
        _keys = new long[capacity];
        _counts = new long[capacity];
        Array.Fill(_keys, Empty);
        _mask = capacity - 1;
        _shift--;
        for (int j = 0; j < oldKeys.Length; j++)
        {
            long key = oldKeys[j];
            if (key == Empty)
            {
                continue;
            }

            int i = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15UL)) >> _shift);
            while (_keys[i] != Empty)
            {
                i = (i + 1) & _mask;
            }

            _keys[i] = key;
            _counts[i] = oldCounts[j];
        }
    }

    /// <summary>Copies the pairs out, sorted by (input, output): inputs, outputs and counts as parallel arrays.</summary>
    public (int[] Inputs, int[] Outputs, long[] Counts) ToSortedArrays()
    {
        long[] keys = new long[_used];
        long[] counts = new long[_used];
        int n = 0;
        for (int j = 0; j < _keys.Length; j++)
        {
            if (_keys[j] != Empty)
            {
                keys[n] = _keys[j];
                counts[n] = _counts[j];
                n++;
            }
        }

        Array.Sort(keys, counts);
        int[] inputs = new int[n], outputs = new int[n];
        for (int j = 0; j < n; j++)
        {
            inputs[j] = (int)(keys[j] >> 32);
            outputs[j] = (int)(uint)keys[j];
        }

        return (inputs, outputs, counts);
    }
}
