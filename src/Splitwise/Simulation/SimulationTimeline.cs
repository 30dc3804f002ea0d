namespace Splitwise.Simulation;

/// <summary>
/// The time series of a run in bounded memory, for reports: arrivals, completions and rejections per bucket, and the
/// time-weighted means of requests queued and running, machines in the mixed pool, and per pool (the instances'
/// roles: prompt, token, mixed) the requests and tokens in the running batches and the KV memory in use, and the KV
/// memory in use per instance (the vLLM engine's block usage).
/// </summary>
/// <remarks>
/// <para>A fixed number of buckets (<see cref="BucketCount"/>) of equal width covers simulated time from 0. When the
/// run outgrows them the width doubles and neighbouring buckets merge (sums add), so memory is
/// O(buckets × (3 + 3 × pools + instances)) whatever the run's length: a week of traffic still fits.</para>
/// <para>The engine calls the hooks on its thread in simulated-time order; each costs O(1) — a gauge's change is
/// booked against the rest of its bucket, each bucket pre-filled with the gauges' values when entered — and no
/// allocation (the bucket arrays are allocated once). Gauges are piecewise constant between hooks: an instance's batch
/// and KV memory are sampled when it starts an iteration (or goes idle), the mixed pool when a machine is borrowed or
/// returned. Deterministic: integer time, sums of the same terms in the same order.</para>
/// </remarks>
public sealed class SimulationTimeline
{
    /// <summary>Buckets kept by default.</summary>
    public const int DefaultBuckets = 512;

    private const int Queued = 0, Running = 1, Mixed = 2, PerPool = 3;

    private readonly int _buckets;
    private readonly int _gauges;
    private readonly int[] _poolOf;
    private readonly string[] _poolNames;
    private readonly int[] _poolInstances;
    private readonly long[] _poolCapacity;
    private readonly long[] _instanceCapacity;
    private readonly string[] _instanceNames;
    private readonly int _perInstance; // the first per-instance KV gauge
    private readonly int[] _batch;
    private readonly int[] _tokens;
    private readonly long[] _kv;
    private readonly double[] _value;
    private readonly double[] _integral; // [bucket * _gauges + gauge], value × ns, pre-filled to the current bucket's end
    private readonly long[] _arrivals;
    private readonly long[] _completions;
    private readonly long[] _rejections;
    private long _width;
    private int _current;
    private long _currentEnd;
    private long _queued;
    private long _running;

    /// <param name="instances">The cluster's instances; their roles name the pools.</param>
    /// <param name="mixedMachines">Machines in the mixed pool at the start (a Splitwise design's mixed-by-design ones); -1
    /// for a cluster without pool borrowing.</param>
    /// <param name="buckets">Buckets kept (even, ≥ 2).</param>
    /// <param name="initialBucketNs">Width of a bucket until the run outgrows them.</param>
    public SimulationTimeline(IReadOnlyList<InstanceSpec> instances, int mixedMachines = -1, int buckets = DefaultBuckets, long initialBucketNs = 1_000_000_000)
    {
        ArgumentNullException.ThrowIfNull(instances);
        if (buckets < 2 || buckets % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "an even number ≥ 2");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialBucketNs);
        _buckets = buckets;
        _width = initialBucketNs;
        HasMixedPool = mixedMachines >= 0;
        var names = new List<string>();
        _poolOf = new int[instances.Count];
        for (int i = 0; i < instances.Count; i++)
        {
            string name = instances[i].Roles switch
            {
                InstanceRoles.Prompt => "prompt",
                InstanceRoles.Token => "token",
                _ => "mixed",
            };
            int p = names.IndexOf(name);
            if (p < 0)
            {
                p = names.Count;
                names.Add(name);
            }

            _poolOf[i] = p;
        }

        // One pool of mixed instances is a colocated (baseline) cluster: call it that.
        if (names.Count == 1 && names[0] == "mixed" && !HasMixedPool)
        {
            names[0] = "all";
        }

        _poolNames = [.. names];
        _poolInstances = new int[names.Count];
        _poolCapacity = new long[names.Count];
        for (int i = 0; i < instances.Count; i++)
        {
            _poolInstances[_poolOf[i]]++;
            _poolCapacity[_poolOf[i]] += instances[i].KvCapacityBytes;
        }

