using System.Diagnostics;
using System.Runtime.CompilerServices;
using Splitwise.Performance;
using Splitwise.Simulation.Memory;
using Splitwise.Simulation.Paging;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Simulation;

/// <summary>Progress of a running simulation.</summary>
/// <param name="SimulatedNs">Simulated time reached.</param>
/// <param name="Arrived">Requests arrived so far.</param>
/// <param name="Finished">Requests finished so far.</param>
/// <param name="Events">Events processed.</param>
/// <param name="KnownTotal">Requests in the trace if known, else -1.</param>
/// <param name="Elapsed">Wall-clock time so far.</param>
public readonly record struct SimulationProgress(long SimulatedNs, long Arrived, long Finished, long Events, long KnownTotal, TimeSpan Elapsed);

/// <summary>Engine options.</summary>
/// <param name="HorizonNs">Stop at this simulated time (requests not finished by then are reported as unfinished);
/// <see cref="long.MaxValue"/> runs until every request finishes or nothing can make progress.</param>
public sealed record SimulatorOptions(long HorizonNs = long.MaxValue);

/// <summary>
/// The discrete-event engine: requests arrive from an <see cref="ArrivalSource"/>, a <see cref="ClusterScheduler"/>
/// assigns each a prompt instance and a token instance, and every instance runs FCFS continuous (iteration-level)
/// batching with mixed batches, bounded preemption of decodes and KV admission control.
/// </summary>
/// <remarks>
/// Time is integer nanoseconds. Events are small structs in a <see cref="PriorityQueue{TElement, TPriority}"/>
/// ordered by (time, sequence), so equal times keep insertion order, and arrivals precede iteration ends at equal
/// times (as in SplitwiseSim, whose arrivals are scheduled first). A run of decode-only iterations is one event,
/// cut at the next iteration boundary when new work arrives; it is never simulated token by token. Per-request state
/// is a struct of arrays over recycled slots; nothing is allocated per event once the arrays have grown.
/// Deterministic: the same inputs give the same outputs, bit for bit.
/// </remarks>
public sealed partial class Simulator
{
    private const int ArrivalBlock = 4096;

    private readonly InstanceState[] _instances;
    private readonly ClusterScheduler _scheduler;
    private readonly SimulationRecorder _recorder;
    private readonly SimulatorOptions _options;
    private readonly RequestTable _r = new();
    private readonly PriorityQueue<Event, EventKey> _events = new();
    private long _seq;
    private long _now;
    private long _eventsProcessed;
    private long _timeViolations;

    // Splitwise designs: the KV hand-off between machines (null for colocated clusters).
    private readonly KvHandOff? _kv;

    private IRequestObserver? _observer;
    private bool _retryPending;

    // kvTransfers (Splitwise designs): KV-cache transfers between prompt and token machines over their InfiniBand
    // links; null moves a request between instances instantly.
    public Simulator(IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, SimulationRecorder recorder, SimulatorOptions? options = null, ClusterKvTransfers? kvTransfers = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(recorder);
        if (instances.Count == 0)
        {
            throw SplitwiseException.Usage("a cluster needs at least one instance");
        }

        _instances = new InstanceState[instances.Count];
        for (int i = 0; i < instances.Count; i++)
        {
            InstanceSpec spec = instances[i];
            if (spec.KvCapacityBytes <= 0)
            {
                throw SplitwiseException.Usage(
                    $"instance {spec.Name}: the model's weights ({spec.Model.WeightBytes / 1e9:F0} GB) do not fit in {spec.Gpus} × {spec.Machine.Gpu.MemoryBytes / 1e9:F0} GB of GPU memory; use more GPUs per instance (--tp)");
            }

            _instances[i] = new InstanceState(i, spec);
        }

        _scheduler = scheduler;
        _recorder = recorder;
        _options = options ?? new SimulatorOptions();
        _kv = kvTransfers is null ? null : new KvHandOff(kvTransfers, _r);
        _sim = _instances[0].Spec.Limits.SplitwiseSimRules;
        _vllm = _instances[0].Spec.Vllm is not null;
        if (_vllm)
        {
            if (_sim || Array.Exists(_instances, s => s.Spec.Vllm is null))
            {
                throw SplitwiseException.Usage("every instance of a vLLM cluster runs the vLLM engine; --splitwise-sim uses SplitwiseSim's");
            }

            _tables = new BlockTables(_instances[0].Spec.Vllm!.Value.BlockSize);
            if (kvTransfers is not null)
            {
                // Phase-split: a request holds blocks on both instances while its KV moves; the decode sides' tables
                // tag their requests' own blocks from another range, so an instance that is both never mixes them.
                _decodeTables = new BlockTables(_tables.BlockSize, serialBase: 1UL << 62);
            }

            foreach (InstanceState s in _instances)
            {
                VllmLimits v = s.Spec.Vllm!.Value;
                if (v.Blocks < 2 || v.BlockSize != _tables.BlockSize)
                {
                    throw SplitwiseException.Usage(v.Blocks < 2
                        ? $"instance {s.Spec.Name}: no memory left for the KV cache after the weights and vLLM's overhead; use more GPUs per instance (--tp) or a higher --gpu-memory-utilization"
                        : "every instance of a vLLM cluster needs the same --block-size");
                }

                s.Cache = new PagedKvCache(v.Blocks, v.BlockSize, v.PrefixCaching) { BlockBytes = v.BlockBytes };
            }

            if (scheduler.NeedsPrefixLocator)
            {
                Locator = new PrefixLocator(_instances.Length);
                foreach (InstanceState s in _instances)
                {
                    s.Cache!.Locator = Locator;
                    s.Cache.InstanceIndex = s.Index;
                }
            }
        }
        else if (scheduler.NeedsPrefixLocator)
        {
            throw SplitwiseException.Usage($"the {scheduler.Name} scheduler routes by the vLLM engine's prefix caches; use it with --engine vllm");
        }

        scheduler.Attach(this);
    }

    /// <summary>Number of instances.</summary>
    public int InstanceCount => _instances.Length;

    /// <summary>The instance's static description.</summary>
    public InstanceSpec Instance(int i) => _instances[i].Spec;

    /// <summary>The cluster's index of which instance caches which prefix (prefix-aware routing), or null.</summary>
    internal PrefixLocator? Locator { get; }

