using System.Collections.Concurrent;
using System.Diagnostics;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Serving;

/// <summary>Counters of the emulated cluster, for <c>/metrics</c>.</summary>
public readonly record struct ClusterCounters(
    int Running,
    int Waiting,
    long PromptTokens,
    long GenerationTokens,
    long Finished,
    long Aborted,
    long Iterations,
    double KvUsage,
    double MaxLateSeconds,
    long Preemptions = 0);

/// <summary>One request as the emulator's engine timed it, in engine nanoseconds from the emulator's start (trace
/// time: wall time × speed-up), so a live run can be checked against the offline simulator without wall-clock noise.</summary>
/// <param name="Id">Arrival order (0, 1, …).</param>
/// <param name="ArrivalNs">When the request entered the engine.</param>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
/// <param name="FirstTokenNs">When its first token was produced; −1 if never.</param>
/// <param name="LastTokenNs">When its latest token was produced (the last one, once it completed); −1 if none.</param>
/// <param name="Tokens">Tokens produced so far.</param>
/// <param name="Completed">True when it finished (not cancelled or rejected).</param>
public readonly record struct EngineRecord(long Id, long ArrivalNs, int PromptTokens, int OutputTokens, long FirstTokenNs, long LastTokenNs, int Tokens, bool Completed);

/// <summary>
/// A simulated cluster run in real time: the simulation engine itself (<see cref="Simulator"/>, with the design's
/// instances, cluster scheduler and — for Splitwise designs — its prompt/token pools and KV transfers), driven online
/// by one clock thread that maps simulated time onto the wall clock (compressed by the speed-up). Each request enters
/// the engine at the simulated time it was submitted; every token is written to its stream when the clock reaches the
/// end of the iteration that produced it. So the emulator cannot drift from the simulator: they are the same code.
/// </summary>
/// <remarks>
/// The clock sleeps while far from the next engine event or decode-run boundary and spins/yields through the last
/// half millisecond. A late wake-up delays the tokens it releases but never changes the engine's timeline: arrivals are
/// placed at their own submission time, not at the time the clock noticed them.
/// </remarks>
public sealed class EmulatedCluster : IDisposable, ITokenSink
{
    private const long SpinWindowNs = 500_000;

    private readonly OnlineSimulation _online;
    private readonly IReadOnlyList<InstanceSpec> _specs;
    private readonly ConcurrentQueue<EmulatedRequest> _arrivals = new();
    private readonly ConcurrentQueue<EmulatedRequest> _cancellations = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly double _modelNsPerTick;
    private readonly long _origin;
    private readonly Thread _clock;
    private readonly long _kvCapacity;
    private EmulatedRequest?[] _bySlot = new EmulatedRequest?[64];
    private long _nextId;
    private volatile bool _stopping;
    private int _running;
    private int _waiting;
    private long _promptTokens;
    private long _generationTokens;
    private long _finished;
    private long _aborted;
    private long _preemptions;
    private long _iterations;
    private long _kvUsed;
    private long _maxLateTicks;
    private readonly List<EngineRecord>? _engineTimes; // by id; written by the clock thread only, read under the lock

    /// <summary>Emulates a simulator cluster: the same instances, limits, scheduler and (Splitwise) KV transfers.</summary>
    /// <param name="config">The cluster.</param>
    /// <param name="catalog">Hardware and models.</param>
    /// <param name="profile">The profile table (the profile performance model).</param>
    /// <param name="speedup">Simulated seconds per wall-clock second.</param>
    /// <param name="recordEngineTimes">Keep every request's <see cref="EngineRecord"/> (<see cref="EngineTimes"/>); memory grows with the requests.</param>
    public static EmulatedCluster FromConfig(ClusterConfig config, Catalog catalog, ProfileTable? profile, double speedup, bool recordEngineTimes = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        (IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers) = ClusterSimulation.Build(config, catalog, profile);
        return new EmulatedCluster(instances, speedup, scheduler, transfers, recordEngineTimes) { Design = config.Design };
    }

