using System.Runtime.CompilerServices;
using Splitwise.Performance;
using Splitwise.Simulation.Paging;

namespace Splitwise.Simulation;

/// <summary>
/// The vLLM V1 personality (<c>--engine vllm</c>, <see cref="VllmEngineOptions"/>): vLLM 0.11's
/// <c>Scheduler.schedule</c> step by step over paged KV memory with automatic prefix caching
/// (<see cref="PagedKvCache"/>, <see cref="BlockTables"/>).
/// </summary>
/// <remarks>
/// <para>A step has a token budget shared by every request: running requests first, in admission order (a decode
/// costs 1 token, an unfinished prefill its next chunk), then waiting ones FCFS while fewer than <c>max_num_seqs</c>
/// run; a prefill larger than what is left of the budget is chunked (chunked prefill is always on in V1). Blocks are
/// allocated as tokens are scheduled. When a running request cannot get its blocks, the last admitted running request
/// is preempted by recompute — its blocks freed (they stay cached), its computed tokens reset, put back at the head
/// of the waiting queue — until the request fits or is itself the one preempted; a step that preempted admits no
/// waiting request. A waiting request first takes the longest cached chain of full blocks of its tokens (all but the
/// last, which is always computed) and prefills the rest; a preempted request so finds its own blocks unless they were
/// evicted. A request produces a token when its computed tokens reach its known tokens (prompt + output so far): the
/// first at the end of its prefill, the next at the end of each decode step, and one at the end of a recompute.</para>
/// <para>Like the other personalities, a run of decode-only steps is one event: it lasts until its first request
/// finishes, until the step before a new block would not fit (the step that needs it runs alone and may preempt),
/// or until work arrives (cut at the next step boundary). A waiting request that could not start in the run's first
/// step cannot start in the later ones (the budget, the running count and the free blocks do not improve), so the run
/// is exactly the steps vLLM would take. Cluster level: colocated clusters with any scheduler, and phase-split
/// clusters as vLLM's disaggregated serving with a KV connector (below, <see cref="SendToDecode"/>).</para>
/// </remarks>
public sealed partial class Simulator
{
    private readonly bool _vllm;

    /// <summary>vLLM V1's scheduler (<c>--engine vllm</c>): one token budget per step, chunked prefill, paged KV with
    /// prefix caching, recompute preemption.</summary>
    private readonly struct VllmBatches : IBatchPolicy
    {
        public static void Arrive(Simulator engine, InstanceState prompt, InstanceState token, int slot, ReadOnlySpan<long> chain) =>
            engine.VllmArrive(prompt, slot, chain);

        public static void IterationDone(Simulator engine, InstanceState instance) => engine.OnStepDoneVllm(instance);

        public static void StartIteration(Simulator engine, InstanceState instance) => engine.StartStepVllm(instance);
    }
    private readonly BlockTables? _tables;
    private readonly BlockTables? _decodeTables; // phase-split clusters: requests' tables on their decode instances
    private readonly List<int> _idleSteps = [];  // instances to step after the current event if idle (a cancelled P/D request freed their blocks)

    // P/D: prompts sent to decode instances in the order they ended, to free a prefill instance's blocks that nobody read
    // within vLLM's VLLM_NIXL_ABORT_REQUEST_TIMEOUT (480 s), checked once a simulated second.
    private const long SendTimeoutNs = 480_000_000_000;
    private const long SendTimeoutTickNs = 1_000_000_000;
    // The timer runs only while a send is queued (a stale one is skipped without moving the clock, so it never
    // extends a run).
    private readonly Queue<(int Slot, long At)> _sends = new();
    private int _queuedSends;
    private int _sendTimerVersion;
    private bool _sendTimerSet;

    /// <summary>The request's block table on <paramref name="s"/>: its decode instance's in a phase-split cluster.</summary>
    private BlockTables TablesOn(InstanceState s, int slot) => _r.PromptInstance[slot] == s.Index ? _tables! : _decodeTables!;

    /// <summary>True when the decode in <paramref name="slot"/> has caught up: its last token is computed but for the
    /// newest one, which this step feeds.</summary>
    private bool IsDecodeStep(int slot, int tokens) =>
        tokens == 1 && _r.Generated[slot] > 0 && _r.Computed[slot] == _r.Input[slot] + _r.Generated[slot] - 1;

