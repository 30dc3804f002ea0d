namespace Splitwise.Simulation.Transfer;

/// <summary>
/// The InfiniBand links of a cluster's machines, carrying KV-cache transfers that share bandwidth max-min fairly.
/// An event-driven component with integer nanosecond time: the owner calls <see cref="Start"/> (or
/// <see cref="StartLayerWise"/>), asks <see cref="NextEventTime"/> when to come back, and calls <see cref="Advance"/>
/// at that time to collect the transfers that finished.
/// </summary>
/// <remarks>
/// <para>Each machine has an egress and an ingress side of its link, each with the link's bandwidth (InfiniBand is
/// full duplex; with <c>fullDuplex: false</c> both directions share one capacity). A transfer from machine <c>s</c> to
/// machine <c>d</c> uses the egress of <c>s</c> and the ingress of <c>d</c>; its rate is the max-min fair share over all
/// active transfers (progressive filling: the most contended side saturates first, its transfers are frozen at its
/// fair share, the capacity they use is subtracted elsewhere, and so on). A transfer may also carry a rate cap (the
/// rate at which a layer-wise prompt produces KV), which is one more constraint in the same filling. Rates are
/// recomputed whenever a transfer starts, finishes or changes phase, so a transfer speeds up when a competitor ends.</para>
/// <para>Progress is integrated exactly between events in bytes (double precision, recomputed per event, never
/// accumulated over more than one transfer's life); completion times are rounded up to the next nanosecond, so one
/// transfer alone takes exactly <c>ceil(bytes / bandwidth)</c>. Deterministic: same calls, same results; ties are
/// resolved by start order.</para>
/// <para>Cost: O(active transfers × machines touched) per event, with no allocation once the arrays have grown.</para>
/// </remarks>
public sealed class KvLinkNetwork
{
    private const long Never = long.MaxValue;

    private readonly double[] _capacity; // bytes per ns, per resource: egress of m at 2m, ingress at 2m+1 (or both m)
    private readonly bool _fullDuplex;

    // Active transfers, struct of arrays in start order (slots compacted on removal, preserving order).
    private int[] _id = new int[16];
    private int[] _egress = new int[16];
    private int[] _ingress = new int[16];
    private double[] _remaining = new double[16]; // bytes not yet sent, of the bytes currently released
    private double[] _held = new double[16];      // layer-wise: bytes released only when the prompt completes
    private double[] _cap = new double[16];       // rate cap in bytes/ns (PositiveInfinity = none)
    private long[] _activateAt = new long[16];    // layer-wise: time the first layer's KV exists (flow idle before)
    private long[] _releaseAt = new long[16];     // layer-wise: prompt completion, when _held joins and the cap lifts
    private double[] _rate = new double[16];
    private long[] _finishAt = new long[16];
    private int _count;
    private long _now;

    // Scratch for the water filling.
    private readonly double[] _resLeft;
    private readonly int[] _resUsers;
    private readonly bool[] _resMarked;
    private readonly int[] _usedResources;
    private bool[] _frozen = new bool[16];
    private bool[] _saturated = new bool[16];

    /// <param name="linkBytesPerSecond">Bandwidth of each machine's link, bytes per second, indexed by machine.</param>
    /// <param name="fullDuplex">True (InfiniBand): sending and receiving each get the full bandwidth.</param>
    public KvLinkNetwork(ReadOnlySpan<double> linkBytesPerSecond, bool fullDuplex = true)
    {
        if (linkBytesPerSecond.IsEmpty)
        {
            throw new ArgumentException("at least one machine link is needed", nameof(linkBytesPerSecond));
        }

        _fullDuplex = fullDuplex;
        int resources = fullDuplex ? 2 * linkBytesPerSecond.Length : linkBytesPerSecond.Length;
        _capacity = new double[resources];
        for (int m = 0; m < linkBytesPerSecond.Length; m++)
        {
            double bw = linkBytesPerSecond[m];
            if (!(bw > 0) || double.IsInfinity(bw))
            {
                throw new ArgumentOutOfRangeException(nameof(linkBytesPerSecond), bw, $"machine {m}: link bandwidth must be a positive finite number of bytes per second");
            }

            if (fullDuplex)
            {
                _capacity[2 * m] = bw / 1e9;
                _capacity[(2 * m) + 1] = bw / 1e9;
            }
            else
            {
                _capacity[m] = bw / 1e9;
            }
        }

        _resLeft = new double[resources];
        _resUsers = new int[resources];
        _resMarked = new bool[resources];
        _usedResources = new int[resources];
        Machines = linkBytesPerSecond.Length;
    }

