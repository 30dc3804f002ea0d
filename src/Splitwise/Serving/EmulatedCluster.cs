using System.Collections.Concurrent;
using System.Diagnostics;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;

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
    double MaxLateSeconds);

/// <summary>
/// A cluster of emulated instances in real time. One clock thread runs every instance's iteration loop: it takes the
/// current batch, asks the performance model for the iteration time, waits for that absolute deadline (compressed by
/// the speed-up), emits one token to each request in the batch and selects the next batch. Requests are routed at
/// arrival by the simulation engine's own <see cref="ClusterScheduler"/> (token-JSQ by default), on the same
/// instance specs (performance model, KV capacity, batch limits) the simulator builds for the design.
/// </summary>
/// <remarks>
/// Deadlines chain on the previous deadline, not on when the thread woke, so timer jitter does not accumulate; the
/// thread sleeps while far from the next deadline and spins/yields through the last half millisecond.
/// </remarks>
public sealed class EmulatedCluster : IDisposable
{
    private const long SpinWindowNs = 500_000;

    private readonly EmulatedInstance[] _instances;
    private readonly ClusterScheduler _scheduler;
    private readonly ConcurrentQueue<EmulatedRequest> _arrivals = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly double _ticksPerModelNs;
    private readonly Thread _clock;
    private readonly Action<EmulatedRequest> _onPromptDone;
    private readonly Action<EmulatedRequest> _onRequestDone;
    private volatile bool _stopping;
    private int _running;
    private int _waiting;
    private long _promptTokens;
    private long _generationTokens;
    private long _finished;
    private long _aborted;
    private long _iterations;
    private long _kvUsed;
    private long _maxLateTicks;

    /// <summary>Emulates a simulator cluster: its instances, limits and cluster scheduler.</summary>
    public static EmulatedCluster FromConfig(ClusterConfig config, Catalog catalog, ProfileTable? profile, double speedup)
    {
        ArgumentNullException.ThrowIfNull(config);
        IReadOnlyList<InstanceSpec> specs = config.BuildInstances(catalog, profile);
        var emulated = new EmulatedInstanceSpec[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            InstanceSpec s = specs[i];
            emulated[i] = new EmulatedInstanceSpec(s.Performance, s.KvCapacityBytes, s.KvBytesPerToken, s.Limits.MaxBatchRequests, s.Limits.MaxBatchTokens, s.Limits.MaxPreemptions, s.Limits.ReserveFullRequest);
        }

        return new EmulatedCluster(emulated, speedup, ClusterScheduler.Create(config.Scheduler, specs.Count)) { Design = config.Design };
    }

    /// <summary>The design name, for /v1/models and logs.</summary>
    public string Design { get; init; } = "custom";

    public EmulatedCluster(IReadOnlyList<EmulatedInstanceSpec> instances, double speedup, ClusterScheduler? scheduler = null)
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

        _instances = new EmulatedInstance[instances.Count];
        for (int i = 0; i < instances.Count; i++)
        {
            _instances[i] = new EmulatedInstance(i, instances[i]);
        }