    private void VllmArrive(InstanceState s, int slot, ReadOnlySpan<long> chain)
    {
        _tables!.Start(slot, _r.Input[slot], chain);
        _r.Computed[slot] = 0;
        _r.CachedTokens[slot] = -1;
        s.Prompts.Enqueue(slot);
        VllmWorkArrived(s);
    }

    /// <summary>Work joined the waiting queue (or a request was cancelled): step now when idle, else end a decode run at
    /// its next boundary so the next step can take it.</summary>
    private void VllmWorkArrived(InstanceState s)
    {
        if (!s.Busy)
        {
            StartStepVllm(s);
        }
        else if (s.BatchPrompts.Count == 0 && s.RunIterations > 1)
        {
            CutRun(s);
        }
    }

    /// <summary>vLLM's <c>schedule()</c>: selects the step's requests and tokens, allocates their blocks, prices the step
    /// and schedules its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void StartStepVllm(InstanceState s)
    {
        VllmLimits v = s.Spec.Vllm!.Value;
        PagedKvCache cache = s.Cache!;
        IntList decodes = s.Batch, prefills = s.BatchPrompts, chunks = s.Chunks;
        decodes.Clear();
        prefills.Clear();
        chunks.Clear();
        int budget = v.MaxNumBatchedTokens;
        bool preempted = ScheduleRunning(s, v, cache, ref budget);
        if (!preempted)
        {
            ScheduleWaiting(s, v, cache, ref budget);
        }

        cache.NotePeak();

        int size = decodes.Count + prefills.Count;
        s.BatchTokens = v.MaxNumBatchedTokens - budget;
        Timeline?.OnIterationStart(_now, s.Index, size, s.BatchTokens, prefills.Count, cache.UsedBytes);
        if (size == 0)
        {
            s.Busy = false;
            return;
        }

        ScheduleStep(s, size, runAllowed: !preempted);
    }

    /// <summary>The running requests, in order, while the budget lasts; preempts from the back when blocks run out.
    /// True when a request was preempted.</summary>
    private bool ScheduleRunning(InstanceState s, in VllmLimits v, PagedKvCache cache, ref int budget)
    {
        RequestTable r = _r;
        IntList running = s.Running;
        bool preempted = false;
        int i = 0;
        while (i < running.Count && budget > 0)
        {
            int slot = running[i];
            BlockTables tables = TablesOn(s, slot);
            if (r.Cancelled[slot])
            {
                running.RemoveAt(i);
                tables.Free(slot, cache);
                Drop(s, slot);
                continue;
            }

            int known = r.Input[slot] + r.Generated[slot];
            int n = ChunkTokens(known - r.Computed[slot], v, budget);
            bool fits = true;
            while (cache.FreeBlocks < tables.BlocksNeeded(slot, (long)r.Computed[slot] + n))
            {
                int victim = running[^1];
                running.RemoveAt(running.Count - 1);
                Preempt(s, victim, cache);
                preempted = true;
                if (victim == slot)
                {
                    fits = false;
                    break;
                }
            }

            if (!fits)
            {
                break;
            }

            tables.Grow(slot, cache, (long)r.Computed[slot] + n, known);
            AddToStep(s, slot, n);
            budget -= n;
            i++;
        }

        return preempted;
    }