    /// <summary>Number of machines (links).</summary>
    public int Machines { get; }

    /// <summary>Transfers in flight (including layer-wise transfers waiting for their first layer).</summary>
    public int Active => _count;

    /// <summary>The time of the last <see cref="Advance"/> or start.</summary>
    public long Now => _now;

    /// <summary>Starts moving <paramref name="bytes"/> from <paramref name="source"/> to <paramref name="destination"/> now
    /// (a serialized transfer: the whole KV cache exists already).</summary>
    public void Start(int id, int source, int destination, long bytes, long now) =>
        AddExact(id, source, destination, bytes, 0, double.PositiveInfinity, now, now, now);

    /// <summary>
    /// Starts a layer-wise transfer at the start of a prompt computation that runs from <paramref name="promptStart"/>
    /// to <paramref name="promptEnd"/> over <paramref name="layers"/> layers: layer <c>i</c>'s KV (bytes / layers)
    /// exists from <c>promptStart + (i + 1) × duration / layers</c>, so the first layers - 1 layers stream while the prompt
    /// computes (never faster than they are produced, bytes / duration) and only the last layer's share remains when
    /// the prompt completes — plus whatever contention held the stream back.
    /// </summary>
    public void StartLayerWise(int id, int source, int destination, long bytes, int layers, long promptStart, long promptEnd)
    {
        if (layers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(layers), layers, "a model has at least one layer");
        }

        if (promptEnd < promptStart)
        {
            throw new ArgumentOutOfRangeException(nameof(promptEnd), promptEnd, "the prompt cannot end before it starts");
        }

        long duration = promptEnd - promptStart;
        if (layers == 1 || duration == 0)
        {
            AddExact(id, source, destination, 0, bytes, double.PositiveInfinity, promptStart, promptStart, promptEnd);
            return;
        }

