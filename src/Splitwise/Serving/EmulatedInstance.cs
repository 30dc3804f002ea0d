using Splitwise.Performance;

namespace Splitwise.Serving;

/// <summary>Machine-level limits and memory of one emulated instance (SplitwiseSim's defaults).</summary>
/// <param name="Performance">Iteration-time model of the instance.</param>
/// <param name="KvCapacityBytes">KV-cache bytes available on the instance.</param>
/// <param name="KvBytesPerToken">KV bytes per token.</param>
/// <param name="MaxBatchRequests">Requests per iteration.</param>
/// <param name="MaxBatchTokens">Tokens per iteration (a prompt counts its size, a decode 1; a larger prompt runs alone).</param>
/// <param name="MaxPreemptions">Evictions after which a decode is admitted before new prompts.</param>
/// <param name="ReserveFullRequest">As the engine's <c>BatchLimits.ReserveFullRequest</c>: the prompt reserves the whole
/// request's KV (true), or prompt + 1 tokens and the decode output − 1 more (SplitwiseSim's rule).</param>
public sealed record EmulatedInstanceSpec(
    IPerformanceModel Performance,
    long KvCapacityBytes,
    long KvBytesPerToken,
    int MaxBatchRequests = 512,
    int MaxBatchTokens = 2048,
    int MaxPreemptions = 4,
    bool ReserveFullRequest = true);

/// <summary>
/// One instance of the emulated cluster: FCFS queues, the continuous batch, KV memory. Mirrors the simulation engine's
/// machine-level scheduler (its <c>StartIteration</c>/<c>OnWorkArrived</c>/<c>OnIterationDone</c>: evicted-too-often
/// decodes, then prompts FCFS, then evicted decodes, then the running decodes, then requests waiting to decode), and
/// its decode runs: a decode-only batch runs until its shortest request finishes unless new work that can join or
/// preempt arrives, which cuts the run at the next iteration boundary. It advances one iteration per call so a
/// real-time clock can pace it and emit every token on time. Single-threaded: the cluster's clock owns it.
/// </summary>
internal sealed class EmulatedInstance(int index, EmulatedInstanceSpec spec)
{
    private readonly Queue<EmulatedRequest> _prompts = new();
    private readonly Queue<EmulatedRequest> _waiting = new();
    private readonly List<EmulatedRequest> _blocked = [];
    private readonly List<EmulatedRequest> _batch = [];
    private readonly List<EmulatedRequest> _batchPrompts = [];
    private readonly List<EmulatedRequest> _next = [];

    public int Index { get; } = index;

    public EmulatedInstanceSpec Spec { get; } = spec;

    public long KvUsed { get; private set; }

    /// <summary>True while an iteration is running; <see cref="DeadlineTicks"/> is its end.</summary>
    public bool Busy { get; private set; }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp at which the current iteration ends.</summary>
    public long DeadlineTicks { get; private set; }

    public int Running => _batch.Count + _batchPrompts.Count;

    public int Queued => _prompts.Count + _waiting.Count + _blocked.Count;

    public long Iterations { get; private set; }

    /// <summary>Iterations left in the current run, this one included (1 for a batch with prompts).</summary>
    public int RunRemaining { get; private set; }

    /// <summary>Model time of each iteration of the current run, nanoseconds.</summary>
    public long IterationNs { get; private set; }

    private int _batchTokens;

    /// <summary>
    /// A request's prompt of <paramref name="tokens"/> tokens joined the queue while the instance is busy: cut a
    /// decode-only run at the next iteration boundary when the work could join the batch or preempt it (the engine's
    /// <c>OnWorkArrived</c>, same rule: its token task arrives with it on this instance, so even a prompt larger than
    /// the token limit cuts the run).
    /// </summary>
    public void OnWorkArrived(int tokens)
    {
        if (!Busy || _batchPrompts.Count > 0 || RunRemaining <= 1)
        {
            return;
        }

        if (Simulation.BatchRules.CutsDecodeRun(_batch.Count, _batchTokens, tokens, alsoToken: true, Spec.MaxBatchRequests, Spec.MaxBatchTokens))
        {
            RunRemaining = 1;
        }
    }