        _batch = new int[instances.Count];
        _tokens = new int[instances.Count];
        _kv = new long[instances.Count];
        _instanceCapacity = [.. instances.Select(i => i.KvCapacityBytes)];
        _instanceNames = [.. instances.Select(i => i.Name)];
        _perInstance = PerPool + (3 * names.Count);
        _gauges = _perInstance + instances.Count;
        _value = new double[_gauges];
        _value[Mixed] = Math.Max(0, mixedMachines);
        _integral = new double[buckets * _gauges];
        _arrivals = new long[buckets];
        _completions = new long[buckets];
        _rejections = new long[buckets];
        _currentEnd = _width;
        for (int g = 0; g < _gauges; g++)
        {
            _integral[g] = _value[g] * _width;
        }
    }

    /// <summary>Buckets kept.</summary>
    public int BucketCount => _buckets;

    /// <summary>Current bucket width, ns.</summary>
    public long BucketNs => _width;

    /// <summary>True when the cluster borrows machines into a mixed pool (Splitwise designs).</summary>
    public bool HasMixedPool { get; }

    /// <summary>A request arrived.</summary>
    public void OnArrival(long now)
    {
        Roll(now);
        _arrivals[_current]++;
        _queued++;
        Change(Queued, 1, now);
    }

    /// <summary>A request was rejected at arrival (it can never fit); it had been counted as arrived.</summary>
    public void OnRejected(long now)
    {
        Roll(now);
        _rejections[_current]++;
        _queued--;
        Change(Queued, -1, now);
    }

    /// <summary>A request finished (its last token at <paramref name="now"/>).</summary>
    public void OnCompleted(long now)
    {
        Roll(now);
        _completions[_current]++;
        _running--;
        Change(Running, -1, now);
    }

    /// <summary>
    /// Instance <paramref name="instance"/> starts an iteration (or goes idle: all zero) of <paramref name="requests"/>
    /// requests and <paramref name="tokens"/> batch tokens, <paramref name="newPrompts"/> of them prompts starting now,
    /// with <paramref name="kvBytes"/> of KV memory reserved.
    /// </summary>
    public void OnIterationStart(long now, int instance, int requests, int tokens, int newPrompts, long kvBytes)
    {
        Roll(now);
        if (newPrompts > 0)
        {
            _queued -= newPrompts;
            _running += newPrompts;
            Change(Queued, -newPrompts, now);
            Change(Running, newPrompts, now);
        }

        int g = PerPool + (3 * _poolOf[instance]);
        Change(g, requests - _batch[instance], now);
        Change(g + 1, tokens - _tokens[instance], now);
        Change(g + 2, kvBytes - _kv[instance], now);
        Change(_perInstance + instance, kvBytes - _kv[instance], now);
        _batch[instance] = requests;
        _tokens[instance] = tokens;
        _kv[instance] = kvBytes;
    }

    /// <summary>A machine joined (+1) or left (−1) the mixed pool.</summary>
    public void OnMixedPool(long now, int delta)
    {
        Roll(now);
        Change(Mixed, delta, now);
    }

    /// <summary>A gauge changes by <paramref name="delta"/> at <paramref name="now"/> (in the current bucket): the
    /// bucket's integral, pre-filled to its end with the old value, is corrected for the rest of the bucket. O(1).</summary>
    private void Change(int gauge, double delta, long now)
    {
        if (delta != 0)
        {
            _value[gauge] += delta;
            _integral[(_current * _gauges) + gauge] += delta * (_currentEnd - now);
        }
    }

    /// <summary>Moves the current bucket forward to the one holding <paramref name="now"/>, pre-filling each bucket
    /// entered with the gauges' values over its whole width; widens the buckets when the run outgrows them.</summary>
    private void Roll(long now)
    {
        while (now >= _currentEnd)
        {
            if (_current + 1 == _buckets)
            {
                Widen();
                continue;
            }

            _current++;
            _currentEnd += _width;
            int at = _current * _gauges;
            for (int g = 0; g < _gauges; g++)
            {
                _integral[at + g] = _value[g] * _width;
            }
        }
    }

    private void Widen()
    {
        int half = _buckets / 2, gauges = _gauges;
        for (int b = 0; b < half; b++)
        {
            _arrivals[b] = _arrivals[2 * b] + _arrivals[(2 * b) + 1];
            _completions[b] = _completions[2 * b] + _completions[(2 * b) + 1];
            _rejections[b] = _rejections[2 * b] + _rejections[(2 * b) + 1];
            for (int g = 0; g < gauges; g++)
            {
                _integral[(b * gauges) + g] = _integral[(2 * b * gauges) + g] + _integral[(((2 * b) + 1) * gauges) + g];
            }
        }

        Array.Clear(_arrivals, half, half);
        Array.Clear(_completions, half, half);
        Array.Clear(_rejections, half, half);
        Array.Clear(_integral, half * gauges, half * gauges);
        // The current bucket is the second of its merged pair when the buckets outgrow (the last, an odd index); were
        // it the first, the pair's second half would still need its pre-fill.
        if (_current % 2 == 0)
        {
            for (int g = 0; g < gauges; g++)
            {
                _integral[(_current / 2 * gauges) + g] += _value[g] * _width;
            }
        }

        _current /= 2;
        _width *= 2;
        _currentEnd = (_current + 1) * _width;
    }

    /// <summary>The series up to <paramref name="endNs"/> (the run's end): counts per bucket and gauge means.</summary>
    public SimulationTimelineData Snapshot(long endNs)
    {
        long end = Math.Max(endNs, 1);
        Roll(end - 1);
        int used = _current + 1;
        double[] Mean(int g)
        {
            double[] m = new double[used];
            for (int b = 0; b < used; b++)
            {
                double integral = _integral[(b * _gauges) + g];
                long covered = _width;
                if (b == _current)
                {
                    integral -= _value[g] * (_currentEnd - end); // the pre-fill ran to the bucket's end, the run ends before
                    covered = end - (b * _width);
                }

                m[b] = integral / covered;
            }

            return m;
        }

        int pools = _poolNames.Length;
        return new SimulationTimelineData(
            _width,
            end,
            _arrivals[..used],
            _completions[..used],
            _rejections[..used],
            Mean(Queued),
            Mean(Running),
            HasMixedPool ? Mean(Mixed) : null,
            [.. _poolNames],
            [.. _poolInstances],
            [.. _poolCapacity],
            [.. Enumerable.Range(0, pools).Select(p => Mean(PerPool + (3 * p)))],
            [.. Enumerable.Range(0, pools).Select(p => Mean(PerPool + (3 * p) + 1))],
            [.. Enumerable.Range(0, pools).Select(p => Mean(PerPool + (3 * p) + 2))])
        {
            Instances = [.. _instanceNames],
            InstanceKvCapacityBytes = [.. _instanceCapacity],
            InstanceKvBytes = [.. Enumerable.Range(0, _instanceNames.Length).Select(i => Mean(_perInstance + i))],
        };
    }
}