    /// <summary>A copy of the requests' engine times so far, by arrival order; empty unless the cluster was made with <c>recordEngineTimes</c>.</summary>
    public IReadOnlyList<EngineRecord> EngineTimes()
    {
        if (_engineTimes is null)
        {
            return [];
        }

        lock (_engineTimes)
        {
            return [.. _engineTimes];
        }
    }

    /// <summary>The design name, for /v1/models and logs.</summary>
    public string Design { get; init; } = "custom";

    /// <param name="instances">The instances (as <see cref="ClusterConfig.BuildInstances"/> makes them).</param>
    /// <param name="speedup">Simulated seconds per wall-clock second.</param>
    /// <param name="scheduler">The cluster scheduler; token-JSQ by default.</param>
    /// <param name="transfers">KV transfers between prompt and token machines (Splitwise designs); null for colocated clusters.</param>
    /// <param name="recordEngineTimes">Keep every request's <see cref="EngineRecord"/> (<see cref="EngineTimes"/>).</param>
    public EmulatedCluster(IReadOnlyList<InstanceSpec> instances, double speedup, ClusterScheduler? scheduler = null, ClusterKvTransfers? transfers = null,
        bool recordEngineTimes = false)
    {
        ArgumentNullException.ThrowIfNull(instances);
        if (instances.Count == 0)
        {
            throw SplitwiseException.Usage("the emulated cluster needs at least one instance (--machines)");
        }

        if (!(speedup > 0) || double.IsInfinity(speedup))
        {
            throw SplitwiseException.Usage($"--speedup {speedup}: must be a positive number (1 = real time)");
        }

        _specs = instances;
        _engineTimes = recordEngineTimes ? [] : null;
        _online = new OnlineSimulation(instances, scheduler ?? ClusterScheduler.Create("token-jsq", instances.Count), transfers, this);
        long maxTokens = long.MaxValue;
        foreach (InstanceSpec s in instances)
        {
            _kvCapacity += s.KvCapacityBytes;
            maxTokens = Math.Min(maxTokens, s.KvCapacityBytes / s.KvBytesPerToken);
        }

        MaxRequestTokens = maxTokens;
        ContextLength = instances.Select(s => s.Model.ContextLength).Where(c => c > 0).DefaultIfEmpty(0).Min();
        Speedup = speedup;
        ReportsCachedTokens = instances.Any(s => s.Vllm is not null);
        PrefixCaching = instances.Any(s => s.Vllm is { PrefixCaching: true });
        _modelNsPerTick = 1e9 / Stopwatch.Frequency * speedup;
        _origin = Stopwatch.GetTimestamp();
        _clock = new Thread(ClockLoop) { IsBackground = true, Name = "serve-clock", Priority = ThreadPriority.AboveNormal };
        _clock.Start();
    }

    public double Speedup { get; }

    /// <summary>True when the instances run the vLLM personality: responses carry
    /// <c>usage.prompt_tokens_details.cached_tokens</c>, as vLLM's do.</summary>
    public bool ReportsCachedTokens { get; }

    /// <summary>True when the engine has a prefix cache (vLLM personality with prefix caching): the server turns each
    /// prompt's token ids into a prefix hash chain for it.</summary>
    public bool PrefixCaching { get; }

    public int InstanceCount => _specs.Count;

    /// <summary>The served model's context length (catalog <c>context_length</c>); 0 when unknown.</summary>
    public int ContextLength { get; }

    /// <summary>Largest prompt + output every instance can hold (a request above it could never be served).</summary>
    public long MaxRequestTokens { get; }