    /// <summary>Continues a decode run with the same batch and iteration time; false when the run is over.</summary>
    public bool ContinueRun()
    {
        if (RunRemaining <= 1 || _batch.Count == 0)
        {
            return false;
        }

        RunRemaining--;
        Busy = true;
        return true;
    }

    /// <summary>True when the request could ever fit in this instance's KV memory.</summary>
    public bool CanEverFit(EmulatedRequest r) => (long)(r.PromptTokens + r.OutputTokens) * Spec.KvBytesPerToken <= Spec.KvCapacityBytes;

    public void EnqueuePrompt(EmulatedRequest r)
    {
        r.Instance = Index;
        r.Phase = EmulatedPhase.QueuedPrompt;
        _prompts.Enqueue(r);
    }

    /// <summary>Ends the current iteration: decodes and prompts each emit a token. Returns the tokens emitted.</summary>
    /// <param name="onPromptDone">Called with each finished prompt (router bookkeeping).</param>
    /// <param name="onRequestDone">Called with each finished or dropped request.</param>
    public int CompleteIteration(Action<EmulatedRequest> onPromptDone, Action<EmulatedRequest> onRequestDone)
    {
        Busy = false;
        Iterations++;
        int kept = 0, emitted = 0;
        for (int i = 0; i < _batch.Count; i++)
        {
            EmulatedRequest r = _batch[i];
            if (r.Cancelled)
            {
                Drop(r, onRequestDone);
                continue;
            }

            r.Generated++;
            r.Emit();
            emitted++;
            if (r.Generated >= r.OutputTokens)
            {
                Finish(r, onRequestDone);
            }
            else
            {
                _batch[kept++] = r;
            }
        }

        _batch.RemoveRange(kept, _batch.Count - kept);
        foreach (EmulatedRequest r in _batchPrompts)
        {
            onPromptDone(r);
            if (r.Cancelled)
            {
                Drop(r, onRequestDone);
                continue;
            }

            r.Generated = 1;
            r.Emit();
            emitted++;
            if (r.OutputTokens == 1)
            {
                Finish(r, onRequestDone);
            }
            else
            {
                r.Phase = EmulatedPhase.WaitingToken;
                _waiting.Enqueue(r);
            }
        }

        _batchPrompts.Clear();
        return emitted;
    }

    /// <summary>
    /// Selects the next batch and returns its iteration time in nanoseconds of model time, or 0 when there is
    /// nothing to run (the instance goes idle).
    /// </summary>
    public long StartIteration(Action<EmulatedRequest> onRequestDone, Action<EmulatedRequest> onPromptDone)
    {
        EmulatedInstanceSpec spec = Spec;
        int maxReq = spec.MaxBatchRequests, maxTok = spec.MaxBatchTokens, maxPre = spec.MaxPreemptions;
        long kvPerToken = spec.KvBytesPerToken, capacity = spec.KvCapacityBytes;
        List<EmulatedRequest> next = _next;
        next.Clear();
        int size = 0, tokens = 0, promptTokens = 0;

        // 1. Decodes evicted at least maxPre times go first.
        foreach (EmulatedRequest r in _blocked)
        {
            if (r.Preemptions < maxPre || r.Cancelled)
            {
                continue;
            }

            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                break;
            }

            next.Add(r);
            r.Phase = EmulatedPhase.Decoding;
            size++;
            tokens++;
        }

        // 2. Prompts, FCFS; a prompt larger than the token limit runs alone.
        while (_prompts.Count > 0 && size < maxReq)
        {
            EmulatedRequest r = _prompts.Peek();
            if (r.Cancelled)
            {
                _prompts.Dequeue();
                onPromptDone(r);
                Drop(r, onRequestDone);
                continue;
            }

            int p = r.PromptTokens;
            if (size > 0 && tokens + p > maxTok)
            {
                break;
            }

            long need = (spec.ReserveFullRequest ? (long)p + r.OutputTokens : p + 1) * kvPerToken;
            if (KvUsed + need > capacity)
            {
                break;
            }

            _prompts.Dequeue();
            KvUsed += need;
            r.KvBytes = need;
            r.Phase = EmulatedPhase.Prompting;
            _batchPrompts.Add(r);
            size++;
            tokens += p;
            promptTokens += p;
        }