    /// <summary>Requests waiting on an instance now (vLLM's <c>num_requests_waiting</c>: queued or preempted).</summary>
    internal int WaitingRequests(int i) => _instances[i].Prompts.Count;

    /// <summary>Share of the instance's KV blocks in use now (vLLM's <c>kv_cache_usage_perc</c>), 0 without paged KV.</summary>
    internal double KvUsage(int i) => _instances[i].Cache is { } c ? (double)c.UsedBlocks / c.Usable : 0;

    /// <summary>KV bytes reserved on an instance now (for schedulers that look at memory).</summary>
    public long KvUsedBytes(int i) => _instances[i].Memory.UsedBytes;

    /// <summary>Prompts queued on an instance now.</summary>
    public int QueuedPrompts(int i) => _instances[i].Prompts.Count;

    /// <summary>Requests decoding (in the batch, blocked or waiting for memory) on an instance now.</summary>
    public int DecodingRequests(int i)
    {
        InstanceState s = _instances[i];
        return _vllm ? s.Running.Count : s.Batch.Count + s.Blocked.Count + s.Waiting.Count;
    }

    /// <summary>Current simulated time, nanoseconds.</summary>
    public long Now => _now;

    // ---- Online use: the real-time emulator behind `splitwise serve` pushes arrivals one at a time and advances
    // simulated time itself (Run is the offline loop over a whole trace). Both share every rule of the engine.

    /// <summary>Sees tokens and completions as they happen (online use); null offline.</summary>
    internal IRequestObserver? Observer
    {
        get => _observer;
        set => _observer = value;
    }

    /// <summary>Collects the run's time series for reports; null (the default) costs one null check per hook.</summary>
    internal SimulationTimeline? Timeline { get; set; }

    /// <summary>The per-request state (online use: the observer reads sizes and tokens of running requests).</summary>
    internal RequestTable Requests => _r;

    /// <summary>Requests in flight (queued, running, transferring or waiting), for gauges.</summary>
    internal int InFlight => _r.InFlight;

    /// <summary>KV bytes reserved over all instances now.</summary>
    internal long KvUsedTotal => SumOverInstances(static s => s.Memory.UsedBytes);

    /// <summary>Iterations completed over all instances (a decode run counts when it ends).</summary>
    internal long IterationsTotal => SumOverInstances(static s => s.Iterations);

    private long SumOverInstances(Func<InstanceState, long> value)
    {
        long sum = 0;
        foreach (InstanceState s in _instances)
        {
            sum += value(s);
        }

        return sum;
    }

    /// <summary>The time of the next pending event, <see cref="long.MaxValue"/> when there is none.</summary>
    internal long NextEventTime => _events.TryPeek(out _, out EventKey key) ? key.Time : long.MaxValue;

    /// <summary>Processes every event at or before <paramref name="time"/>.</summary>
    internal void AdvanceTo(long time) => Advance(time, inclusive: true);

    /// <summary>
    /// A request arrives at <paramref name="time"/> (clamped to <see cref="Now"/>): events before it are processed
    /// first, then it is scheduled exactly as in <see cref="Run"/> (arrivals precede events at the same time).
    /// Returns its slot, or -1 when it was rejected (it can never fit an instance's KV memory). <paramref name="chain"/>
    /// is the prompt's prefix hash chain (one id per 512-token block), used by the vLLM personality as in <see cref="Run"/>.
    /// </summary>
    internal int Arrive(long id, long time, int inputTokens, int outputTokens, ReadOnlySpan<long> chain = default)
    {
        time = Math.Max(time, _now);
        Advance(time, inclusive: false);
        _now = time;
        int slot = _sim ? OnArrival<SplitwiseSimBatches>(id, time, inputTokens, outputTokens, default)
            : _vllm ? OnArrival<VllmBatches>(id, time, inputTokens, outputTokens, chain)
            : OnArrival<DefaultBatches>(id, time, inputTokens, outputTokens, default);
        RetryIfPending();
        return slot;
    }

    /// <summary>
    /// At <paramref name="time"/> (clamped to <see cref="Now"/>; events before it are processed first), marks the
    /// request in <paramref name="slot"/> (if it is still request <paramref name="id"/>) cancelled: it is
    /// dropped, and its memory freed, at its next safe point — at once when it is queued on an idle instance, at the
    /// end of the iteration it is part of (a decode run is cut at its next boundary), or when its KV transfer lands.
    /// </summary>
    internal void Cancel(int slot, long id, long time)
    {
        if (_sim)
        {
            return; // SplitwiseSim has no cancellation: a request runs to its end
        }

        time = Math.Max(time, _now);
        Advance(time, inclusive: false);
        if (slot < 0 || slot >= _r.Capacity || _r.Phase[slot] == RequestPhase.Free || _r.Id[slot] != id || _r.Cancelled[slot])
        {
            return;
        }

        _now = time; // an idle instance that starts now starts at the cancel's time, not at the last event's
        _r.Cancelled[slot] = true;
        InstanceState p = _instances[_r.PromptInstance[slot]], t = _instances[_r.TokenInstance[slot]];
        if (_r.Phase[slot] == RequestPhase.Decoding && t.Busy && t.BatchPrompts.Count == 0 && t.RunIterations > 1)
        {
            CutRun(t); // a decode run lasts until its shortest request ends: end it at the next boundary instead
        }

        if (!p.Busy)
        {
            StartIteration(p); // drops it from the head of an idle queue
        }

        if (!t.Busy)
        {
            StartIteration(t);
        }

        RetryIfPending();
    }

    /// <summary>
    /// The decode-only run in progress on <paramref name="instance"/>, if any: it started at <paramref name="start"/>
    /// and runs <paramref name="iterations"/> iterations of <paramref name="iterationNs"/> each; every request in
    /// <paramref name="batch"/> had <see cref="RequestTable.Generated"/> tokens at its start and gains one per iteration.
    /// </summary>
    internal bool TryGetDecodeRun(int instance, out long start, out long iterationNs, out int iterations, out IntList batch)
    {
        InstanceState s = _instances[instance];
        start = s.RunStart;
        iterationNs = s.IterationNs;
        iterations = s.RunIterations;
        batch = s.Batch;
        return s.Busy && s.BatchPrompts.Count == 0 && s.Batch.Count > 0;
    }