/// <summary>A run's time series, bucket by bucket (bucket b covers [b·BucketNs, (b+1)·BucketNs) of simulated time;
/// the last one ends at <see cref="EndNs"/>). Gauges are time-weighted means over the bucket.</summary>
/// <param name="BucketNs">Bucket width, ns.</param>
/// <param name="EndNs">End of the run, ns.</param>
/// <param name="Arrivals">Requests arrived per bucket.</param>
/// <param name="Completions">Requests finished per bucket.</param>
/// <param name="Rejections">Requests rejected at arrival per bucket.</param>
/// <param name="Queued">Mean requests arrived whose prompt had not started.</param>
/// <param name="Running">Mean requests started and not finished (prompting, transferring, decoding or waiting).</param>
/// <param name="MixedMachines">Mean machines in the mixed pool; null for a cluster without pool borrowing.</param>
/// <param name="Pools">Pool names (instance roles: prompt, token, mixed; <c>all</c> for a colocated cluster).</param>
/// <param name="PoolInstances">Instances per pool.</param>
/// <param name="PoolKvCapacityBytes">KV capacity per pool, bytes.</param>
/// <param name="BatchRequests">Per pool: mean requests in the running batches, summed over its instances.</param>
/// <param name="BatchTokens">Per pool: mean batch tokens (a prompt counts its size, a decode 1), summed over its instances.</param>
/// <param name="KvBytes">Per pool: mean KV bytes reserved, summed over its instances.</param>
public sealed record SimulationTimelineData(
    long BucketNs,
    long EndNs,
    long[] Arrivals,
    long[] Completions,
    long[] Rejections,
    double[] Queued,
    double[] Running,
    double[]? MixedMachines,
    string[] Pools,
    int[] PoolInstances,
    long[] PoolKvCapacityBytes,
    double[][] BatchRequests,
    double[][] BatchTokens,
    double[][] KvBytes)
{
    /// <summary>Buckets with data.</summary>
    public int Count => Arrivals.Length;

    /// <summary>Instance names, in the cluster's order.</summary>
    public string[] Instances { get; init; } = [];

    /// <summary>KV capacity per instance, bytes.</summary>
    public long[] InstanceKvCapacityBytes { get; init; } = [];

    /// <summary>Per instance: mean KV bytes in use (reserved, or the vLLM engine's blocks in use) per bucket.</summary>
    public double[][] InstanceKvBytes { get; init; } = [];
}