        // 3. Evicted decodes, in eviction order.
        foreach (EmulatedRequest r in _blocked)
        {
            if (r.Phase != EmulatedPhase.Blocked || r.Cancelled)
            {
                continue;
            }

            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                break;
            }

            next.Add(r);
            r.Phase = EmulatedPhase.Decoding;
            size++;
            tokens++;
        }

        int keptBlocked = 0;
        for (int i = 0; i < _blocked.Count; i++)
        {
            EmulatedRequest r = _blocked[i];
            if (r.Cancelled && r.Phase == EmulatedPhase.Blocked)
            {
                Drop(r, onRequestDone);
            }
            else if (r.Phase == EmulatedPhase.Blocked)
            {
                _blocked[keptBlocked++] = r;
                r.Preemptions++;
            }
        }

        _blocked.RemoveRange(keptBlocked, _blocked.Count - keptBlocked);

        // 4. The running decodes keep their place while they fit; the rest are evicted.
        foreach (EmulatedRequest r in _batch)
        {
            if (size < maxReq && !(size > 0 && tokens + 1 > maxTok))
            {
                next.Add(r);
                size++;
                tokens++;
            }
            else
            {
                r.Phase = EmulatedPhase.Blocked;
                r.Preemptions++;
                _blocked.Add(r);
            }
        }

        // 5. Requests waiting to decode here, FCFS, when their KV fits.
        while (_waiting.Count > 0 && size < maxReq && !(size > 0 && tokens + 1 > maxTok))
        {
            EmulatedRequest r = _waiting.Peek();
            if (r.Cancelled)
            {
                _waiting.Dequeue();
                Drop(r, onRequestDone);
                continue;
            }

            long need = spec.ReserveFullRequest ? 0 : (r.OutputTokens - 1) * kvPerToken;
            if (KvUsed + need > capacity)
            {
                break;
            }

            _waiting.Dequeue();
            KvUsed += need;
            r.KvBytes += need;
            r.Phase = EmulatedPhase.Decoding;
            next.Add(r);
            size++;
            tokens++;
        }

        _batch.Clear();
        long context = 0;
        int minRemaining = int.MaxValue;
        foreach (EmulatedRequest r in next)
        {
            _batch.Add(r);
            context += r.PromptTokens + r.Generated;
            minRemaining = Math.Min(minRemaining, r.OutputTokens - r.Generated);
        }

        _batchTokens = tokens;
        if (size == 0)
        {
            Busy = false;
            RunRemaining = 0;
            return 0;
        }

        var shape = new BatchShape(promptTokens, _batchPrompts.Count, _batch.Count, context);
        long ns = Math.Max(1, spec.Performance.IterationNanoseconds(shape));
        Busy = true;
        IterationNs = ns;
        RunRemaining = _batchPrompts.Count > 0 ? 1 : Math.Max(1, minRemaining);
        return ns;
    }

    /// <summary>Sets the end of the running iteration (the cluster's clock computes it with the speed-up).</summary>
    public void SetDeadline(long ticks) => DeadlineTicks = ticks;

    /// <summary>Requests in the batch being computed (decodes and prompts).</summary>
    public int BatchSize => _batch.Count + _batchPrompts.Count;

    private void Finish(EmulatedRequest r, Action<EmulatedRequest> onRequestDone)
    {
        KvUsed -= r.KvBytes;
        r.KvBytes = 0;
        r.Complete();
        onRequestDone(r);
    }

    private void Drop(EmulatedRequest r, Action<EmulatedRequest> onRequestDone)
    {
        KvUsed -= r.KvBytes;
        r.KvBytes = 0;
        r.Complete();
        onRequestDone(r);
    }
}