    /// <summary>
    /// Admits a request that reached the server at <paramref name="receivedTicks"/> (a <see cref="Stopwatch"/>
    /// timestamp; now when omitted); false when it can never fit the KV memory of an instance (the caller answers 400).
    /// </summary>
    internal bool TrySubmit(EmulatedRequest request, long receivedTicks = 0)
    {
        if (request.PromptTokens + (long)request.OutputTokens > MaxRequestTokens)
        {
            return false;
        }

        Interlocked.Add(ref _promptTokens, request.PromptTokens);
        long now = Stopwatch.GetTimestamp();
        request.SubmittedTicks = receivedTicks > 0 ? Math.Min(receivedTicks, now) : now;
        _arrivals.Enqueue(request);
        _wake.Release();
        return true;
    }

    /// <summary>The client went away: the engine drops the request at its next safe point and frees its memory.</summary>
    internal void Cancel(EmulatedRequest request)
    {
        if (request.IsDone || request.Cancelled)
        {
            return;
        }

        request.Cancelled = true;
        _cancellations.Enqueue(request);
        _wake.Release();
    }

    public ClusterCounters Counters => new(
        Volatile.Read(ref _running),
        Volatile.Read(ref _waiting),
        Interlocked.Read(ref _promptTokens),
        Interlocked.Read(ref _generationTokens),
        Interlocked.Read(ref _finished),
        Interlocked.Read(ref _aborted),
        Interlocked.Read(ref _iterations),
        (double)Interlocked.Read(ref _kvUsed) / _kvCapacity,
        Interlocked.Read(ref _maxLateTicks) / (double)Stopwatch.Frequency,
        Interlocked.Read(ref _preemptions));

    private long ModelNs(long ticks) => (long)((ticks - _origin) * _modelNsPerTick);

    private long Ticks(long modelNs) => _origin + (long)Math.Ceiling(modelNs / _modelNsPerTick);

    private void ClockLoop()
    {
        long spinTicks = (long)(SpinWindowNs * Stopwatch.Frequency / 1e9);
        long target = long.MaxValue; // the engine time the clock last waited for
        while (!_stopping)
        {
            long nowTicks = Stopwatch.GetTimestamp();
            long now = ModelNs(nowTicks);
            if (target != long.MaxValue && now >= target)
            {
                long late = nowTicks - Ticks(target);
                if (late > Interlocked.Read(ref _maxLateTicks))
                {
                    Interlocked.Exchange(ref _maxLateTicks, late);
                }
            }

            Step(nowTicks, now);
            long next = _online.NextTime;
            PublishGauges();
            if (next == long.MaxValue)
            {
                target = long.MaxValue;
                _wake.Wait(100);
                continue;
            }

            target = next;
            long deadline = Ticks(next);
            long remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining > spinTicks)
            {
                // Sleep, but wake for arrivals and cancellations: an idle instance starts as soon as work comes.
                _wake.Wait((int)Math.Max(1, (remaining - spinTicks) * 1000 / Stopwatch.Frequency));
                continue;
            }

            while ((remaining = deadline - Stopwatch.GetTimestamp()) > 0)
            {
                if (remaining > spinTicks / 4)
                {
                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(16);
                }
            }
        }

        // Shut down: complete every stream so handlers return.
        var stop = new OperationCanceledException("the server is shutting down");
        while (_arrivals.TryDequeue(out EmulatedRequest? r))
        {
            r.Complete(stop);
        }