    /// <summary>Waiting requests FCFS while the budget, <c>max_num_seqs</c> and the free blocks allow, each starting
    /// from its cached prefix.</summary>
    private void ScheduleWaiting(InstanceState s, in VllmLimits v, PagedKvCache cache, ref int budget)
    {
        RequestTable r = _r;
        IntQueue waiting = s.Prompts;
        IntList running = s.Running;
        IntQueue received = s.Received;
        while (received.Count > 0 && budget > 0 && running.Count < v.MaxNumSeqs)
        {
            // P/D: its KV cache arrived from its prefill instance: it computes the prompt's last token (vLLM's decode
            // side recomputes it to sample the first token) and joins the running requests. Its blocks are allocated.
            int slot = received.Dequeue();
            if (r.Cancelled[slot])
            {
                DropWaiting(s, slot);
                continue;
            }

            int known = r.Input[slot] + r.Generated[slot];
            _decodeTables!.Grow(slot, cache, known, known); // caches the received blocks
            s.Admissions++;
            running.Add(slot);
            AddToStep(s, slot, ChunkTokens(known - r.Computed[slot], v, budget));
            budget--;
        }

        while (waiting.Count > 0 && budget > 0 && running.Count < v.MaxNumSeqs)
        {
            int slot = waiting.Peek();
            if (r.Cancelled[slot])
            {
                waiting.Dequeue();
                DropWaiting(s, slot);
                continue;
            }

            BlockTables tables = TablesOn(s, slot);
            int known = r.Input[slot] + r.Generated[slot];
            if (r.Transfer[slot] == RequestTable.TransferQueued)
            {
                if (!TryReceive(s, slot, cache))
                {
                    break;
                }

                waiting.Dequeue();
                continue;
            }

            int hits = tables.CountCachedPrefix(slot, cache, known, out int freeHits);
            int cached = hits * v.BlockSize;
            int n = ChunkTokens(known - cached, v, budget);
            int need = (int)((((long)cached + n + v.BlockSize - 1) / v.BlockSize) - hits) + freeHits;
            if (need > cache.FreeBlocks)
            {
                break;
            }

            waiting.Dequeue();
            tables.TakeCachedPrefix(slot, cache, hits);
            tables.Grow(slot, cache, (long)cached + n, known);
            r.Computed[slot] = cached;
            s.PrefixQueryTokens += known;
            s.PrefixHitTokens += cached;
            s.Admissions++;
            if (r.CachedTokens[slot] < 0)
            {
                r.CachedTokens[slot] = cached; // vLLM's num_cached_tokens: set when first scheduled
                r.PromptStart[slot] = _now;
                s.FirstAdmissions++;
                if (cached > 0)
                {
                    s.PrefixHitRequests++;
                }
            }

            running.Add(slot);
            AddToStep(s, slot, n);
            budget -= n;
        }
    }

    /// <summary>Tokens a request may compute this step: what it lacks, capped by the long-prefill threshold and the budget.</summary>
    private static int ChunkTokens(int lacking, in VllmLimits v, int budget)
    {
        int n = lacking;
        if (v.LongPrefillTokenThreshold > 0 && n > v.LongPrefillTokenThreshold)
        {
            n = v.LongPrefillTokenThreshold;
        }

        return Math.Min(n, budget);
    }

    private void AddToStep(InstanceState s, int slot, int tokens)
    {
        if (IsDecodeStep(slot, tokens))
        {
            s.Batch.Add(slot);
        }
        else
        {
            s.BatchPrompts.Add(slot);
            s.Chunks.Add(tokens);
        }
    }

    /// <summary>Preemption by recompute: the request's blocks are freed (cached ones stay in the cache), its computed
    /// tokens reset, and it goes back to the head of the waiting queue. Tokens it produced are kept.</summary>
    private void Preempt(InstanceState s, int slot, PagedKvCache cache)
    {
        TablesOn(s, slot).Free(slot, cache);
        _r.Computed[slot] = 0;
        _r.Preemptions[slot]++;
        s.Evictions++;
        s.Prompts.PushFront(slot);
    }

    /// <summary>Prices the step (scheduled tokens and the context they attend to) and schedules its end: one step, or
    /// a run of decode steps when nothing else can change before it ends.</summary>
    private void ScheduleStep(InstanceState s, int size, bool runAllowed)
    {
        RequestTable r = _r;
        IntList decodes = s.Batch, prefills = s.BatchPrompts, chunks = s.Chunks;
        int promptTokens = 0, prompts = 0, received = 0;
        long promptContext = 0, context = 0;
        double pairs = 0;
        for (int i = 0; i < prefills.Count; i++)
        {
            int slot = prefills[i], chunk = chunks[i], k = r.Computed[slot];
            if (r.Transfer[slot] == RequestTable.TransferReceived)
            {
                // A P/D request's last prompt token on its decode instance (its KV received): one token attending to
                // the prompt, which is what a decode is, priced as one.
                received++;
                context += r.Input[slot];
                continue;
            }

            prompts++;
            promptTokens += chunk;
            promptContext += k;
            pairs += (double)chunk * k;
        }

        int minRemaining = int.MaxValue;
        for (int i = 0; i < decodes.Count; i++)
        {
            int slot = decodes[i];
            context += r.Input[slot] + r.Generated[slot];
            minRemaining = Math.Min(minRemaining, r.Output[slot] - r.Generated[slot]);
        }

        if (size > s.PeakBatch)
        {
            s.PeakBatch = size;
        }

        var shape = new BatchShape(promptTokens, prompts, decodes.Count + received, context) { PromptContextTokens = promptContext, PromptContextPairs = pairs };
        long step = Math.Max(1, s.Spec.Performance.IterationNanoseconds(shape));
        // A step whose only "prefills" are received P/D requests' last prompt tokens is decode work (priced as decodes
        // above): token-phase time, at the GPU's token power.
        StartRun(s, step, prefills.Count == 0 && runAllowed ? DecodeRunLength(s, minRemaining) : 1, promptTime: prompts > 0);
    }

