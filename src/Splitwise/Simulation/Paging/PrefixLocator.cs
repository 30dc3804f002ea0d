namespace Splitwise.Simulation.Paging;

/// <summary>
/// Which instances cache which shared content, for prefix-cache-aware routing: the cluster-wide index llm-d's
/// precise prefix-cache scorer builds from vLLM's KV events, here fed directly by every instance's
/// <see cref="PagedKvCache"/> as records of 512-token chain blocks appear and go.
/// </summary>
/// <remarks>
/// A chain block counts as cached on an instance while any of its blocks is (a record there); the index holds one bit
/// per instance per content key. Lookup walks a request's chain keys while some instance still holds every block so
/// far: O(chain blocks × instances / 64). Deterministic.
/// </remarks>
internal sealed class PrefixLocator
{
    private readonly int _words;
    private readonly BlockIndex _index = new(1024);
    private ulong[] _bits = [];
    private int[] _holders = []; // instances holding the key; the free-entry chain when 0
    private int _entries;
    private int _freeEntry = -1;

    public PrefixLocator(int instances)
    {
        Instances = instances;
        _words = (instances + 63) / 64;
    }

    public int Instances { get; }

    /// <summary>Instance <paramref name="instance"/> now caches content <paramref name="key"/>.</summary>
    public void Add(ulong key, int instance)
    {
        int e = _index.Find(key);
        if (e < 0)
        {
            e = NewEntry();
            _index.TryAdd(key, e);
        }

        _bits[(e * _words) + (instance >> 6)] |= 1UL << instance;
        _holders[e]++;
    }

    /// <summary>Instance <paramref name="instance"/> no longer caches content <paramref name="key"/>.</summary>
    public void Remove(ulong key, int instance)
    {
        int e = _index.Find(key);
        _bits[(e * _words) + (instance >> 6)] &= ~(1UL << instance);
        if (--_holders[e] == 0)
        {
            _index.Remove(key);
            _holders[e] = _freeEntry;
            _freeEntry = e;
        }
    }

    /// <summary>Writes for every instance how many leading chain blocks of <paramref name="keys"/> it caches.</summary>
    public void Match(ReadOnlySpan<ulong> keys, Span<int> matched)
    {
        matched.Clear();
        Span<ulong> live = _words <= 16 ? stackalloc ulong[_words] : new ulong[_words];
        live.Fill(ulong.MaxValue);
        for (int c = 0; c < keys.Length; c++)
        {
            int e = _index.Find(keys[c]);
            if (e < 0)
            {
                return;
            }

            bool any = false;
            for (int w = 0; w < _words; w++)
            {
                live[w] &= _bits[(e * _words) + w];
                any |= live[w] != 0;
            }

            if (!any)
            {
                return;
            }

            for (int w = 0; w < _words; w++)
            {
                for (ulong b = live[w]; b != 0; b &= b - 1)
                {
                    matched[(w * 64) + System.Numerics.BitOperations.TrailingZeroCount(b)] = c + 1;
                }
            }
        }
    }

    private int NewEntry()
    {
        int e;
        if (_freeEntry >= 0)
        {
            e = _freeEntry;
            _freeEntry = _holders[e];
        }
        else
        {
            if (_entries == _holders.Length)
            {
                int size = Math.Max(64, _entries * 2);
                Array.Resize(ref _holders, size);
                Array.Resize(ref _bits, size * _words);
            }

            e = _entries++;
        }

        _holders[e] = 0;
        _bits.AsSpan(e * _words, _words).Clear();
        return e;
    }
}
