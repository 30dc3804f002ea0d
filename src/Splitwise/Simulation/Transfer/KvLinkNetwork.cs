using System.Runtime.CompilerServices;

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
/// <para>Cost per event: O(active transfers) to integrate progress and set finish times, plus, when rates change, a
/// filling: O(machines) of flat clears and copies to set it up and O(links in use) per round (a round freezes at least
/// one link's or one cap level's transfers); no allocation once the arrays have grown.</para>
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
    private bool _dirty;     // a transfer was added or changed phase at _now: rates are recomputed before use
    private bool _fillStale; // the transfers taking part in the filling (or their caps) changed since the last one
    private long _next = Never;
    private bool _nextValid = true; // _next is NextEventTime (valid from a recomputation until _now reaches it)

    // Scratch for the water filling.
    private readonly double[] _resLeft;
    private readonly int[] _resUsers;
    private readonly int[] _usedResources;
    private readonly int[] _liveResources;
    private readonly double[] _share; // per resource in use: _resLeft / _resUsers, updated as they change
    private readonly int[] _saturatedResources;
    private readonly int[] _resHead; // per resource: first node of its list of unfrozen transfers (-1: none)
    private int[] _nodeNext = new int[32]; // node 2i: transfer i on its egress list, 2i + 1: on its ingress list
    private int[] _open = new int[16];   // the transfers taking part in the filling, in start order
    private int[] _cappedList = new int[16];
    private bool[] _frozen = new bool[16];

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
        _usedResources = new int[resources];
        _liveResources = new int[resources];
        _share = new double[resources];
        _saturatedResources = new int[resources];
        _resHead = new int[resources];
        Machines = linkBytesPerSecond.Length;
    }

    /// <summary>Test hook: always run the general progressive filling, never its fast path (results are the same).</summary>
    internal bool GeneralFillOnly { get; set; }

    /// <summary>Progressive fillings run, for tests.</summary>
    internal long Fills { get; private set; }

    /// <summary>Fillings that took the fast path (all capped transfers frozen in round one), for tests.</summary>
    internal long FastFills { get; private set; }

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
        if (_dirty)
        {
            Recompute();
        }

        return _nextValid ? _next : ScanNextEventTime();
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

            Step(t, completed);
        }

        Progress(now);
    }

    /// <summary>Processes the events at <paramref name="t"/>, the next event time: progress to it and the phase changes
    /// at it in one pass over the transfers (as <see cref="Progress"/> and then a scan would do; no rate is read after
    /// the progress step, and no recomputation is pending, as <see cref="NextEventTime"/> just ran).</summary>
    private void Step(long t, List<int> completed)
    {
        long old = _now;
        long dt = t - old;
        int count = _count;
        long[] activateAt = _activateAt, releaseAt = _releaseAt, finishAt = _finishAt;
        double[] remaining = _remaining, held = _held, rate = _rate;
        bool stale = false;
        bool changed = false;
        int w = 0;
        for (int i = 0; i < count; i++)
        {
            long activate = activateAt[i];
            long finish = finishAt[i];
            if (dt > 0)
            {
                stale |= ProgressOne(ref remaining[i], rate[i], finish, activate, old, t, dt);
            }

            bool released = false;
            double h = held[i];
            if (h > 0 && releaseAt[i] <= t)
            {
                // The prompt completed: the last layer joins the stream and the production cap lifts.
                remaining[i] += h;
                held[i] = h = 0;
                _cap[i] = double.PositiveInfinity;
                changed = released = true;
            }

            if (!released && h == 0 && activate <= t && finish <= t)
            {
                completed.Add(_id[i]);
                changed = true;
                continue;
            }

            if (activate == t || finish <= t)
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
        _fillStale |= stale;
        ReachTime(t);
        if (changed)
        {
            _dirty = _fillStale = true;
        }
    }

    /// <summary>The current rate of a transfer in bytes per second (0 if it waits for its first layer), for reports and tests.</summary>
    public double RateBytesPerSecond(int id)
    {
        if (_dirty)
        {
            Recompute();
        }

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
        _dirty = true; // recomputed before time moves on or anyone asks, so starts at one instant cost one filling
        if (activateAt <= _now && bytes > 0)
        {
            _fillStale = true; // it takes bandwidth now (a layer-wise one waiting for its first layer changes no rate)
        }
    }

    /// <summary>Moves every active transfer's progress forward to <paramref name="t"/> at its current rate.</summary>
    private void Progress(long t)
    {
        long old = _now;
        long dt = t - old;
        if (dt > 0)
        {
            if (_dirty)
            {
                Recompute(); // the rates of the instant being left
            }

            int count = _count;
            long[] activateAt = _activateAt, finishAt = _finishAt;
            double[] remaining = _remaining, rate = _rate;
            bool stale = false;
            for (int i = 0; i < count; i++)
            {
                stale |= ProgressOne(ref remaining[i], rate[i], finishAt[i], activateAt[i], old, t, dt);
            }

            _fillStale |= stale;
        }

        ReachTime(t);
    }

    /// <summary>Moves one transfer's progress forward by <paramref name="dt"/> from <paramref name="old"/> to
    /// <paramref name="t"/>; true when that changes the transfers taking part in the filling (its streamed bytes are
    /// done, or its first layer exists from now on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ProgressOne(ref double remaining, double rate, long finishAt, long activateAt, long old, long t, long dt)
    {
        if (rate > 0)
        {
            // A transfer finishing at or before t is exactly done (its finish time was rounded up).
            remaining = finishAt <= t ? 0 : Math.Max(0, remaining - (rate * dt));
            return remaining <= 0;
        }

        return activateAt > old && activateAt <= t;
    }

    /// <summary>The clock moves to <paramref name="t"/> (never back).</summary>
    private void ReachTime(long t)
    {
        _now = Math.Max(_now, t);
        if (_now >= _next)
        {
            _nextValid = false; // an event time was reached: phases may change (the caller recomputes)
        }
    }

    /// <summary>The next event time from the transfers' state (<see cref="NextEventTime"/> without the cache).</summary>
    private long ScanNextEventTime()
    {
        long next = Never;
        for (int i = 0; i < _count; i++)
        {
            long t = EventTime(i);
            if (t < next)
            {
                next = t;
            }
        }

        return next;
    }

    /// <summary>Transfer <paramref name="i"/>'s next event: completion, its first layer, or its prompt's end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long EventTime(int i)
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

        return t;
    }

    /// <summary>Max-min fair rates by progressive filling, then each transfer's finish time at those rates.</summary>
    private void Recompute()
    {
        if (_fillStale)
        {
            Fill();
        }

        long now = _now;
        long next = Never;
        int count = _count;
        long[] activateAt = _activateAt, releaseAt = _releaseAt, finishAt = _finishAt;
        double[] remaining = _remaining, held = _held, rate = _rate;
        for (int i = 0; i < count; i++)
        {
            long finish;
            long activate = activateAt[i];
            double left = remaining[i];
            if (activate > now)
            {
                finish = Never;
            }
            else if (left <= 0)
            {
                finish = held[i] > 0 ? Never : now;
            }
            else
            {
                double ns = Math.Ceiling(left / rate[i]);
                finish = ns >= 9e18 ? Never : now + (long)ns;
            }

            finishAt[i] = finish;

            // EventTime(i), from the values at hand.
            long t = finish;
            if (activate > now && activate < t)
            {
                t = activate;
            }

            if (held[i] > 0 && releaseAt[i] < t)
            {
                t = releaseAt[i];
            }

            if (t < next)
            {
                next = t;
            }
        }

        _next = next;
        _nextValid = true;
        _dirty = false;
    }

    /// <summary>The max-min fair rates of the transfers that can move now, by progressive filling.</summary>
    /// <remarks>
    /// <para>Unchanged by a transfer that joins waiting for its first layer (it takes part in no round), so a
    /// recomputation after such a start keeps the rates and only refreshes finish times.</para>
    /// <para>Each round costs O(links in use), not O(transfers): the fair level is the smallest share over the links
    /// still carrying unfrozen transfers; the transfers capped at or below it freeze at their caps in start order (the
    /// capped ones are a start-ordered list, only scanned when the smallest cap could be reached); otherwise every
    /// unfrozen transfer through a link at the level freezes at the level, found through per-link lists built once per
    /// filling. Every capacity is reduced by the same operations in the same order as a scan over all transfers per
    /// round would do (freezes of one round at one level commute; capped freezes keep start order), so rates are bit for
    /// bit those of the naive filling.</para>
    /// <para>Fast path for the common case of layer-wise transfers streaming below their links' fair share: when the
    /// smallest cap is at or below the first round's level, that round freezes the capped transfers at or below it, in
    /// start order; it does so here without the round's bookkeeping (no per-freeze division of the two links' shares,
    /// one division per link at the end: the same quotient of the same operands), and the general rounds go on from
    /// there — usually with only the uncapped transfers left, or none. Same operations, same order, same bits;
    /// <see cref="GeneralFillOnly"/> turns it off for the test that compares the two.</para>
    /// </remarks>
    private void Fill()
    {
        // Fields to locals: the loops below store into arrays, after which the JIT would reload every field.
        long now = _now;
        int count = _count;
        int[] egress = _egress, ingress = _ingress;
        double[] rate = _rate, cap = _cap, resLeft = _resLeft, share = _share;
        bool[] frozen = _frozen;
        int[] resUsers = _resUsers, resHead = _resHead, nodeNext = _nodeNext, cappedList = _cappedList;
        int[] usedResources = _usedResources, liveResources = _liveResources, saturatedResources = _saturatedResources;
        int resources = _capacity.Length;
        Fills++;

        // The resources some active transfer uses (at most two per transfer), their capacity and unfrozen users, and
        // per resource the list of its transfers.
        Array.Clear(resUsers);
        Array.Fill(resHead, -1);
        int unfrozen = 0;
        int capped = 0;
        double minCap = double.PositiveInfinity;
        for (int i = 0; i < count; i++)
        {
            rate[i] = 0;
            if (_activateAt[i] > now || _remaining[i] <= 0)
            {
                frozen[i] = true; // idle
                continue;
            }

            frozen[i] = false;
            int e = egress[i], g = ingress[i];
            resUsers[e]++;
            nodeNext[2 * i] = resHead[e];
            resHead[e] = 2 * i;
            resUsers[g]++;
            nodeNext[(2 * i) + 1] = resHead[g];
            resHead[g] = (2 * i) + 1;
            unfrozen++;
            double c = cap[i];
            if (c < double.PositiveInfinity)
            {
                cappedList[capped++] = i;
                minCap = Math.Min(minCap, c);
            }
        }

        // The resources in use, in index order (the order of a round's resources changes no result: its freezes at one
        // level commute), at full capacity.
        int used = 0;
        for (int r = 0; r < resources; r++)
        {
            usedResources[used] = r;
            used += resUsers[r] != 0 ? 1 : 0;
        }

        Array.Copy(_capacity, resLeft, resources);
        double firstLevel = double.PositiveInfinity;
        for (int k = 0; k < used; k++)
        {
            int r = usedResources[k];
            double s = resLeft[r] / resUsers[r];
            share[r] = s;
            firstLevel = Math.Min(firstLevel, s);
        }

        if (minCap <= firstLevel && !GeneralFillOnly)
        {
            // Round one freezes the transfers capped at or below its level, in start order, and keeps the others
            // (what the general loop's first round does), dividing the shares out once at the end instead of per freeze.
            int keep = 0;
            minCap = double.PositiveInfinity;
            for (int k = 0; k < capped; k++)
            {
                int i = cappedList[k];
                double c = cap[i];
                if (c <= firstLevel)
                {
                    Take(i, c, egress, ingress, rate, frozen, resLeft, resUsers);
                }
                else
                {
                    cappedList[keep++] = i;
                    minCap = Math.Min(minCap, c);
                }
            }

            unfrozen -= capped - keep;
            capped = keep;

            // The shares as the last freeze through each resource would have divided them (NaN or infinite once
            // unused: skipped).
            for (int k = 0; k < used; k++)
            {
                int r = usedResources[k];
                share[r] = resLeft[r] / resUsers[r];
            }

            FastFills++;
        }

        Array.Copy(usedResources, liveResources, used);
        int live = used; // liveResources[0..live) still have unfrozen users
        while (unfrozen > 0)
        {
            // The fair level, and the resources at it (the most contended sides).
            double level = double.PositiveInfinity;
            int atLevel = 0;
            int w = 0;
            for (int k = 0; k < live; k++)
            {
                int r = liveResources[k];
                if (resUsers[r] == 0)
                {
                    continue;
                }

                liveResources[w++] = r;
                double s = share[r];
                if (s < level)
                {
                    level = s;
                    atLevel = 0;
                }

                if (s == level)
                {
                    saturatedResources[atLevel++] = r;
                }
            }

            live = w;

            // Transfers capped below the fair level are bound by their caps: freeze them all at once at their caps,
            // in start order.
            if (minCap <= level)
            {
                int frozeCapped = 0;
                int keep = 0;
                minCap = double.PositiveInfinity;
                for (int k = 0; k < capped; k++)
                {
                    int i = cappedList[k];
                    if (frozen[i])
                    {
                        continue;
                    }

                    double c = cap[i];
                    if (c <= level)
                    {
                        Freeze(i, c, egress, ingress, rate, frozen, resLeft, resUsers, share);
                        frozeCapped++;
                    }
                    else
                    {
                        cappedList[keep++] = i;
                        minCap = Math.Min(minCap, c);
                    }
                }

                capped = keep;
                if (frozeCapped > 0)
                {
                    unfrozen -= frozeCapped;
                    continue;
                }
            }

            // Otherwise the resources at the level saturate: every unfrozen transfer through one of them freezes at
            // the level (the set is fixed before any of them freezes, as the shares tested are this round's).
            for (int k = 0; k < atLevel; k++)
            {
                for (int node = resHead[saturatedResources[k]]; node >= 0; node = nodeNext[node])
                {
                    int i = node >> 1;
                    if (!frozen[i])
                    {
                        Freeze(i, level, egress, ingress, rate, frozen, resLeft, resUsers, share);
                        unfrozen--;
                    }
                }
            }
        }

        _fillStale = false;
    }

    /// <summary>Freezes transfer <paramref name="i"/> at <paramref name="rate"/> and updates its two sides' shares.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Freeze(int i, double rate, int[] egress, int[] ingress, double[] rates, bool[] frozen, double[] resLeft, int[] resUsers, double[] share)
    {
        Take(i, rate, egress, ingress, rates, frozen, resLeft, resUsers);
        int e = egress[i], g = ingress[i];
        share[e] = resLeft[e] / resUsers[e]; // as the next round would divide (infinite or NaN once unused: skipped)
        share[g] = resLeft[g] / resUsers[g];
    }

    /// <summary>Freezes transfer <paramref name="i"/> at <paramref name="rate"/>: its two sides lose the rate and a user.
    /// Their shares are left to the caller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(int i, double rate, int[] egress, int[] ingress, double[] rates, bool[] frozen, double[] resLeft, int[] resUsers)
    {
        int e = egress[i], g = ingress[i];
        rates[i] = rate;
        frozen[i] = true;
        resLeft[e] = Math.Max(0, resLeft[e] - rate);
        resLeft[g] = Math.Max(0, resLeft[g] - rate);
        resUsers[e]--;
        resUsers[g]--;
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
        Array.Resize(ref _cappedList, n);
        Array.Resize(ref _open, n);
        Array.Resize(ref _nodeNext, 2 * n);
    }
}