    /// <summary>Decode steps that can run as one event: at most <paramref name="minRemaining"/> (the first request to
    /// finish ends the run) and no more than the free blocks cover (the blocks the later steps need, checked by
    /// bisection: the need grows with the steps).</summary>
    private int DecodeRunLength(InstanceState s, int minRemaining)
    {
        if (minRemaining <= 1)
        {
            return 1;
        }

        int free = s.Cache!.FreeBlocks;
        if (BlocksForSteps(s, minRemaining) <= free)
        {
            return minRemaining;
        }

        int lo = 1, hi = minRemaining; // need(lo) <= free (the first step's blocks are allocated), need(hi) > free
        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            if (BlocksForSteps(s, mid) <= free)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>New blocks the decodes need over <paramref name="steps"/> steps beyond what they hold.</summary>
    private long BlocksForSteps(InstanceState s, int steps)
    {
        IntList decodes = s.Batch;
        long need = 0;
        for (int i = 0; i < decodes.Count; i++)
        {
            int slot = decodes[i];
            need += TablesOn(s, slot).BlocksNeeded(slot, (long)_r.Computed[slot] + steps);
        }

        return need;
    }

    /// <summary>The step (or run of decode steps) ended: tokens are computed, requests that caught up produce a token,
    /// finished ones free their blocks; then the next step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot: skip tier-0 JIT, a run is often shorter than tiering
    private void OnStepDoneVllm(InstanceState s)
    {
        long now = _now;
        int n = EndRun(s);
        IntList decodes = s.Batch, prefills = s.BatchPrompts, chunks = s.Chunks;
        RequestTable r = _r;
        PagedKvCache cache = s.Cache!;
        long firstEnd = s.RunStart + s.IterationNs;
        for (int i = 0; i < decodes.Count; i++)
        {
            int slot = decodes[i];
            if (r.Cancelled[slot])
            {
                DropRunning(s, slot, cache);
                continue;
            }

            r.Computed[slot] += n;
            AddDecodeTokens(s, slot, n, firstEnd);
            if (n > 1)
            {
                TablesOn(s, slot).Grow(slot, cache, r.Computed[slot], r.Computed[slot]); // the blocks of the run's later steps
            }

            _observer?.OnTokens(slot, r.Id[slot], r.Generated[slot], s.IterationNs);
            if (r.Generated[slot] >= r.Output[slot])
            {
                FinishVllm(s, slot, cache);
            }
        }

        for (int i = 0; i < prefills.Count; i++)
        {
            int slot = prefills[i];
            r.Computed[slot] += chunks[i];
            s.PromptTokensDone += chunks[i];
            if (r.Transfer[slot] == RequestTable.TransferReceived)
            {
                r.Transfer[slot] = RequestTable.TransferDone;
            }

            if (r.Cancelled[slot])
            {
                DropRunning(s, slot, cache);
                continue;
            }

            if (r.Computed[slot] < r.Input[slot] + r.Generated[slot])
            {
                continue; // a chunk of a longer prefill
            }

            if (r.Generated[slot] == 0)
            {
                if (r.TokenInstance[slot] != s.Index)
                {
                    SendToDecode(s, slot);
                    continue;
                }

                r.Generated[slot] = 1;
                r.FirstToken[slot] = now;
                r.Phase[slot] = RequestPhase.Decoding;
                if (r.PromptInstance[slot] == s.Index)
                {
                    _scheduler.OnPromptDone(s.Index, r.Input[slot]); // a P/D request's prompt was done on its prefill instance
                }
            }
            else
            {
                // The recompute of a preempted request caught up: it produces its next token.
                r.MaxGap[slot] = Math.Max(r.MaxGap[slot], now - r.LastToken[slot]);
                if (r.Generated[slot] == 1)
                {
                    r.SecondToken[slot] = now;
                }

                r.Generated[slot]++;
                s.DecodeTokensDone++;
            }

            r.LastToken[slot] = now;
            _observer?.OnTokens(slot, r.Id[slot], r.Generated[slot], s.IterationNs);
            if (r.Generated[slot] >= r.Output[slot])
            {
                FinishVllm(s, slot, cache);
            }
        }

        decodes.Clear();
        prefills.Clear();
        chunks.Clear();
        s.Busy = false;
        StartStepVllm(s);
    }

    private void FinishVllm(InstanceState s, int slot, PagedKvCache cache)
    {
        s.Running.Remove(slot);
        TablesOn(s, slot).Free(slot, cache);
        Finish(s, slot);
    }

    private void DropRunning(InstanceState s, int slot, PagedKvCache cache)
    {
        s.Running.Remove(slot);
        TablesOn(s, slot).Free(slot, cache);
        Drop(s, slot);
    }

    /// <summary>Drops a cancelled request from the head of a waiting queue; one that waited on its decode instance for
    /// blocks still held its prefill instance's, and one whose KV had arrived holds blocks here: both are freed too.</summary>
    private void DropWaiting(InstanceState s, int slot)
    {
        if (_r.Transfer[slot] == RequestTable.TransferReceived)
        {
            _decodeTables!.Free(slot, s.Cache!);
        }
        else if (_r.Transfer[slot] == RequestTable.TransferQueued)
        {
            // Inside this instance's step selection: the prefill instance steps after the current event, not now.
            LeaveQueued(slot, RequestTable.TransferNone);
            ReleasePrefillBlocks(slot, stepNow: false);
        }

        Drop(s, slot);
    }

    // ---- Phase-split (P/D) clusters of vLLM engines, as vLLM 0.11 runs them with a KV connector (NixlConnector, the
    // one llm-d and Dynamo deploy): a proxy sends the request to a prefill instance with max_tokens = 1; its prefill is
    // scheduled like any other (chunked, prefix-cached), and when it ends the request finishes there but its blocks are
    // kept (delay_free_blocks) until the decode instance has read them. The proxy then sends it to the decode
    // instance, whose scheduler takes it FCFS from its waiting queue, finds the blocks it has cached itself, allocates
    // blocks for the whole prompt (or waits, blocking the queue, while they do not fit) and pulls the rest over the
    // link (WAITING_FOR_REMOTE_KVS: no token budget, not running). When the KV has arrived the prefill instance frees
    // its blocks (they stay in its prefix cache), and the decode instance schedules the request with the prompt's last
    // token to compute: that step samples the first token the client sees (the prefill's token is discarded), so TTFT
    // includes the transfer. Later it decodes, and may be preempted by recompute, as any request. One deviation: a
    // request whose KV has arrived is scheduled before the waiting queue. In vLLM it stays where it waited, behind
    // requests preempted since; when those do not fit, the received one keeps its blocks without running and the
    // instance stops for good (running requests preempt themselves for blocks that only waiting ones hold).

    /// <summary>The prompt is done on its prefill instance: the request goes to its decode instance's waiting queue;
    /// its blocks here stay held until its KV has been read.</summary>
    private void SendToDecode(InstanceState s, int slot)
    {
        RequestTable r = _r;
        s.Running.Remove(slot);
        r.PromptEnd[slot] = _now;
        r.Phase[slot] = RequestPhase.WaitingToken;
        _scheduler.OnPromptDone(s.Index, r.Input[slot]);
        InstanceState to = _instances[r.TokenInstance[slot]];
        _decodeTables!.StartFrom(slot, r.Input[slot], _tables!);
        r.Computed[slot] = 0;
        r.Transfer[slot] = RequestTable.TransferQueued;
        to.Assigned++;
        to.Prompts.Enqueue(slot);
        _sends.Enqueue((slot, _now));
        _queuedSends++;
        if (!_sendTimerSet)
        {
            ScheduleSendTimer();
        }

        VllmWorkArrived(to);
    }

    private bool IsQueuedSend((int Slot, long At) e) =>
        _r.Phase[e.Slot] != RequestPhase.Free && _r.Transfer[e.Slot] == RequestTable.TransferQueued && _r.PromptEnd[e.Slot] == e.At;

    /// <summary>Times the oldest send still queued (sends received since are dropped from the head).</summary>
    private void ScheduleSendTimer()
    {
        while (!IsQueuedSend(_sends.Peek()))
        {
            _sends.Dequeue();
        }

        long due = _sends.Peek().At + SendTimeoutNs;
        Schedule((due + SendTimeoutTickNs - 1) / SendTimeoutTickNs * SendTimeoutTickNs, EventKind.SendTimeout, 0, ++_sendTimerVersion);
        _sendTimerSet = true;
    }

    /// <summary>A queued send was taken by its decode instance, timed out or dropped.</summary>
    private void LeaveQueued(int slot, byte transfer)
    {
        _r.Transfer[slot] = transfer;
        if (--_queuedSends == 0)
        {
            _sendTimerVersion++; // the pending timer is stale
            _sendTimerSet = false;
        }
    }

    private bool IsStaleTimer(in Event ev) => ev.Kind == EventKind.SendTimeout && ev.Version != _sendTimerVersion;

    /// <summary>Prompts whose KV nobody read within the timeout: their prefill instances free the blocks (NixlConnector's
    /// abort timeout), and their decode instances, when they take them, compute the prompt themselves.</summary>
    private void OnSendTimeout()
    {
        _sendTimerSet = false;
        while (_sends.TryPeek(out (int Slot, long At) e) && e.At + SendTimeoutNs <= _now)
        {
            _sends.Dequeue();
            if (IsQueuedSend(e))
            {
                LeaveQueued(e.Slot, RequestTable.TransferNone);
                _instances[_r.PromptInstance[e.Slot]].KvSendTimeouts++;
                ReleasePrefillBlocks(e.Slot, stepNow: true);
            }
        }

        if (_queuedSends > 0)
        {
            ScheduleSendTimer();
        }
    }

    /// <summary>The decode instance takes the request at the head of its waiting queue when blocks for its whole
    /// prompt fit (its own cached prefix reused): they are allocated, not yet cached, and the rest of the KV is pulled
    /// from the prefill instance. False when they do not fit: the request waits at the head.</summary>
    private bool TryReceive(InstanceState s, int slot, PagedKvCache cache)
    {
        RequestTable r = _r;
        BlockTables tables = _decodeTables!;
        int input = r.Input[slot], blockSize = tables.BlockSize;
        int hits = tables.CountCachedPrefix(slot, cache, input, out int freeHits);
        int need = (int)((((long)input + blockSize - 1) / blockSize) - hits) + freeHits;
        if (need > cache.FreeBlocks)
        {
            return false;
        }

        int local = tables.TakeCachedPrefix(slot, cache, hits);
        tables.Grow(slot, cache, input, local); // allocated for the whole prompt; cached only once the KV has arrived
        LeaveQueued(slot, RequestTable.TransferInFlight);
        s.KvReceives++;
        s.KvReceivedTokens += input - local;
        s.KvLocalHitTokens += local;
        int from = r.PromptInstance[slot];
        if (_kv is null || _kv.SameMachine(from, s.Index))
        {
            Schedule(_now, EventKind.KvReady, slot, 0); // on one machine the KV does not cross a link
        }
        else
        {
            _kv.StartSerialized(slot, from, s.Index, input - local, _now);
            RescheduleKv();
        }

        return true;
    }

    /// <summary>The request's KV cache is on its decode instance: the prefill instance frees its blocks, and the request
    /// waits for the decode instance's next step to compute the prompt's last token.</summary>
    private void OnKvReceived(int slot)
    {
        RequestTable r = _r;
        r.Transfer[slot] = RequestTable.TransferDone;
        r.KvArrived[slot] = _now;
        ReleasePrefillBlocks(slot, stepNow: true);
        InstanceState to = _instances[r.TokenInstance[slot]];
        if (r.Cancelled[slot])
        {
            _decodeTables!.Free(slot, to.Cache!);
            Drop(to, slot);
            if (!to.Busy)
            {
                StartStepVllm(to);
            }

            return;
        }

        r.Transfer[slot] = RequestTable.TransferReceived;
        r.Computed[slot] = r.Input[slot] - 1;
        to.Received.Enqueue(slot);
        VllmWorkArrived(to);
    }

    /// <summary>The prefill instance frees a P/D request's blocks (they stay in its prefix cache) and steps if it was
    /// idle, now or after the current event: a prefill may have waited for them.</summary>
    private void ReleasePrefillBlocks(int slot, bool stepNow)
    {
        InstanceState p = _instances[_r.PromptInstance[slot]];
        _tables!.Free(slot, p.Cache!);
        if (stepNow)
        {
            if (!p.Busy)
            {
                StartStepVllm(p);
            }
        }
        else
        {
            _idleSteps.Add(p.Index);
            _retryPending = true;
        }
    }

    private void StepIdleInstances()
    {
        for (int i = 0; i < _idleSteps.Count; i++)
        {
            InstanceState p = _instances[_idleSteps[i]];
            if (!p.Busy)
            {
                StartStepVllm(p);
            }
        }

        _idleSteps.Clear();
    }
}