        _scheduler = scheduler ?? ClusterScheduler.Create("token-jsq", instances.Count);
        Speedup = speedup;
        _ticksPerModelNs = Stopwatch.Frequency / 1e9 / speedup;
        _onPromptDone = OnPromptDone;
        _onRequestDone = OnRequestDone;
        _clock = new Thread(ClockLoop) { IsBackground = true, Name = "serve-clock", Priority = ThreadPriority.AboveNormal };
        _clock.Start();
    }

    public double Speedup { get; }

    public int InstanceCount => _instances.Length;

    private long KvCapacity
    {
        get
        {
            long c = 0;
            foreach (EmulatedInstance i in _instances)
            {
                c += i.Spec.KvCapacityBytes;
            }

            return c;
        }
    }

    /// <summary>
    /// Admits a request; false when it can never fit an instance's KV memory (the caller answers 400).
    /// </summary>
    internal bool TrySubmit(EmulatedRequest request)
    {
        if (!_instances[0].CanEverFit(request))
        {
            return false;
        }

        Interlocked.Add(ref _promptTokens, request.PromptTokens);
        request.SubmittedTicks = Stopwatch.GetTimestamp();
        _arrivals.Enqueue(request);
        _wake.Release();
        return true;
    }

    /// <summary>Largest prompt + output a single instance can hold.</summary>
    public long MaxRequestTokens => _instances[0].Spec.KvCapacityBytes / _instances[0].Spec.KvBytesPerToken;

    public ClusterCounters Counters => new(
        Volatile.Read(ref _running),
        Volatile.Read(ref _waiting),
        Interlocked.Read(ref _promptTokens),
        Interlocked.Read(ref _generationTokens),
        Interlocked.Read(ref _finished),
        Interlocked.Read(ref _aborted),
        Interlocked.Read(ref _iterations),
        (double)Interlocked.Read(ref _kvUsed) / KvCapacity,
        Interlocked.Read(ref _maxLateTicks) / (double)Stopwatch.Frequency);

    private void ClockLoop()
    {
        long spinTicks = (long)(SpinWindowNs * Stopwatch.Frequency / 1e9);
        while (!_stopping)
        {
            // The earliest end of a running iteration.
            long next = long.MaxValue;
            EmulatedInstance? due = null;
            foreach (EmulatedInstance inst in _instances)
            {
                if (inst.Busy && inst.DeadlineTicks < next)
                {
                    next = inst.DeadlineTicks;
                    due = inst;
                }
            }

            // Only requests that arrived before a boundary not yet processed may take part in it: when the clock
            // wakes late, later arrivals wait for the boundary to be processed first (else they would join an
            // iteration that started before they arrived, and see a TTFT shorter than one iteration).
            long now = Stopwatch.GetTimestamp();
            Admit(now, Math.Min(now, next));

            if (due is null)
            {
                _wake.Wait(100);
                continue;
            }

            long remaining = next - Stopwatch.GetTimestamp();
            if (remaining > spinTicks)
            {
                // Sleep, but wake for arrivals: an idle instance starts as soon as work comes.
                int ms = (int)Math.Max(1, (remaining - spinTicks) * 1000 / Stopwatch.Frequency);
                _wake.Wait(ms);
                continue;
            }

            while ((remaining = next - Stopwatch.GetTimestamp()) > 0)
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

            // Arrivals during the spin, up to the boundary, belong before it: they may cut a decode run here.
            long woke = Stopwatch.GetTimestamp();
            Admit(woke, Math.Min(woke, next));
            long late = Stopwatch.GetTimestamp() - next;
            if (late > Interlocked.Read(ref _maxLateTicks))
            {
                Interlocked.Exchange(ref _maxLateTicks, late);
            }

            // Every instance whose iteration ends now (equal deadlines: all of them, in index order).
            foreach (EmulatedInstance inst in _instances)
            {
                if (inst.Busy && inst.DeadlineTicks <= next)
                {
                    EndAndRestart(inst, inst.DeadlineTicks);
                }
            }
        }

        // Shut down: complete every stream so handlers return.
        while (_arrivals.TryDequeue(out EmulatedRequest? r))
        {
            r.Complete(new OperationCanceledException("the server is shutting down"));
        }
    }

    /// <summary>Admits the queued requests submitted at or before <paramref name="limit"/>; an idle instance starts at <paramref name="now"/>.</summary>
    private void Admit(long now, long limit)
    {
        // The clock thread is the only consumer, so a peeked request is still at the head when dequeued.
        while (_arrivals.TryPeek(out EmulatedRequest? head) && head.SubmittedTicks <= limit && _arrivals.TryDequeue(out EmulatedRequest? r))
        {
            // Baseline designs run both phases on one instance: the prompt instance is the token instance.
            _scheduler.Assign(r.PromptTokens, r.OutputTokens, out int best, out _);
            EmulatedInstance inst = _instances[best];
            inst.EnqueuePrompt(r);
            if (!inst.Busy)
            {
                Start(inst, now);
            }
            else
            {
                inst.OnWorkArrived(r.PromptTokens);
            }
        }
    }

    private void EndAndRestart(EmulatedInstance inst, long deadline)
    {
        int emitted = inst.CompleteIteration(_onPromptDone, _onRequestDone);
        Interlocked.Add(ref _generationTokens, emitted);
        Interlocked.Increment(ref _iterations);
        if (inst.ContinueRun())
        {
            inst.SetDeadline(deadline + Math.Max(1, (long)Math.Round(inst.IterationNs * _ticksPerModelNs)));
            PublishGauges();
        }
        else
        {
            Start(inst, deadline);
        }
    }

    private void Start(EmulatedInstance inst, long startTicks)
    {
        long ns = inst.StartIteration(_onRequestDone, _onPromptDone);
        if (ns > 0)
        {
            inst.SetDeadline(startTicks + Math.Max(1, (long)Math.Round(ns * _ticksPerModelNs)));
        }

        PublishGauges();
    }

    private void PublishGauges()
    {
        int running = 0, queued = 0;
        long kv = 0;
        foreach (EmulatedInstance i in _instances)
        {
            running += i.BatchSize;
            queued += i.Queued;
            kv += i.KvUsed;
        }

        Volatile.Write(ref _running, running);
        Volatile.Write(ref _waiting, queued + _arrivals.Count);
        Interlocked.Exchange(ref _kvUsed, kv);
    }

    private void OnPromptDone(EmulatedRequest r)
    {
        _scheduler.OnPromptDone(r.Instance, r.PromptTokens);
    }

    private void OnRequestDone(EmulatedRequest r)
    {
        _scheduler.OnRequestDone(r.Instance, r.Instance);
        if (r.Cancelled)
        {
            Interlocked.Increment(ref _aborted);
        }
        else
        {
            Interlocked.Increment(ref _finished);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _clock.Join();
        _wake.Dispose();
    }
}