        double lastLayer = (double)bytes / layers;
        double streamed = bytes - lastLayer;
        long firstLayerDone = promptStart + (duration / layers);
        double productionRate = (double)bytes / duration; // bytes per ns
        AddExact(id, source, destination, streamed, lastLayer, productionRate, promptStart, firstLayerDone, promptEnd);
    }

    /// <summary>The next time something happens (a transfer completes or a layer-wise transfer changes phase), or
    /// <see cref="long.MaxValue"/> when nothing is in flight.</summary>
    public long NextEventTime()
    {
        long next = Never;
        for (int i = 0; i < _count; i++)
        {
            long t = _finishAt[i];
            if (_activateAt[i] > _now && _activateAt[i] < t)
            {
                t = _activateAt[i];
            }

            if (_held[i] > 0 && _releaseAt[i] < t)
            {
                t = _releaseAt[i];
            }

            if (t < next)
            {
                next = t;
            }
        }

        return next;
    }

    /// <summary>
    /// Advances to <paramref name="now"/>, processing every event up to it in time order, and appends the ids of the
    /// transfers that completed at or before <paramref name="now"/> to <paramref name="completed"/> in completion order
    /// (start order among simultaneous completions).
    /// </summary>
    public void Advance(long now, List<int> completed)
    {
        ArgumentNullException.ThrowIfNull(completed);
        if (now < _now)
        {
            throw new ArgumentOutOfRangeException(nameof(now), now, $"time went back from {_now}");
        }

        while (true)
        {
            long t = NextEventTime();
            if (t > now)
            {
                break;
            }

            Progress(t);
            bool changed = false;
            int w = 0;
            for (int i = 0; i < _count; i++)
            {
                bool released = false;
                if (_held[i] > 0 && _releaseAt[i] <= t)
                {
                    // The prompt completed: the last layer joins the stream and the production cap lifts.
                    _remaining[i] += _held[i];
                    _held[i] = 0;
                    _cap[i] = double.PositiveInfinity;
                    changed = released = true;
                }

                if (!released && _held[i] == 0 && _activateAt[i] <= t && _finishAt[i] <= t)
                {
                    completed.Add(_id[i]);
                    changed = true;
                    continue;
                }

                if (_activateAt[i] == t || _finishAt[i] <= t)
                {
                    // A first layer became available, or the streamed layers finished before the prompt did.
                    changed = true;
                }

                if (w != i)
                {
                    Move(i, w);
                }

                w++;
            }

            _count = w;
            if (changed)
            {
                Recompute();
            }
        }

        Progress(now);
    }

    /// <summary>The current rate of a transfer in bytes per second (0 if it waits for its first layer), for reports and tests.</summary>
    public double RateBytesPerSecond(int id)
    {
        int i = IndexOf(id);
        return i < 0 ? 0 : _rate[i] * 1e9;
    }

    /// <summary>True when a transfer with this id is in flight.</summary>
    public bool Contains(int id) => IndexOf(id) >= 0;

    private int IndexOf(int id)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_id[i] == id)
            {
                return i;
            }
        }

        return -1;
    }

    private void AddExact(int id, int source, int destination, double bytes, double held, double cap, long now, long activateAt, long releaseAt)
    {
        if ((uint)source >= (uint)Machines || (uint)destination >= (uint)Machines)
        {
            throw new ArgumentOutOfRangeException(nameof(source), $"transfer {id}: machines {source} -> {destination} outside 0..{Machines - 1}");
        }

        if (source == destination)
        {
            throw new ArgumentException($"transfer {id}: source and destination are the same machine {source}; no transfer is needed", nameof(destination));
        }

        if (bytes < 0 || held < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "bytes must be non-negative");
        }

        if (IndexOf(id) >= 0)
        {
            throw new ArgumentException($"transfer {id} is already in flight", nameof(id));
        }

        if (now < _now)
        {
            throw new ArgumentOutOfRangeException(nameof(now), now, $"time went back from {_now}");
        }

        Progress(now);
        if (_count == _id.Length)
        {
            Grow();
        }

        int k = _count++;
        _id[k] = id;
        _egress[k] = _fullDuplex ? 2 * source : source;
        _ingress[k] = _fullDuplex ? (2 * destination) + 1 : destination;
        _remaining[k] = bytes;
        _held[k] = held;
        _cap[k] = cap;
        _activateAt[k] = activateAt;
        _releaseAt[k] = releaseAt;
        _rate[k] = 0;
        _finishAt[k] = Never;
        Recompute();
    }

    /// <summary>Moves every active transfer's progress forward to <paramref name="t"/> at its current rate.</summary>
    private void Progress(long t)
    {
        long dt = t - _now;
        if (dt > 0)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_rate[i] > 0)
                {
                    // A transfer finishing at or before t is exactly done (its finish time was rounded up).
                    _remaining[i] = _finishAt[i] <= t ? 0 : Math.Max(0, _remaining[i] - (_rate[i] * dt));
                }
            }
        }

        _now = Math.Max(_now, t);
    }

    /// <summary>Max-min fair rates by progressive filling, then each transfer's finish time at those rates.</summary>
    private void Recompute()
    {
        Array.Copy(_capacity, _resLeft, _capacity.Length);
        Array.Clear(_resUsers);
        Array.Clear(_resMarked);
        int unfrozen = 0;
        for (int i = 0; i < _count; i++)
        {
            bool idle = _activateAt[i] > _now || _remaining[i] <= 0;
            _frozen[i] = idle;
            _rate[i] = 0;
            if (!idle)
            {
                _resUsers[_egress[i]]++;
                _resUsers[_ingress[i]]++;
                unfrozen++;
            }
        }

        // Only the resources some active transfer uses take part (at most two per transfer).
        int used = 0;
        for (int i = 0; i < _count; i++)
        {
            if (!_frozen[i])
            {
                used = AddUsed(_egress[i], used);
                used = AddUsed(_ingress[i], used);
            }
        }

        while (unfrozen > 0)
        {
            double level = double.PositiveInfinity;
            for (int k = 0; k < used; k++)
            {
                int r = _usedResources[k];
                if (_resUsers[r] > 0)
                {
                    level = Math.Min(level, _resLeft[r] / _resUsers[r]);
                }
            }

            // Transfers capped below the fair level are bound by their caps: freeze them all at once at their caps.
            bool capped = false;
            for (int i = 0; i < _count; i++)
            {
                if (!_frozen[i] && _cap[i] <= level)
                {
                    Freeze(i, _cap[i]);
                    unfrozen--;
                    capped = true;
                }
            }

            if (capped)
            {
                continue;
            }

            // Otherwise the most contended sides saturate: mark every transfer through one of them, then freeze them
            // all at that level (two passes, so the shares tested are those of this round).
            for (int i = 0; i < _count; i++)
            {
                int e = _egress[i], g = _ingress[i];
                _saturated[i] = !_frozen[i] && (_resLeft[e] / _resUsers[e] <= level || _resLeft[g] / _resUsers[g] <= level);
            }

            for (int i = 0; i < _count; i++)
            {
                if (_saturated[i])
                {
                    Freeze(i, level);
                    unfrozen--;
                }
            }
        }

        for (int i = 0; i < _count; i++)
        {
            if (_activateAt[i] > _now)
            {
                _finishAt[i] = Never;
            }
            else if (_remaining[i] <= 0)
            {
                _finishAt[i] = _held[i] > 0 ? Never : _now;
            }
            else
            {
                double ns = Math.Ceiling(_remaining[i] / _rate[i]);
                _finishAt[i] = ns >= 9e18 ? Never : _now + (long)ns;
            }
        }
    }

    private int AddUsed(int resource, int used)
    {
        if (!_resMarked[resource])
        {
            _resMarked[resource] = true;
            _usedResources[used++] = resource;
        }

        return used;
    }

    private void Freeze(int i, double rate)
    {
        int e = _egress[i], g = _ingress[i];
        _rate[i] = rate;
        _frozen[i] = true;
        _resLeft[e] = Math.Max(0, _resLeft[e] - rate);
        _resLeft[g] = Math.Max(0, _resLeft[g] - rate);
        _resUsers[e]--;
        _resUsers[g]--;
    }

    private void Move(int from, int to)
    {
        _id[to] = _id[from];
        _egress[to] = _egress[from];
        _ingress[to] = _ingress[from];
        _remaining[to] = _remaining[from];
        _held[to] = _held[from];
        _cap[to] = _cap[from];
        _activateAt[to] = _activateAt[from];
        _releaseAt[to] = _releaseAt[from];
        _rate[to] = _rate[from];
        _finishAt[to] = _finishAt[from];
    }

    private void Grow()
    {
        int n = _id.Length * 2;
        Array.Resize(ref _id, n);
        Array.Resize(ref _egress, n);
        Array.Resize(ref _ingress, n);
        Array.Resize(ref _remaining, n);
        Array.Resize(ref _held, n);
        Array.Resize(ref _cap, n);
        Array.Resize(ref _activateAt, n);
        Array.Resize(ref _releaseAt, n);
        Array.Resize(ref _rate, n);
        Array.Resize(ref _finishAt, n);
        Array.Resize(ref _frozen, n);
        Array.Resize(ref _saturated, n);
    }
}
