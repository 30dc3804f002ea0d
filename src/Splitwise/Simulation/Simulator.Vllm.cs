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
/// is exactly the steps vLLM would take. Cluster level: colocated (baseline) clusters.</para>
/// </remarks>
public sealed partial class Simulator
{
    private readonly bool _vllm;
    private readonly BlockTables? _tables;

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

        s.KvUsed = cache.UsedBlocks * v.BlockBytes;
        if (s.KvUsed > s.KvPeak)
        {
            s.KvPeak = s.KvUsed;
        }

        int size = decodes.Count + prefills.Count;
        s.BatchTokens = v.MaxNumBatchedTokens - budget;
        Timeline?.OnIterationStart(_now, s.Index, size, s.BatchTokens, prefills.Count, s.KvUsed);
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
        BlockTables tables = _tables!;
        IntList running = s.Running;
        bool preempted = false;
        int i = 0;
        while (i < running.Count && budget > 0)
        {
            int slot = running[i];
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
        BlockTables tables = _tables!;
        IntQueue waiting = s.Prompts;
        IntList running = s.Running;
        while (waiting.Count > 0 && budget > 0 && running.Count < v.MaxNumSeqs)
        {
            int slot = waiting.Peek();
            if (r.Cancelled[slot])
            {
                waiting.Dequeue();
                Drop(s, slot);
                continue;
            }

            int known = r.Input[slot] + r.Generated[slot];
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
        _tables!.Free(slot, cache);
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
        int promptTokens = 0;
        long promptContext = 0;
        double pairs = 0;
        for (int i = 0; i < prefills.Count; i++)
        {
            int slot = prefills[i], chunk = chunks[i], k = r.Computed[slot];
            promptTokens += chunk;
            promptContext += k;
            pairs += (double)chunk * k;
        }

        long context = 0;
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

        var shape = new BatchShape(promptTokens, prefills.Count, decodes.Count, context) { PromptContextTokens = promptContext, PromptContextPairs = pairs };
        long step = Math.Max(1, s.Spec.Performance.IterationNanoseconds(shape));
        StartRun(s, step, prefills.Count == 0 && runAllowed ? DecodeRunLength(s, minRemaining) : 1);
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
        BlockTables tables = _tables!;
        IntList decodes = s.Batch;
        long need = 0;
        for (int i = 0; i < decodes.Count; i++)
        {
            int slot = decodes[i];
            need += tables.BlocksNeeded(slot, (long)_r.Computed[slot] + steps);
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
        BlockTables tables = _tables!;
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
                tables.Grow(slot, cache, r.Computed[slot], r.Computed[slot]); // the blocks of the run's later steps
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
                r.Generated[slot] = 1;
                r.FirstToken[slot] = now;
                r.Phase[slot] = RequestPhase.Decoding;
                _scheduler.OnPromptDone(s.Index, r.Input[slot]);
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
        _tables!.Free(slot, cache);
        Finish(s, slot);
    }

    private void DropRunning(InstanceState s, int slot, PagedKvCache cache)
    {
        s.Running.Remove(slot);
        _tables!.Free(slot, cache);
        Drop(s, slot);
    }
}