    /// <summary>Requests in the iteration running on <paramref name="instance"/> now (0 when idle).</summary>
    internal int RunningRequests(int instance)
    {
        InstanceState s = _instances[instance];
        return s.Busy ? s.Batch.Count + s.BatchPrompts.Count : 0;
    }

    private void Advance(long time, bool inclusive)
    {
        if (_sim)
        {
            Advance<SplitwiseSimBatches>(time, inclusive);
        }
        else if (_vllm)
        {
            Advance<VllmBatches>(time, inclusive);
        }
        else
        {
            Advance<DefaultBatches>(time, inclusive);
        }
    }

    private void Advance<TPolicy>(long time, bool inclusive)
        where TPolicy : struct, IBatchPolicy
    {
        while (_events.TryPeek(out Event ev, out EventKey key) && (key.Time < time || (inclusive && key.Time == time)))
        {
            _events.Dequeue();
            if (IsStaleTimer(ev))
            {
                continue;
            }

            if (key.Time < _now)
            {
                _timeViolations++;
            }

            _now = key.Time;
            OnEvent<TPolicy>(ev);
            RetryIfPending();
            _eventsProcessed++;
        }
    }

    /// <summary>Runs the whole source through the cluster and returns the end state.</summary>
    public SimulationOutcome Run(ArrivalSource source, Action<SimulationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return _sim ? Run<SplitwiseSimBatches>(source, progress, cancellationToken)
            : _vllm ? Run<VllmBatches>(source, progress, cancellationToken)
            : Run<DefaultBatches>(source, progress, cancellationToken);
    }

