namespace Splitwise.Tests.Transfer;

/// <summary>
/// The test oracle for <see cref="Splitwise.Simulation.Transfer.KvLinkNetwork"/>: the same link model written the
/// obvious way — one list of flows, and a progressive filling that rescans every flow in every round and is rerun
/// after every start — with the floating-point operations in the order the model defines (capped flows freeze in
/// start order; a saturated side's flows at the round's level). The network must give the same rates and completion
/// times bit for bit; its incremental filling is an optimisation, not a different model.
/// </summary>
internal sealed class NaiveKvLinks(double[] linkBytesPerSecond, bool fullDuplex = true)
{
    private const long Never = long.MaxValue;

    private readonly double[] _capacity = fullDuplex
        ? [.. linkBytesPerSecond.SelectMany(bw => new[] { bw / 1e9, bw / 1e9 })]
        : [.. linkBytesPerSecond.Select(bw => bw / 1e9)];

    private readonly List<Flow> _flows = [];
    private long _now;

    public int Active => _flows.Count;

    public void Start(int id, int source, int destination, long bytes, long now) =>
        Add(id, source, destination, bytes, 0, double.PositiveInfinity, now, now, now);

    public void StartLayerWise(int id, int source, int destination, long bytes, int layers, long promptStart, long promptEnd)
    {
        long duration = promptEnd - promptStart;
        if (layers == 1 || duration == 0)
        {
            Add(id, source, destination, 0, bytes, double.PositiveInfinity, promptStart, promptStart, promptEnd);
            return;
        }

        double lastLayer = (double)bytes / layers;
        Add(id, source, destination, bytes - lastLayer, lastLayer, (double)bytes / duration, promptStart, promptStart + (duration / layers), promptEnd);
    }

    public double RateBytesPerSecond(int id) => _flows.Find(f => f.Id == id) is { } f ? f.Rate * 1e9 : 0;

    public long NextEventTime()
    {
        long next = Never;
        foreach (Flow f in _flows)
        {
            long t = f.FinishAt;
            if (f.ActivateAt > _now && f.ActivateAt < t)
            {
                t = f.ActivateAt;
            }

            if (f.Held > 0 && f.ReleaseAt < t)
            {
                t = f.ReleaseAt;
            }

            next = Math.Min(next, t);
        }

        return next;
    }

    public void Advance(long now, List<int> completed)
    {
        for (long t = NextEventTime(); t <= now; t = NextEventTime())
        {
            Progress(t);
            var kept = new List<Flow>();
            foreach (Flow f in _flows)
            {
                bool released = f.Held > 0 && f.ReleaseAt <= t;
                if (released)
                {
                    f.Remaining += f.Held;
                    f.Held = 0;
                    f.Cap = double.PositiveInfinity;
                }

                if (!released && f.Held == 0 && f.ActivateAt <= t && f.FinishAt <= t)
                {
                    completed.Add(f.Id);
                    continue;
                }

                kept.Add(f);
            }

            _flows.Clear();
            _flows.AddRange(kept);
            Recompute();
        }

        Progress(now);
    }

    private void Add(int id, int source, int destination, double bytes, double held, double cap, long now, long activateAt, long releaseAt)
    {
        Progress(now);
        _flows.Add(new Flow
        {
            Id = id,
            Egress = fullDuplex ? 2 * source : source,
            Ingress = fullDuplex ? (2 * destination) + 1 : destination,
            Remaining = bytes,
            Held = held,
            Cap = cap,
            ActivateAt = activateAt,
            ReleaseAt = releaseAt,
            FinishAt = Never,
        });
        Recompute();
    }

    private void Progress(long t)
    {
        long dt = t - _now;
        foreach (Flow f in _flows)
        {
            if (dt > 0 && f.Rate > 0)
            {
                f.Remaining = f.FinishAt <= t ? 0 : Math.Max(0, f.Remaining - (f.Rate * dt));
            }
        }

        _now = Math.Max(_now, t);
    }

    private void Recompute()
    {
        double[] left = [.. _capacity];
        int[] users = new int[_capacity.Length];
        var open = new List<Flow>();
        foreach (Flow f in _flows)
        {
            f.Rate = 0;
            if (f.ActivateAt <= _now && f.Remaining > 0)
            {
                open.Add(f);
                users[f.Egress]++;
                users[f.Ingress]++;
            }
        }

        while (open.Count > 0)
        {
            double level = open.Min(f => Math.Min(left[f.Egress] / users[f.Egress], left[f.Ingress] / users[f.Ingress]));
            List<Flow> freeze = [.. open.Where(f => f.Cap <= level)];
            bool capped = freeze.Count > 0;
            if (!capped)
            {
                freeze = [.. open.Where(f => left[f.Egress] / users[f.Egress] <= level || left[f.Ingress] / users[f.Ingress] <= level)];
            }

            foreach (Flow f in freeze)
            {
                f.Rate = capped ? f.Cap : level;
                left[f.Egress] = Math.Max(0, left[f.Egress] - f.Rate);
                left[f.Ingress] = Math.Max(0, left[f.Ingress] - f.Rate);
                users[f.Egress]--;
                users[f.Ingress]--;
                open.Remove(f);
            }
        }

        foreach (Flow f in _flows)
        {
            double ns = Math.Ceiling(f.Remaining / f.Rate);
            f.FinishAt = f.ActivateAt > _now ? Never
                : f.Remaining <= 0 ? (f.Held > 0 ? Never : _now)
                : ns >= 9e18 ? Never : _now + (long)ns;
        }
    }

    private sealed class Flow
    {
        public int Id;
        public int Egress;
        public int Ingress;
        public double Remaining;
        public double Held;
        public double Cap;
        public long ActivateAt;
        public long ReleaseAt;
        public double Rate;
        public long FinishAt;
    }
}
