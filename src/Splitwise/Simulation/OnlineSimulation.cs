namespace Splitwise.Simulation;

/// <summary>Receives every token of every request, with the simulated time it was produced.</summary>
internal interface ITokenSink
{
    /// <summary>The request's token number <paramref name="generated"/> (1 = the first) was produced at
    /// <paramref name="timeNs"/>. Tokens of one request come in order; each is delivered at the first
    /// <see cref="OnlineSimulation.AdvanceTo"/> (or <see cref="OnlineSimulation.Arrive"/>) that reaches its time.</summary>
    void OnToken(int slot, long id, int generated, long timeNs);

    /// <summary>The request left the engine at <paramref name="timeNs"/>: finished, or dropped (cancelled or
    /// rejected; <paramref name="slot"/> is −1 when rejected at arrival).</summary>
    void OnDone(int slot, long id, bool completed, long timeNs);
}

/// <summary>
/// The simulation engine driven online, for real-time emulation: arrivals are pushed one at a time, time is advanced by
/// the caller's clock, and every token comes out at its own time — including the tokens inside a decode run, which
/// the engine itself simulates as one event. This is the same <see cref="Simulator"/> (batching, scheduling, memory,
/// KV transfers) that <see cref="Simulator.Run"/> uses offline; for the same arrival times the two give the same
/// timeline, token for token.
/// </summary>
internal sealed class OnlineSimulation : IRequestObserver
{
    private readonly Simulator _engine;
    private readonly ITokenSink _sink;
    private readonly long[] _runStart; // per instance: the decode run whose tokens are out up to _runOut
    private readonly int[] _runOut;
    private int[] _emitted = new int[64]; // per slot: tokens delivered

    /// <param name="instances">The cluster's instances.</param>
    /// <param name="scheduler">Its cluster scheduler.</param>
    /// <param name="transfers">KV transfers between machines (Splitwise designs), or null.</param>
    /// <param name="sink">Where tokens and completions go.</param>
    public OnlineSimulation(IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, Transfer.ClusterKvTransfers? transfers, ITokenSink sink)
    {
        ArgumentNullException.ThrowIfNull(instances);
        // Nobody reads the latency metrics here: keep the recorder's exact buffers small.
        _engine = new Simulator(instances, scheduler, new SimulationRecorder(exactLimit: 1024), null, transfers) { Observer = this };
        _sink = sink;
        _runStart = new long[instances.Count];
        _runOut = new int[instances.Count];
        Array.Fill(_runStart, -1);
    }

    /// <summary>The engine (gauges: <see cref="Simulator.InFlight"/>, <see cref="Simulator.KvUsedTotal"/>, ...).</summary>
    public Simulator Engine => _engine;

    /// <summary>Simulated time of the last event or arrival processed.</summary>
    public long Now => _engine.Now;

    /// <summary>The next time something happens (an engine event or a token inside a decode run), or <see cref="long.MaxValue"/>.</summary>
    public long NextTime
    {
        get
        {
            long next = _engine.NextEventTime;
            for (int i = 0; i < _runStart.Length; i++)
            {
                if (_engine.TryGetDecodeRun(i, out long start, out long iterationNs, out int iterations, out _))
                {
                    int k = _runStart[i] == start ? _runOut[i] : 0;
                    if (k + 1 < iterations)
                    {
                        next = Math.Min(next, start + ((k + 1) * iterationNs));
                    }
                }
            }

            return next;
        }
    }

    /// <summary>A request arrives at <paramref name="timeNs"/> (clamped to <see cref="Now"/>); returns its slot, or −1
    /// when it was rejected (it can never fit; the sink was told). <paramref name="chain"/> is its prompt's prefix hash
    /// chain (one id per full 512-token block, as a trace's Mooncake <c>hash_ids</c>), which the vLLM personality's
    /// prefix cache matches; other engines ignore it.</summary>
    public int Arrive(long id, long timeNs, int inputTokens, int outputTokens, ReadOnlySpan<long> chain = default)
    {
        int slot = _engine.Arrive(id, timeNs, inputTokens, outputTokens, chain);
        if (slot >= 0)
        {
            if (slot >= _emitted.Length)
            {
                Array.Resize(ref _emitted, Math.Max(slot + 1, _emitted.Length * 2));
            }

            _emitted[slot] = 0;
        }

        return slot;
    }

    /// <summary>The request's client went away at <paramref name="timeNs"/>: it is dropped at its next safe point.</summary>
    public void Cancel(int slot, long id, long timeNs) => _engine.Cancel(slot, id, timeNs);

    /// <summary>Processes everything up to and including <paramref name="timeNs"/> and delivers the tokens produced by then.</summary>
    public void AdvanceTo(long timeNs)
    {
        _engine.AdvanceTo(timeNs);
        RequestTable r = _engine.Requests;
        for (int i = 0; i < _runStart.Length; i++)
        {
            if (!_engine.TryGetDecodeRun(i, out long start, out long iterationNs, out int iterations, out IntList batch))
            {
                continue;
            }

            if (_runStart[i] != start)
            {
                _runStart[i] = start;
                _runOut[i] = 0;
            }

            // Boundaries inside the run that have passed (the last one is the run's end event).
            long passed = Math.Min(iterations - 1, (timeNs - start) / iterationNs);
            if (passed <= _runOut[i])
            {
                continue;
            }

            int k = (int)passed;
            for (int step = _runOut[i] + 1; step <= k; step++)
            {
                long at = start + (step * iterationNs);
                for (int j = 0; j < batch.Count; j++)
                {
                    int slot = batch[j];
                    Deliver(slot, r.Id[slot], r.Generated[slot] + step, at);
                }
            }

            _runOut[i] = k;
        }
    }

    private void Deliver(int slot, long id, int generated, long at)
    {
        if (_emitted[slot] < generated)
        {
            _emitted[slot] = generated;
            _sink.OnToken(slot, id, generated, at);
        }
    }

    void IRequestObserver.OnTokens(int slot, long id, int generated, long iterationNs)
    {
        // The end of a prompt (one token) or of a decode run: tokens not yet out came one iteration apart.
        long now = _engine.Now;
        for (int g = _emitted[slot] + 1; g <= generated; g++)
        {
            Deliver(slot, id, g, now - ((generated - g) * iterationNs));
        }
    }

    void IRequestObserver.OnDone(int slot, long id, bool completed) => _sink.OnDone(slot, id, completed, _engine.Now);
}