    /// <summary>The offline event loop, compiled once per engine personality.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private SimulationOutcome Run<TPolicy>(ArrivalSource source, Action<SimulationProgress>? progress, CancellationToken cancellationToken)
        where TPolicy : struct, IBatchPolicy
    {
        long[] arrivals = new long[ArrivalBlock];
        int[] inputs = new int[ArrivalBlock], outputs = new int[ArrivalBlock];
        int have = 0, next = 0;
        long arrived = 0, lastArrival = long.MinValue;
        bool sourceDone = false;
        long horizon = _options.HorizonNs;
        long started = Stopwatch.GetTimestamp();
        long lastReport = started;
        long reportEvery = Stopwatch.Frequency / 5;

        while (true)
        {
            if (next == have && !sourceDone)
            {
                have = source.Fill(arrivals, inputs, outputs);
                next = 0;
                sourceDone = have == 0;
            }

            bool hasArrival = next < have;
            bool hasEvent = _events.TryPeek(out Event ev, out EventKey key);
            if (!hasArrival && !hasEvent)
            {
                break;
            }

            if (hasArrival && (!hasEvent || arrivals[next] <= key.Time))
            {
                long t = arrivals[next];
                if (t > horizon)
                {
                    break;
                }

                if (t < lastArrival)
                {
                    throw new SplitwiseException(
                        $"trace row {arrived + 1}: arrival goes back in time ({t / 1e9:F6} s after {lastArrival / 1e9:F6} s); sort the trace by arrival time");
                }

                lastArrival = t;
                _now = t;
                OnArrival<TPolicy>(arrived, t, inputs[next], outputs[next], _vllm ? source.HashChain(next) : default);
                next++;
                arrived++;
            }
            else
            {
                if (key.Time > horizon)
                {
                    break;
                }

                _events.Dequeue();
                if (IsStaleTimer(ev))
                {
                    continue; // never moves the clock
                }

                if (key.Time < _now)
                {
                    _timeViolations++;
                }

                _now = key.Time;
                OnEvent<TPolicy>(ev);
            }

            if ((++_eventsProcessed & 0x3FFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (progress is not null)
                {
                    long ts = Stopwatch.GetTimestamp();
                    if (ts - lastReport >= reportEvery)
                    {
                        lastReport = ts;
                        progress(new SimulationProgress(_now, arrived, _recorder.Finished, _eventsProcessed, source.KnownCount, Stopwatch.GetElapsedTime(started)));
                    }
                }
            }
        }

        // Whatever is left in flight did not finish: the horizon cut it, or no instance could make progress.
        long notArrived = 0;
        if (!sourceDone)
        {
            notArrived = have - next;
            while (true)
            {
                int n = source.Fill(arrivals, inputs, outputs);
                if (n == 0)
                {
                    break;
                }

                notArrived += n;
            }
        }

        long endNs = _now;
        var unfinished = new List<int>();
        for (int slot = 0; slot < _r.Capacity; slot++)
        {
            if (_r.Phase[slot] != RequestPhase.Free)
            {
                unfinished.Add(slot);
            }
        }

        unfinished.Sort((a, b) => _r.Id[a].CompareTo(_r.Id[b]));
        SettleCounters();
        foreach (int slot in unfinished)
        {
            _recorder.OnUnfinished(_r, slot);
        }

        progress?.Invoke(new SimulationProgress(_now, arrived, _recorder.Finished, _eventsProcessed, source.KnownCount, Stopwatch.GetElapsedTime(started)));
        var instances = new InstanceOutcome[_instances.Length];
        for (int i = 0; i < _instances.Length; i++)
        {
            InstanceState s = _instances[i];
            long busy = s.PromptBusyNs + s.TokenBusyNs;
            if (s.Busy)
            {
                // The run in progress at the horizon counts up to the end.
                long partial = Math.Max(0, endNs - s.RunStart);
                if (s.PromptRun)
                {
                    s.PromptBusyNs += partial;
                }
                else
                {
                    s.TokenBusyNs += partial;
                }

                busy += partial;
            }

            instances[i] = new InstanceOutcome(s.Spec, s.Assigned, s.Completed, s.PromptTokensDone, s.DecodeTokensDone, s.Iterations,
                s.PromptBusyNs, s.TokenBusyNs, s.Evictions, s.PeakBatch, s.Memory.PeakBytes)
            {
                Admissions = s.Admissions,
                FirstAdmissions = s.FirstAdmissions,
                PrefixQueryTokens = s.PrefixQueryTokens,
                PrefixHitTokens = s.PrefixHitTokens,
                PrefixHitRequests = s.PrefixHitRequests,
                CacheEvictions = s.Cache?.Evictions ?? 0,
                KvReceives = s.KvReceives,
                KvReceivedTokens = s.KvReceivedTokens,
                KvLocalHitTokens = s.KvLocalHitTokens,
                KvSendTimeouts = s.KvSendTimeouts,
            };
        }

        return new SimulationOutcome(endNs, arrived, notArrived, _eventsProcessed, _r.PeakInFlight, instances, Stopwatch.GetElapsedTime(started))
        {
            TimeViolations = _timeViolations,
        };
    }

    /// <summary>The run ends: an engine personality that keeps per-request counters lazily brings them up to date before
    /// the unfinished requests are recorded (<c>--splitwise-sim</c>'s preemption counts).</summary>
    partial void SettleCounters();

    private void OnEvent<TPolicy>(in Event ev)
        where TPolicy : struct, IBatchPolicy
    {
        switch (ev.Kind)
        {
            case EventKind.IterationDone:
                InstanceState s = _instances[ev.Target];
                if (ev.Version == s.Version)
                {
                    TPolicy.IterationDone(this, s);
                }

                break;
            case EventKind.KvTransfer:
                if (_kv!.IsCurrent(ev.Version))
                {
                    OnKvTransferEvent();
                }

                break;
            case EventKind.SimFlowDone:
                OnSimFlowDone(ev.Target);
                break;
            case EventKind.SimFlowRetry:
                SimFlowArrival(ev.Target);
                break;
            case EventKind.KvReady:
                OnKvReceived(ev.Target);
                break;
            case EventKind.SendTimeout:
                if (!IsStaleTimer(ev))
                {
                    OnSendTimeout();
                }

                break;
            default:
                throw new UnreachableException();
        }
    }

    private void Schedule(long time, EventKind kind, int target, int version) =>
        _events.Enqueue(new Event(kind, target, version), new EventKey(time, _seq++));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private int OnArrival<TPolicy>(long id, long t, int input, int output, ReadOnlySpan<long> chain)
        where TPolicy : struct, IBatchPolicy
    {
        Timeline?.OnArrival(t);
        input = Math.Max(1, input);
        output = Math.Max(1, output);
        _scheduler.Assign(input, output, chain, out int pi, out int ti);
        InstanceState p = _instances[pi];
        InstanceState tk = _instances[ti];
        long need = pi == ti ? (long)(input + output) * p.Spec.KvBytesPerToken : (long)(input + 1) * p.Spec.KvBytesPerToken;
        long needToken = (long)(input + output) * tk.Spec.KvBytesPerToken;
        if (need > p.Spec.KvCapacityBytes || needToken > tk.Spec.KvCapacityBytes)
        {
            // It could never be admitted and would block its instance forever: report it instead.
            _recorder.OnRejected(id, t, input, output, pi);
            _scheduler.OnPromptDone(pi, input);
            _scheduler.OnRequestDone(pi, ti, input, output);
            _observer?.OnDone(-1, id, completed: false);
            return -1;
        }

        int slot = _r.Allocate();
        _r.Id[slot] = id;
        _r.Arrival[slot] = t;
        _r.Input[slot] = input;
        _r.Output[slot] = output;
        _r.PromptInstance[slot] = pi;
        _r.TokenInstance[slot] = ti;
        _r.Phase[slot] = RequestPhase.QueuedPrompt;
        _r.Generated[slot] = 0;
        _r.PromptStart[slot] = -1;
        _r.FirstToken[slot] = -1;
        _r.LastToken[slot] = -1;
        _r.MaxGap[slot] = 0;
        _r.Preemptions[slot] = 0;
        _r.KvBytes[slot] = 0;
        _r.KvDest[slot] = 0;
        _r.Transfer[slot] = RequestTable.TransferNone;
        _r.KvArrived[slot] = -1;
        _r.SecondToken[slot] = -1;
        _r.Cancelled[slot] = false;
        _r.PromptPreemptions[slot] = 0;
        _r.BatchStamp[slot] = 0;
        _r.TokenStart[slot] = -1;
        _r.CachedTokens[slot] = 0;
        _r.PromptEnd[slot] = -1;
        p.Assigned++;
        TPolicy.Arrive(this, p, tk, slot, chain);
        return slot;
    }

    /// <summary>The engine's own machine-level scheduler (the default personality): SplitwiseSim's instance rules with a
    /// preemption limit that protects decodes from starvation, KV admission control and deadlock-free memory.</summary>
    private readonly struct DefaultBatches : IBatchPolicy
    {
        public static void Arrive(Simulator engine, InstanceState prompt, InstanceState token, int slot, ReadOnlySpan<long> chain)
        {
            prompt.Prompts.Enqueue(slot);
            // SplitwiseSim submits the token task with the prompt task; on the same instance its arrival (1 token)
            // also cuts a decode run, even when the prompt alone could not join the next batch.
            engine.OnWorkArrived(prompt, engine._r.Input[slot], alsoToken: prompt == token);
        }

        public static void IterationDone(Simulator engine, InstanceState instance) => engine.OnIterationDone<DefaultBatches>(instance);

        public static void StartIteration(Simulator engine, InstanceState instance) => engine.SelectBatch(instance);
    }

    /// <summary>
    /// New work (a prompt of <paramref name="tokens"/> tokens, or a decode with 1) joined an instance's queue: start an
    /// iteration if it is idle, or cut its decode-only run at the next iteration boundary when the work can join the
    /// next batch (SplitwiseSim's <c>task_arrival</c> rule).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void OnWorkArrived(InstanceState s, int tokens, bool alsoToken = false)
    {
        if (!s.Busy)
        {
            SelectBatch(s);
            return;
        }

        if (s.BatchPrompts.Count > 0 || s.RunIterations <= 1)
        {
            return; // the iteration ends at the next boundary anyway
        }

        BatchLimits limits = s.Spec.Limits;
        if (!BatchRules.CutsDecodeRun(s.Batch.Count, s.BatchTokens, tokens, alsoToken, limits.MaxBatchRequests, limits.MaxBatchTokens))
        {
            return;
        }

        CutRun(s);
    }

    /// <summary>Ends the instance's decode run at the next iteration boundary after now.</summary>
    private void CutRun(InstanceState s)
    {
        long done = (_now - s.RunStart) / s.IterationNs;
        int cut = (int)Math.Min(done + 1, int.MaxValue);
        if (cut < s.RunIterations)
        {
            s.RunIterations = cut;
            s.Version++;
            Schedule(s.RunStart + (cut * s.IterationNs), EventKind.IterationDone, s.Index, s.Version);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void OnIterationDone<TPolicy>(InstanceState s)
        where TPolicy : struct, IBatchPolicy
    {
        long now = _now;
        int n = EndRun(s);
        RequestTable r = _r;

        // Decodes advance n tokens; the first gap is from their last token to the end of the first iteration.
        IntList batch = s.Batch;
        int kept = 0;
        long firstEnd = s.RunStart + s.IterationNs;
        for (int i = 0; i < batch.Count; i++)
        {
            int slot = batch[i];
            if (r.Cancelled[slot])
            {
                Drop(s, slot);
                continue;
            }

            AddDecodeTokens(s, slot, n, firstEnd);
            _observer?.OnTokens(slot, r.Id[slot], r.Generated[slot], s.IterationNs);
            if (r.Generated[slot] >= r.Output[slot])
            {
                Finish(s, slot);
            }
            else
            {
                batch[kept++] = slot;
            }
        }

        batch.Truncate(kept);

        // Prompts produce the first token.
        IntList prompts = s.BatchPrompts;
        for (int i = 0; i < prompts.Count; i++)
        {
            int slot = prompts[i];
            r.Generated[slot] = 1;
            r.FirstToken[slot] = now;
            r.LastToken[slot] = now;
            s.PromptTokensDone += r.Input[slot];
            _scheduler.OnPromptDone(s.Index, r.Input[slot]);
            if (r.Cancelled[slot] && r.Transfer[slot] != RequestTable.TransferInFlight)
            {
                Drop(s, slot); // a layer-wise transfer under way finishes first and is dropped on arrival
                continue;
            }

            _observer?.OnTokens(slot, r.Id[slot], 1, s.IterationNs);
            if (r.Output[slot] == 1)
            {
                Finish(s, slot);
            }
            else
            {
                HandOff(s, slot);
            }
        }

        prompts.Clear();
        s.Busy = false;
        TPolicy.StartIteration(this, s);
    }

    /// <summary>A decode run of <paramref name="n"/> iterations, the first ending at <paramref name="firstEnd"/>, gave the
    /// request <paramref name="n"/> tokens: its largest gap (the first from its last token, then one iteration each),
    /// its second token's time, and its count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // once per decode per run: the run-end loops' body
    private void AddDecodeTokens(InstanceState s, int slot, int n, long firstEnd)
    {
        RequestTable r = _r;
        long maxGap = Math.Max(r.MaxGap[slot], firstEnd - r.LastToken[slot]);
        if (n > 1 && s.IterationNs > maxGap)
        {
            maxGap = s.IterationNs;
        }

        r.MaxGap[slot] = maxGap;
        if (r.Generated[slot] == 1)
        {
            r.SecondToken[slot] = firstEnd;
        }

        r.Generated[slot] += n;
        r.LastToken[slot] = _now;
        s.DecodeTokensDone += n;
    }

    /// <summary>
    /// The prompt is done: the request decodes on its token instance. On the same instance it waits for the next
    /// batch; on another one its KV cache moves (instantly in this engine; the Splitwise designs add the link model).
    /// </summary>
    private void HandOff(InstanceState from, int slot)
    {
        int ti = _r.TokenInstance[slot];
        _r.Phase[slot] = RequestPhase.WaitingToken;
        if (_sim)
        {
            // SplitwiseSim: the token task is queued here already, or the KV cache is shipped as a flow.
            if (ti != from.Index)
            {
                from.SimPool.Remove(slot);
                SimFlowArrival(slot);
            }

            return;
        }

        if (ti == from.Index)
        {
            from.Waiting.Enqueue(slot);
            return;
        }

        if (_kv is not null && !_kv.SameMachine(from.Index, ti))
        {
            HandOffOverLink(from, slot);
            return;
        }

        from.Kv.Release(_r.KvBytes[slot]);
        _r.KvBytes[slot] = 0;
        InstanceState to = _instances[ti];
        to.Assigned++;
        to.Waiting.Enqueue(slot);
        OnWorkArrived(to, 1);
    }

    /// <summary>
    /// Drops a cancelled request (online use: its client went away) at a point where it holds no batch place:
    /// frees its KV memory on <paramref name="holder"/> and any token-side reservation, and tells the scheduler.
    /// </summary>
    private void Drop(InstanceState holder, int slot)
    {
        RequestTable r = _r;
        holder.Kv.Release(r.KvBytes[slot]);
        _kv?.ReleaseUnlanded(slot, _instances[r.TokenInstance[slot]].Kv); // reserved for a transfer that never happened

        if (r.Phase[slot] == RequestPhase.QueuedPrompt)
        {
            _scheduler.OnPromptDone(r.PromptInstance[slot], r.Input[slot]);
        }

        _scheduler.OnRequestDone(r.PromptInstance[slot], r.TokenInstance[slot], r.Input[slot], r.Output[slot]);
        _observer?.OnDone(slot, r.Id[slot], completed: false);
        r.Release(slot);
        // Prompt instances waiting for token-side memory retry once the current step is done: a drop can happen in
        // the middle of an instance's batch selection, which must not be re-entered.
        _retryPending |= _kv is { WaitingCount: > 0 };
    }

    /// <summary>Runs the retry a drop deferred (online use), at the same simulated time.</summary>
    private void RetryIfPending()
    {
        while (_retryPending)
        {
            _retryPending = false;
            if (_idleSteps.Count > 0)
            {
                StepIdleInstances();
            }

            RetryWaitingForDestination();
        }
    }

    private void Finish(InstanceState s, int slot)
    {
        s.Kv.Release(_r.KvBytes[slot]);
        if (_sim)
        {
            s.SimPool.Remove(slot);
            if (_r.Output[slot] == 1)
            {
                s.SimPending.Remove(TokenTask(slot)); // a one-token request's token task never ran (every other one did)
            }
        }

        s.Completed++;
        // The assigned token instance (a one-token request finishes on its prompt instance without ever moving).
        _scheduler.OnRequestDone(_r.PromptInstance[slot], _r.TokenInstance[slot], _r.Input[slot], _r.Output[slot]);
        _recorder.OnCompleted(_r, slot);
        _observer?.OnDone(slot, _r.Id[slot], completed: true);
        _r.Release(slot);
        if (_kv is { WaitingCount: > 0 })
        {
            RetryWaitingForDestination(freed: s.Index);
        }
    }

    /// <summary>The instance is idle: its personality selects the next batch (online use: after a cancellation).</summary>
    private void StartIteration(InstanceState s)
    {
        if (_sim)
        {
            StartIterationSim(s);
        }
        else if (_vllm)
        {
            StartStepVllm(s);
        }
        else
        {
            SelectBatch(s);
        }
    }

    /// <summary>
    /// Selects the next batch (SplitwiseSim's <c>SplitwiseInstance.select_batch</c> order) and schedules its end:
    /// decodes evicted too often first, then queued prompts FCFS, then evicted decodes, then the running decodes, then
    /// requests waiting to start decoding — within the request and token limits and, for new work, KV memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void SelectBatch(InstanceState s)
    {
        var batch = new Selection(s.Spec.Limits);
        IntList next = s.Scratch; // the decodes of the new batch, in order
        next.Clear();
        TakeStarvedDecodes(s, ref batch, next);
        TakePrompts(s, ref batch);
        TakeEvictedDecodes(s, ref batch, next);
        KeepRunningDecodes(s, ref batch, next);
        TakeWaitingDecodes(s, ref batch, next);
        s.Kv.NotePeak();

        // The new decode list becomes the batch (one block copy).
        s.Batch.Clear();
        s.Batch.AddRange(next.AsSpan());
        s.BatchTokens = batch.Tokens;
        Timeline?.OnIterationStart(_now, s.Index, batch.Size, batch.Tokens, s.BatchPrompts.Count, s.Kv.UsedBytes);
        if (batch.Size == 0)
        {
            s.Busy = false;
            return;
        }

        ScheduleIteration(s, batch.Size);
    }

    /// <summary>A batch being selected: its requests and tokens so far, against the instance's limits.</summary>
    private struct Selection(BatchLimits limits)
    {
        public readonly int MaxRequests = limits.MaxBatchRequests;
        public readonly int MaxTokens = limits.MaxBatchTokens;
        public int Size;
        public int Tokens;

        /// <summary>True when one more decode (one token) fits both limits.</summary>
        public readonly bool DecodeFits => Size < MaxRequests && !(Size > 0 && Tokens + 1 > MaxTokens);

        public void Add(int tokens)
        {
            Size++;
            Tokens += tokens;
        }
    }

    /// <summary>Step 1: decodes evicted at least <c>max_preemptions</c> times go first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one batch selection's steps: one method's code, as before the split
    private void TakeStarvedDecodes(InstanceState s, ref Selection batch, IntList next)
    {
        RequestTable r = _r;
        IntList blocked = s.Blocked;
        int maxPre = s.Spec.Limits.MaxPreemptions;
        for (int i = 0; i < blocked.Count; i++)
        {
            int slot = blocked[i];
            if (r.Preemptions[slot] < maxPre)
            {
                continue;
            }

            if (!batch.DecodeFits)
            {
                break;
            }

            next.Add(slot);
            r.Phase[slot] = RequestPhase.Decoding;
            batch.Add(1);
        }
    }

    /// <summary>Step 2: queued prompts, FCFS, while their KV fits (and, bound for another machine, their destination's);
    /// a prompt larger than the token limit runs alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one batch selection's steps: one method's code, as before the split
    private void TakePrompts(InstanceState s, ref Selection batch)
    {
        RequestTable r = _r;
        ReservedKvMemory kv = s.Kv;
        long kvPerToken = s.Spec.KvBytesPerToken;
        bool fullReservation = s.Spec.Limits.ReserveFullRequest;
        IntQueue queue = s.Prompts;
        IntList prompts = s.BatchPrompts;
        while (queue.Count > 0 && batch.Size < batch.MaxRequests)
        {
            int slot = queue.Peek();
            if (r.Cancelled[slot])
            {
                queue.Dequeue();
                Drop(s, slot);
                continue;
            }

            int p = r.Input[slot];
            if (batch.Size > 0 && batch.Tokens + p > batch.MaxTokens)
            {
                break;
            }

            // A prompt handed off to another instance keeps only its own KV here (prompt + first token).
            bool stays = r.TokenInstance[slot] == s.Index || r.Output[slot] == 1; // one token: done with the prompt
            long need = (fullReservation && stays ? (long)p + r.Output[slot] : p + 1) * kvPerToken;
            if (!kv.Fits(need))
            {
                break;
            }

            // Splitwise: the token machine's KV memory is reserved when the prompt starts (before any transfer), in the
            // same step as the prompt's own, so no request holds memory on one machine while waiting for another.
            if (_kv is not null && !stays && !_kv.SameMachine(s.Index, r.TokenInstance[slot]) && !ReserveDestination(slot))
            {
                _kv.Wait(s.Index);
                break;
            }

            queue.Dequeue();
            kv.Reserve(need);
            r.KvBytes[slot] = need;
            r.Phase[slot] = RequestPhase.Prompting;
            r.PromptStart[slot] = _now;
            prompts.Add(slot);
            batch.Add(p);
        }
    }

    /// <summary>Step 3: evicted decodes, in eviction order; those left out wait one more iteration (SplitwiseSim counts
    /// it), and cancelled ones are dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one batch selection's steps: one method's code, as before the split
    private void TakeEvictedDecodes(InstanceState s, ref Selection batch, IntList next)
    {
        RequestTable r = _r;
        IntList blocked = s.Blocked;
        for (int i = 0; i < blocked.Count; i++)
        {
            int slot = blocked[i];
            if (r.Phase[slot] != RequestPhase.Blocked)
            {
                continue; // taken in step 1
            }

            if (!batch.DecodeFits)
            {
                break;
            }

            next.Add(slot);
            r.Phase[slot] = RequestPhase.Decoding;
            batch.Add(1);
        }

        // Compact the blocked list.
        int keptBlocked = 0;
        for (int i = 0; i < blocked.Count; i++)
        {
            int slot = blocked[i];
            if (r.Phase[slot] == RequestPhase.Blocked && r.Cancelled[slot])
            {
                Drop(s, slot);
            }
            else if (r.Phase[slot] == RequestPhase.Blocked)
            {
                blocked[keptBlocked++] = slot;
                r.Preemptions[slot]++;
            }
        }

        blocked.Truncate(keptBlocked);
    }

    /// <summary>Step 4: the running decodes keep their place while they fit; the rest are evicted (they keep their KV).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one batch selection's steps: one method's code, as before the split
    private void KeepRunningDecodes(InstanceState s, ref Selection batch, IntList next)
    {
        RequestTable r = _r;
        IntList running = s.Batch, blocked = s.Blocked;
        for (int i = 0; i < running.Count; i++)
        {
            int slot = running[i];
            if (batch.DecodeFits)
            {
                next.Add(slot);
                batch.Add(1);
            }
            else
            {
                r.Phase[slot] = RequestPhase.Blocked;
                r.Preemptions[slot]++;
                blocked.Add(slot);
                s.Evictions++;
            }
        }
    }

    /// <summary>Step 5: requests waiting to decode here, FCFS, when their KV fits (a transfer's was reserved before it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one batch selection's steps: one method's code, as before the split
    private void TakeWaitingDecodes(InstanceState s, ref Selection batch, IntList next)
    {
        RequestTable r = _r;
        ReservedKvMemory kv = s.Kv;
        long kvPerToken = s.Spec.KvBytesPerToken;
        bool fullReservation = s.Spec.Limits.ReserveFullRequest;
        IntQueue waiting = s.Waiting;
        while (waiting.Count > 0 && batch.DecodeFits)
        {
            int slot = waiting.Peek();
            if (r.Cancelled[slot])
            {
                waiting.Dequeue();
                Drop(s, slot);
                continue;
            }

            long need = r.PromptInstance[slot] != s.Index
                ? (r.KvDest[slot] > 0 ? 0 : (long)(r.Input[slot] + r.Output[slot]) * kvPerToken) // reserved before its transfer
                : fullReservation ? 0 : (r.Output[slot] - 1) * kvPerToken;
            if (!kv.Fits(need))
            {
                break;
            }

            waiting.Dequeue();
            kv.Reserve(need);
            r.KvBytes[slot] += need;
            r.Phase[slot] = RequestPhase.Decoding;
            r.TokenStart[slot] = _now;
            next.Add(slot);
            batch.Add(1);
        }
    }

    /// <summary>Prices the selected batch and schedules its end: one iteration when it has prompts, else a run of
    /// decode iterations until its first request finishes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void ScheduleIteration(InstanceState s, int size)
    {
        RequestTable r = _r;
        IntList batch = s.Batch, prompts = s.BatchPrompts;
        int promptTokens = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            promptTokens += r.Input[prompts[i]];
        }

        long context = 0;
        int minRemaining = int.MaxValue;
        for (int i = 0; i < batch.Count; i++)
        {
            int slot = batch[i];
            context += r.Input[slot] + r.Generated[slot];
            int remaining = r.Output[slot] - r.Generated[slot];
            if (remaining < minRemaining)
            {
                minRemaining = remaining;
            }
        }

        if (size > s.PeakBatch)
        {
            s.PeakBatch = size;
        }

        var shape = new BatchShape(promptTokens, prompts.Count, batch.Count, context);
        long iteration = Math.Max(1, s.Spec.Performance.IterationNanoseconds(shape));
        if (_kv is not null && prompts.Count > 0 && !_sim)
        {
            StartLayerWiseTransfers(s, _now + iteration);
        }

        StartRun(s, iteration, prompts.Count > 0 ? 1 : minRemaining, promptTime: prompts.Count > 0);
    }

    /// <summary>A run of iterations ended: counts them and their busy time (prompt time when the batch held a prompt
    /// or a prefill chunk, token time otherwise); returns how many there were.</summary>
    private static int EndRun(InstanceState s)
    {
        int n = s.RunIterations;
        long elapsed = n * s.IterationNs;
        s.Iterations += n;
        if (s.PromptRun)
        {
            s.PromptBusyNs += elapsed;
        }
        else
        {
            s.TokenBusyNs += elapsed;
        }

        return n;
    }

    /// <summary>The instance runs <paramref name="iterations"/> iterations of <paramref name="iterationNs"/> from now as
    /// one event (a later version of the event, from a cut or a new run, supersedes it); <paramref name="promptTime"/>:
    /// its busy time is prompt-phase time (energy at the GPU's prompt power), else token-phase time.</summary>
    private void StartRun(InstanceState s, long iterationNs, int iterations, bool promptTime)
    {
        s.Busy = true;
        s.PromptRun = promptTime;
        s.RunStart = _now;
        s.IterationNs = iterationNs;
        s.RunIterations = iterations;
        s.Version++;
        Schedule(_now + (iterations * iterationNs), EventKind.IterationDone, s.Index, s.Version);
    }

    // ---- Splitwise: KV-cache transfers (see Simulation/Transfer). The destination's memory is reserved when the
    // prompt starts, before any transfer; the source keeps the request's KV until the transfer completes.

    /// <summary>A prompt iteration starts: requests bound for another machine with large prompts stream their KV
    /// layer by layer during it.</summary>
    private void StartLayerWiseTransfers(InstanceState s, long promptEnd)
    {
        KvHandOff kv = _kv!;
        IntList prompts = s.BatchPrompts;
        for (int i = 0; i < prompts.Count; i++)
        {
            int slot = prompts[i];
            int ti = _r.TokenInstance[slot];
            if (ti != s.Index && _r.Output[slot] > 1 && !kv.SameMachine(s.Index, ti) && kv.Links.IsLayerWise(_r.Input[slot]))
            {
                kv.StartLayerWise(slot, s.Index, ti, _r.Input[slot], _now, promptEnd);
            }
        }

        RescheduleKv();
    }

    /// <summary>The prompt is done and the request decodes on another machine: its KV moves over the link.</summary>
    private void HandOffOverLink(InstanceState from, int slot)
    {
        switch (_r.Transfer[slot])
        {
            case RequestTable.TransferDone:
                // A layer-wise transfer finished at the very instant the prompt did (same timestamp, event order).
                ArriveAtTokenInstance(slot);
                break;
            case RequestTable.TransferInFlight:
                break; // layer-wise: the last layer joins the stream now (the link model releases it at the prompt's end)
            default:
                StartSerializedTransfer(from.Index, slot); // its destination memory was reserved with the prompt
                break;
        }
    }

    private void StartSerializedTransfer(int from, int slot)
    {
        _kv!.StartSerialized(slot, from, _r.TokenInstance[slot], _r.Input[slot], _now);
        RescheduleKv();
    }

    private bool ReserveDestination(int slot)
    {
        InstanceState to = _instances[_r.TokenInstance[slot]];
        return _kv!.TryReserveDestination(slot, to.Kv, to.Spec.KvBytesPerToken);
    }

    /// <summary>KV memory was freed: idle prompt instances whose next prompt waited for token-side memory retry.</summary>
    /// <remarks>Memory freed on <paramref name="freed"/> (−1: anywhere) can only unblock a prompt bound for it: an
    /// idle instance whose head prompt waits for another token instance would select the same empty batch and go back to
    /// the end of the list, so it is moved there without the selection (O(1) instead of a batch selection per waiting
    /// instance per completion; the order, and so every result, is what retrying it would give).</remarks>
    private void RetryWaitingForDestination(int freed = -1)
    {
        if (_kv is not { } kv)
        {
            return;
        }

        for (int i = kv.WaitingCount - 1; i >= 0; i--)
        {
            int index = kv.WaitingAt(i);
            InstanceState p = _instances[index];
            if (!p.Busy)
            {
                kv.StopWaitingAt(i);
                if (freed >= 0 && p.Prompts.Count > 0 && _r.TokenInstance[p.Prompts.Peek()] != freed && !_r.Cancelled[p.Prompts.Peek()])
                {
                    kv.Wait(index); // to the end of the list, as retrying it would
                    continue;
                }

                SelectBatch(p); // re-adds itself if still blocked
            }
        }
    }

    private void RescheduleKv()
    {
        if (_kv!.Reschedule(_now, out long at, out int version))
        {
            Schedule(at, EventKind.KvTransfer, 0, version);
        }
    }

    private void OnKvTransferEvent()
    {
        foreach (int slot in _kv!.Advance(_now))
        {
            OnTransferDone(slot);
        }

        RescheduleKv();
    }

    private void OnTransferDone(int slot)
    {
        if (_vllm)
        {
            OnKvReceived(slot);
            return;
        }

        _r.Transfer[slot] = RequestTable.TransferDone;
        if (_r.FirstToken[slot] >= 0)
        {
            ArriveAtTokenInstance(slot);
        }
    }

    /// <summary>The KV cache is on the token instance: the source frees its copy and the request waits to decode.</summary>
    private void ArriveAtTokenInstance(int slot)
    {
        InstanceState from = _instances[_r.PromptInstance[slot]];
        _kv!.Land(slot, from.Kv, _now);
        InstanceState to = _instances[_r.TokenInstance[slot]];
        bool dropped = _r.Cancelled[slot];
        if (dropped)
        {
            Drop(to, slot);
            if (!to.Busy)
            {
                SelectBatch(to); // requests may have waited for the memory just freed
            }
        }
        else
        {
            to.Assigned++;
            to.Waiting.Enqueue(slot);
            OnWorkArrived(to, 1);
        }

        if (_kv.WaitingCount > 0)
        {
            RetryWaitingForDestination(freed: dropped ? -1 : from.Index); // only the source freed memory, unless the request was dropped
        }

        if (!from.Busy)
        {
            SelectBatch(from); // prompts may have waited for the memory just freed
        }
    }

    private enum EventKind : byte
    {
        IterationDone = 1,
        KvTransfer = 2,
        SimFlowDone = 3,
        SimFlowRetry = 4,
        KvReady = 5,
        SendTimeout = 6,
    }

    private readonly record struct Event(EventKind Kind, int Target, int Version);

    private readonly record struct EventKey(long Time, long Seq) : IComparable<EventKey>
    {
        public int CompareTo(EventKey other)
        {
            int c = Time.CompareTo(other.Time);
            return c != 0 ? c : Seq.CompareTo(other.Seq);
        }
    }
}

/// <summary>What one instance did during a run.</summary>
public sealed record InstanceOutcome(
    InstanceSpec Spec, long Assigned, long Completed, long PromptTokens, long DecodeTokens, long Iterations,
    long PromptBusyNs, long TokenBusyNs, long Evictions, int PeakBatch, long KvPeakBytes)
{
    /// <summary>vLLM engine: requests taken from the waiting queue (first admissions and re-admissions after a
    /// preemption by recompute; <see cref="Evictions"/> counts those preemptions).</summary>
    public long Admissions { get; init; }

    /// <summary>vLLM engine: requests admitted for the first time.</summary>
    public long FirstAdmissions { get; init; }

    /// <summary>vLLM engine: tokens looked up in the prefix cache at admissions (the request's known tokens).</summary>
    public long PrefixQueryTokens { get; init; }

    /// <summary>vLLM engine: tokens found in the prefix cache at admissions.</summary>
    public long PrefixHitTokens { get; init; }

    /// <summary>vLLM engine: requests whose first admission found some of their prompt cached.</summary>
    public long PrefixHitRequests { get; init; }

    /// <summary>vLLM engine: cached blocks evicted (LRU) to make room.</summary>
    public long CacheEvictions { get; init; }

    /// <summary>vLLM phase-split cluster, decode instance: requests whose KV cache it received from a prefill instance.</summary>
    public long KvReceives { get; init; }

    /// <summary>vLLM phase-split cluster, decode instance: KV tokens pulled from prefill instances.</summary>
    public long KvReceivedTokens { get; init; }

    /// <summary>vLLM phase-split cluster, decode instance: received requests' prompt tokens found in its own prefix cache
    /// (not pulled).</summary>
    public long KvLocalHitTokens { get; init; }

    /// <summary>vLLM phase-split cluster, prefill instance: prompts whose KV no decode instance read within vLLM's abort
    /// timeout (480 s); their blocks were freed and the decode instance computed the prompt itself.</summary>
    public long KvSendTimeouts { get; init; }
}

/// <summary>The end state of a run.</summary>
/// <param name="EndNs">Simulated time at the end (last event, or the horizon's cut).</param>
/// <param name="Arrived">Requests that arrived.</param>
/// <param name="NotArrived">Requests after the horizon that never arrived.</param>
/// <param name="Events">Events processed (arrivals and iteration ends).</param>
/// <param name="PeakInFlight">Most requests in flight at once (the engine's memory grows with this).</param>
/// <param name="Instances">Per-instance counters.</param>
/// <param name="Wall">Wall-clock time of the run.</param>
public sealed record SimulationOutcome(
    long EndNs, long Arrived, long NotArrived, long Events, int PeakInFlight, IReadOnlyList<InstanceOutcome> Instances, TimeSpan Wall)
{
    /// <summary>Events found earlier than the clock (always 0 unless the engine is broken; checked by the tests).</summary>
    public long TimeViolations { get; init; }
}
