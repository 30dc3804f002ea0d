using System.Numerics;
using System.Runtime.InteropServices;

namespace Splitwise.Reports;

/// <summary>A distribution of reuse distances: exact mean and max, percentiles from log buckets (within 0.8 %).</summary>
public sealed record ReuseDistance(long Count, double Mean, double P50, double P90, double P99, double Max);

/// <summary>
/// How a trace's prefix hash chains reuse blocks: what an infinite prefix cache would hit, and how far apart reuses are.
/// </summary>
/// <remarks>
/// <see cref="BlocksSeenBefore"/> counts block occurrences whose id appeared in an earlier request (anywhere in its
/// chain). The infinite cache is prefix-structured, as vLLM's and SGLang's are: a request hits the longest prefix of
/// its chain whose blocks were all seen before, so a block counts only if all its predecessors matched; its hit tokens
/// are that prefix's blocks × <see cref="BlockTokens"/>, at most the request's input. Reuse distance: for every block
/// seen before, the time and the number of requests since the request that last had it.
/// </remarks>
public sealed record PrefixReuse(
    long Requests,
    long Blocks,
    long DistinctBlocks,
    long BlocksSeenBefore,
    long InputTokens,
    long HitTokens,
    long HitRequests,
    int BlockTokens,
    ReuseDistance DistanceSeconds,
    ReuseDistance DistanceRequests)
{
    public double SeenBeforeShare => Blocks > 0 ? BlocksSeenBefore / (double)Blocks : double.NaN;

    /// <summary>Share of input tokens an infinite prefix cache serves.</summary>
    public double TokenHitRate => InputTokens > 0 ? HitTokens / (double)InputTokens : double.NaN;

    /// <summary>Share of requests whose first block (at least) is a cache hit.</summary>
    public double RequestHitRate => Requests > 0 ? HitRequests / (double)Requests : double.NaN;
}

/// <summary>
/// Accumulates <see cref="PrefixReuse"/> over requests in file order, a chunk at a time.
/// </summary>
/// <remarks>
/// Memory is NOT bounded like the rest of <c>analyze</c>: it keeps one hash-map entry (about 32 bytes) per distinct
/// block id, the last time and request that had it — 80 M distinct blocks take about 2.6 GB. Per block one map lookup;
/// no allocation per row.
/// </remarks>
public sealed class PrefixReuseAccumulator(int blockTokens = 512)
{
    private struct Last
    {
        public long Ticks;
        public long Request;
    }

    private readonly Dictionary<long, Last> _last = [];
    private readonly LogHistogram _ticks = new();
    private readonly LogHistogram _requests = new();
    private long _rows, _blocks, _seen, _inputTokens, _hitTokens, _hitRequests;

    /// <summary>Adds requests in file order: arrivals (ticks), inputs, and the chains as offsets (count + 1) into ids.</summary>
    public void Add(ReadOnlySpan<long> ticks, ReadOnlySpan<int> inputs, ReadOnlySpan<int> offsets, ReadOnlySpan<long> ids)
    {
        if (offsets.Length != ticks.Length + 1 || inputs.Length != ticks.Length)
        {
            throw new ArgumentException("need count + 1 offsets and one input per arrival", nameof(offsets));
        }

        Dictionary<long, Last> last = _last;
        long b = blockTokens;
        long seen = _seen, hitTokens = _hitTokens, hitRequests = _hitRequests, inputTokens = _inputTokens;
        for (int i = 0; i < ticks.Length; i++)
        {
            long request = _rows + i;
            long t = ticks[i];
            ReadOnlySpan<long> chain = ids[offsets[i]..offsets[i + 1]];
            bool prefix = true;
            long hit = 0;
            for (int j = 0; j < chain.Length; j++)
            {
                ref Last entry = ref CollectionsMarshal.GetValueRefOrAddDefault(last, chain[j], out bool exists);
                bool before = exists && entry.Request < request;
                if (before)
                {
                    seen++;
                    _ticks.Add(Math.Max(0, t - entry.Ticks));
                    _requests.Add(request - entry.Request);
                }

                prefix &= before;
                if (prefix)
                {
                    hit++;
                }

                entry.Ticks = t;
                entry.Request = request;
            }

            inputTokens += inputs[i];
            hitTokens += Math.Min(hit * b, inputs[i]);
            hitRequests += hit > 0 ? 1 : 0;
            _blocks += chain.Length;
        }

        _rows += ticks.Length;
        _seen = seen;
        _hitTokens = hitTokens;
        _hitRequests = hitRequests;
        _inputTokens = inputTokens;
    }

    public PrefixReuse Finish() => new(
        _rows, _blocks, _last.Count, _seen, _inputTokens, _hitTokens, _hitRequests, blockTokens,
        _ticks.Summary(1.0 / TimeSpan.TicksPerSecond), _requests.Summary(1));
}

/// <summary>Counts of non-negative integers in log buckets: exact below 128, then 64 buckets per power of two.</summary>
internal sealed class LogHistogram
{
    private const int Exact = 128;
    private const int PerOctave = 64;
    private readonly long[] _counts = new long[Exact + ((63 - 7) * PerOctave)];
    private long _count;
    private double _sum;
    private long _max;

    public void Add(long v)
    {
        _counts[Bucket(v)]++;
        _count++;
        _sum += v;
        _max = Math.Max(_max, v);
    }

    private static int Bucket(long v)
    {
        if (v < Exact)
        {
            return (int)v;
        }

        int e = 63 - BitOperations.LeadingZeroCount((ulong)v);
        int m = (int)((v >> (e - 6)) & (PerOctave - 1));
        return Exact + ((e - 7) * PerOctave) + m;
    }

    /// <summary>The middle of bucket <paramref name="k"/> (its value when exact).</summary>
    private static double Value(int k)
    {
        if (k < Exact)
        {
            return k;
        }

        int e = ((k - Exact) / PerOctave) + 7;
        int m = (k - Exact) % PerOctave;
        double low = (double)(PerOctave + m) * Math.Pow(2, e - 6);
        return low + (Math.Pow(2, e - 6) / 2);
    }

    public ReuseDistance Summary(double scale)
    {
        if (_count == 0)
        {
            return new ReuseDistance(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        return new ReuseDistance(_count, _sum / _count * scale, Percentile(0.5) * scale, Percentile(0.9) * scale, Percentile(0.99) * scale, _max * scale);
    }

    /// <summary>Nearest rank: the bucket holding the ⌈q·n⌉-th smallest value, capped at the exact maximum.</summary>
    private double Percentile(double q)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(q * _count));
        long cumulative = 0;
        for (int k = 0; k < _counts.Length; k++)
        {
            cumulative += _counts[k];
            if (cumulative >= rank)
            {
                return Math.Min(Value(k), _max);
            }
        }

        return _max;
    }
}