        foreach (EmulatedRequest? r in _bySlot)
        {
            r?.Complete(stop);
        }
    }

    /// <summary>Brings the engine to <paramref name="now"/>: arrivals at their own times, cancellations, then every
    /// event and token due.</summary>
    private void Step(long nowTicks, long now)
    {
        // Only requests submitted by now: a later one would let the engine run ahead of the wall clock.
        while (_arrivals.TryPeek(out EmulatedRequest? head) && head.SubmittedTicks <= nowTicks && _arrivals.TryDequeue(out EmulatedRequest? r))
        {
            if (r.Cancelled)
            {
                Interlocked.Increment(ref _aborted);
                r.Complete();
                continue;
            }

            r.Id = _nextId++;
            long arrival = Math.Min(ModelNs(r.SubmittedTicks), now);
            if (arrival <= _online.Now)
            {
                // Late for its time: the engine already processed its events up to Now, so the request arrives just
                // after them (1 ns later), which is what an offline run of the recorded arrivals does too (an arrival
                // at exactly Now would precede those events offline).
                arrival = _online.Now + 1;
            }

            if (_engineTimes is not null)
            {
                Record(r.Id, arrivalNs: arrival, r.PromptTokens, r.OutputTokens);
            }

            int slot = _online.Arrive(r.Id, arrival, r.PromptTokens, r.OutputTokens, r.PrefixChain);
            if (slot >= 0)
            {
                if (slot >= _bySlot.Length)
                {
                    Array.Resize(ref _bySlot, Math.Max(slot + 1, _bySlot.Length * 2));
                }

                _bySlot[slot] = r;
                r.Slot = slot;
            }
            else
            {
                r.Complete(new InvalidOperationException("the request can never fit the KV memory of its instances"));
            }
        }

        while (_cancellations.TryDequeue(out EmulatedRequest? r))
        {
            if (r.Slot >= 0)
            {
                _online.Cancel(r.Slot, r.Id, now);
            }
        }

        _online.AdvanceTo(now);
    }

    /// <summary>Updates request <paramref name="id"/>'s engine record; ids come in arrival order, so a new one is appended.</summary>
    private void Record(long id, long arrivalNs = -1, int prompt = 0, int output = 0, int generated = 0, long tokenNs = -1, bool completed = false)
    {
        lock (_engineTimes!)
        {
            if (id == _engineTimes.Count)
            {
                _engineTimes.Add(new EngineRecord(id, arrivalNs, prompt, output, -1, -1, 0, false));
                return;
            }

            EngineRecord e = _engineTimes[(int)id];
            _engineTimes[(int)id] = generated > 0
                ? e with { FirstTokenNs = generated == 1 ? tokenNs : e.FirstTokenNs, LastTokenNs = tokenNs, Tokens = generated }
                : e with { Completed = completed };
        }
    }

    void ITokenSink.OnToken(int slot, long id, int generated, long timeNs)
    {
        if (_engineTimes is not null)
        {
            Record(id, generated: generated, tokenNs: timeNs);
        }

        if (_bySlot[slot] is { } request)
        {
            if (generated == 1)
            {
                // Set when the engine first scheduled it; written before the token, which the HTTP side reads after.
                request.CachedTokens = Math.Max(0, _online.Engine.Requests.CachedTokens[slot]);
            }

            request.Emit(generated);
            Interlocked.Increment(ref _generationTokens);
        }
    }

    void ITokenSink.OnDone(int slot, long id, bool completed, long timeNs)
    {
        if (_engineTimes is not null)
        {
            Record(id, completed: completed);
        }

        if (slot < 0 || _bySlot[slot] is not { } request)
        {
            return; // rejected at arrival: Step completes it
        }

        _bySlot[slot] = null;
        Interlocked.Add(ref _preemptions, _online.Engine.Requests.Preemptions[slot]);
        if (completed)
        {
            Interlocked.Increment(ref _finished);
        }
        else
        {
            Interlocked.Increment(ref _aborted);
        }

        request.Complete();
    }

    private void PublishGauges()
    {
        int running = 0;
        for (int i = 0; i < _specs.Count; i++)
        {
            running += _online.Engine.RunningRequests(i);
        }

        Volatile.Write(ref _running, running);
        Volatile.Write(ref _waiting, _online.Engine.InFlight - running + _arrivals.Count);
        Interlocked.Exchange(ref _kvUsed, _online.Engine.KvUsedTotal);
        Interlocked.Exchange(ref _iterations, _online.Engine.IterationsTotal);
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _clock.Join();
        _wake.Dispose();
    }
}
