using System.Runtime.CompilerServices;

namespace Splitwise.Simulation;

/// <summary>
/// SplitwiseSim's <c>pending_queue</c> of one instance: tasks (<c>slot × 2</c> for a prompt task, <c>+ 1</c> for a
/// token task) kept with <c>bisect.insort(..., key=(num_preemptions, arrival))</c>. The key is evaluated on the
/// entries' <em>current</em> preemption counts while the list is ordered by the counts they had when inserted, so the
/// list is not sorted by any one key; the binary search below is CPython's <c>bisect_right</c>, step for step.
/// </summary>
/// <remarks>Insert and remove are O(count) (array shifts), as in SplitwiseSim.</remarks>
internal sealed class SimPendingQueue
{
    private int[] _tasks = new int[16];

    public int Count { get; private set; }

    public int this[int i] => _tasks[i];

    public void Insert(int task, RequestTable r)
    {
        int slot = task >> 1;
        int pre = Simulator.SimPreemptions(r, task);
        long arrival = r.Arrival[slot];
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            int other = _tasks[mid];
            int otherPre = Simulator.SimPreemptions(r, other);
            long otherArrival = r.Arrival[other >> 1];
            if (pre < otherPre || (pre == otherPre && arrival < otherArrival))
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        if (Count == _tasks.Length)
        {
            Array.Resize(ref _tasks, _tasks.Length * 2);
        }

        Array.Copy(_tasks, lo, _tasks, lo + 1, Count - lo);
        _tasks[lo] = task;
        Count++;
    }

    public void Remove(int task)
    {
        int i = Array.IndexOf(_tasks, task, 0, Count);
        if (i >= 0)
        {
            Count--;
            Array.Copy(_tasks, i + 1, _tasks, i, Count - i);
        }
    }
}

/// <summary>
/// SplitwiseSim's own rules (<c>--splitwise-sim</c>), reproduced from its source (commit 8f99e7d) quirks included, so
/// that the same inputs give its numbers: the machine-level scheduler of <c>instance.py</c>'s
/// <c>SplitwiseInstance</c> and, for Splitwise designs, the KV transfer of <c>scheduler.py</c>'s
/// <c>KVScheduler.add_kv_cache_transfer</c>, <c>flow.py</c> and <c>interconnect.py</c>'s <c>Link</c>/<c>DummyLink</c>.
/// The event core, the performance model and the recorder are the engine's own.
/// </summary>
public sealed partial class Simulator
{
    /// <summary>SplitwiseSim ships each KV cache over its own <c>DummyLink</c> of <c>transfer_bandwidth: 200</c>
    /// (× 1024³ B/s, <c>mixed_pool.yml</c>), never contended.</summary>
    private const double SimTransferBytesPerSecond = 200.0 * 1024 * 1024 * 1024;

    /// <summary><c>Link.retry_delay</c>: a flow whose destination memory is full retries after 1 s.</summary>
    private const long SimFlowRetryNs = 1_000_000_000;

    private readonly bool _sim;
    private int _batchStamp;

    /// <summary>Tasks in the instance's SplitwiseSim <c>pending_queue</c> (queued prompts, queued and preempted
    /// token tasks); under the engine's own rules, queued prompts plus decodes waiting or evicted.</summary>
    public int PendingTasks(int i)
    {
        InstanceState s = _instances[i];
        return _sim ? s.SimPending.Count : s.Prompts.Count + s.Blocked.Count + s.Waiting.Count;
    }

    internal static int SimPreemptions(RequestTable r, int task) =>
        (task & 1) == 0 ? r.PromptPreemptions[task >> 1] : r.Preemptions[task >> 1];

    private static int PromptTask(int slot) => slot << 1;

    private static int TokenTask(int slot) => (slot << 1) | 1;

    private static bool IsTokenTask(int task) => (task & 1) != 0;

    /// <summary><c>PromptTask.memory</c> is prompt + 1 tokens of KV; <c>TokenTask.memory</c> its
    /// <c>token_size</c> = output − 1 tokens.</summary>
    private long SimTaskMemory(InstanceState s, int task)
    {
        int slot = task >> 1;
        return (IsTokenTask(task) ? _r.Output[slot] - 1L : _r.Input[slot] + 1L) * s.Spec.KvBytesPerToken;
    }

    private int SimTokensPerIteration(int task) => IsTokenTask(task) ? 1 : _r.Input[task >> 1];

    /// <summary>The request's first task on this instance (<c>request_tasks[request][0]</c>): its prompt until the
    /// prompt completes, then its token task.</summary>
    private int SimFirstTask(int slot) =>
        _r.Phase[slot] is RequestPhase.QueuedPrompt or RequestPhase.Prompting ? PromptTask(slot) : TokenTask(slot);

    /// <summary>An arriving request (SplitwiseSim submits the token task with the prompt when both run on one
    /// instance: <c>prompt_task.chain = [token_task]</c>).</summary>
    private void SimArrive(InstanceState p, InstanceState t, int slot)
    {
        SimTaskArrival(p, PromptTask(slot), newRequest: true);
        if (p == t)
        {
            SimTaskArrival(p, TokenTask(slot), newRequest: false);
        }
    }

    /// <summary><c>SplitwiseInstance.task_arrival</c>: the task joins the pool and pending queue; an idle instance
    /// starts an iteration unless this task's memory does not fit; a busy one cuts its decode run when the task could
    /// join the next batch, or when it is a prompt that could preempt decodes.</summary>
    private void SimTaskArrival(InstanceState s, int task, bool newRequest)
    {
        int slot = task >> 1;
        if (newRequest)
        {
            SimPoolInsert(s, slot);
        }

        s.SimPending.Insert(task, _r);
        if (!IsTokenTask(task))
        {
            s.SimPrompts.Add(slot);
        }

        if (!s.Busy)
        {
            if (s.KvUsed + SimTaskMemory(s, task) > s.Spec.KvCapacityBytes)
            {
                return; // "if instance is blocked due to memory constraints, do nothing"
            }

            StartIterationSim(s);
            return;
        }

        BatchLimits limits = s.Spec.Limits;
        int count = s.Batch.Count + s.BatchPrompts.Count;
        int tokens = SimTokensPerIteration(task);
        if (count < limits.MaxBatchRequests && s.BatchTokens + tokens <= limits.MaxBatchTokens)
        {
            SimPause(s);
            return;
        }

        if (!IsTokenTask(task))
        {
            int batchPromptTokens = s.BatchTokens - s.Batch.Count;
            if (s.BatchPrompts.Count < count && batchPromptTokens + tokens <= limits.MaxBatchTokens)
            {
                SimPause(s); // preempt_iteration
            }
        }
    }

    /// <summary><c>ORCAInstance.pause_iteration</c>: a decode-only run ends at its next iteration boundary.</summary>
    private void SimPause(InstanceState s)
    {
        if (s.BatchPrompts.Count == 0)
        {
            CutRun(s);
        }
    }

    /// <summary><c>bisect.insort(pending_requests, request, key=arrival)</c>: after requests of equal arrival.</summary>
    private void SimPoolInsert(InstanceState s, int slot)
    {
        IntList pool = s.SimPool;
        long arrival = _r.Arrival[slot];
        int lo = 0, hi = pool.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (arrival < _r.Arrival[pool[mid]])
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        pool.Insert(lo, slot);
    }

    /// <summary>
    /// <c>SplitwiseInstance.select_batch</c> then <c>ORCAInstance.start_iteration</c>: (1) tasks at the head of the
    /// pending queue while preempted at least <c>max_preemptions</c> times, (2) queued prompts FCFS, (3) preempted
    /// decodes, (4) the running decodes, (5) the pool in arrival order (its first task each), stopping at the first
    /// task that does not fit; running decodes left out are preempted (they keep their memory); then every request in
    /// the pool whose first task is not in the batch counts one more preemption.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StartIterationSim(InstanceState s)
    {
        BatchLimits limits = s.Spec.Limits;
        int maxReq = limits.MaxBatchRequests, maxTok = limits.MaxBatchTokens, maxPre = limits.MaxPreemptions;
        long capacity = s.Spec.KvCapacityBytes;
        RequestTable r = _r;
        int stamp = ++_batchStamp;
        int size = 0, tokens = 0;
        long memory = s.KvUsed;
        IntList added = s.Scratch; // tasks joining the batch, in selection order
        added.Clear();

        // 1. Tasks preempted too many times, from the head of the pending queue; stops at the first under the limit.
        SimPendingQueue pending = s.SimPending;
        for (int i = 0; i < pending.Count; i++)
        {
            int task = pending[i];
            int slot = task >> 1;
            if (SimPreemptions(r, task) < maxPre)
            {
                break;
            }

            int tpi = SimTokensPerIteration(task);
            if (size == maxReq || (size > 0 && tokens + tpi > maxTok))
            {
                break;
            }

            if (r.BatchStamp[slot] == stamp || (IsTokenTask(task) && r.Phase[slot] is RequestPhase.QueuedPrompt))
            {
                continue; // the request is in the batch already (or, with max_preemptions 0, its prompt is not done)
            }

            if (IsTokenTask(task) && r.Phase[slot] == RequestPhase.Blocked)
            {
                Take(task, tpi);
            }
            else if (SimTaskMemory(s, task) + memory <= capacity)
            {
                memory += SimTaskMemory(s, task);
                Take(task, tpi);
            }
        }

        // 2. Queued prompts, FCFS.
        IntList prompts = s.SimPrompts;
        for (int i = 0; i < prompts.Count; i++)
        {
            int slot = prompts[i];
            int p = r.Input[slot];
            if (size == maxReq || (size > 0 && tokens + p > maxTok))
            {
                break;
            }

            if (r.BatchStamp[slot] == stamp)
            {
                continue;
            }

            long need = SimTaskMemory(s, PromptTask(slot));
            if (need + memory > capacity)
            {
                break;
            }

            memory += need;
            Take(PromptTask(slot), p);
        }

        // 3. Preempted decodes, in preemption order.
        IntList blocked = s.Blocked;
        for (int i = 0; i < blocked.Count; i++)
        {
            int slot = blocked[i];
            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                break;
            }

            if (r.BatchStamp[slot] != stamp)
            {
                Take(TokenTask(slot), 1);
            }
        }

        // 4. The running decodes, in the order they joined the batch.
        IntList batch = s.Batch;
        for (int i = 0; i < batch.Count; i++)
        {
            int slot = batch[i];
            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                break;
            }

            if (r.BatchStamp[slot] != stamp)
            {
                r.BatchStamp[slot] = stamp;
                size++;
                tokens++;
            }
        }

        // 5. The pool in arrival order, each request's first task here; stops at the first that does not fit (a
        // queued prompt over the token limit stops it too, so later waiting decodes wait).
        IntList pool = s.SimPool;
        for (int i = 0; i < pool.Count; i++)
        {
            if (size == maxReq)
            {
                break;
            }

            int slot = pool[i];
            if (r.BatchStamp[slot] == stamp)
            {
                continue;
            }

            int task = SimFirstTask(slot);
            int tpi = SimTokensPerIteration(task);
            if (size > 0 && tokens + tpi > maxTok)
            {
                break;
            }

            if (IsTokenTask(task) && r.Phase[slot] == RequestPhase.Blocked)
            {
                Take(task, tpi);
                continue;
            }

            long need = SimTaskMemory(s, task);
            if (need + memory > capacity)
            {
                break;
            }

            memory += need;
            Take(task, tpi);
        }

        // Running decodes left out are preempted: back into the pending queue (keyed by their count now) before the
        // new tasks leave it, as start_iteration does.
        int kept = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            int slot = batch[i];
            if (r.BatchStamp[slot] == stamp)
            {
                batch[kept++] = slot;
            }
            else
            {
                r.Phase[slot] = RequestPhase.Blocked;
                blocked.Add(slot);
                pending.Insert(TokenTask(slot), r);
                s.Evictions++;
            }
        }

        batch.Truncate(kept);

        // The new tasks leave the queues and join the batch (after the decodes already running).
        IntList batchPrompts = s.BatchPrompts;
        long kvPerToken = s.Spec.KvBytesPerToken;
        for (int i = 0; i < added.Count; i++)
        {
            int task = added[i];
            int slot = task >> 1;
            pending.Remove(task);
            if (!IsTokenTask(task))
            {
                prompts.Remove(slot);
                long need = (r.Input[slot] + 1L) * kvPerToken;
                s.KvUsed += need;
                r.KvBytes[slot] += need;
                r.Phase[slot] = RequestPhase.Prompting;
                r.PromptStart[slot] = _now;
                batchPrompts.Add(slot);
                continue;
            }

            if (r.Phase[slot] == RequestPhase.Blocked)
            {
                blocked.Remove(slot); // run_after_preempt: its memory was kept
            }
            else
            {
                long need = (r.Output[slot] - 1L) * kvPerToken; // TokenTask.run allocates token_size tokens
                s.KvUsed += need;
                r.KvBytes[slot] += need;
                r.TokenStart[slot] = _now;
            }

            r.Phase[slot] = RequestPhase.Decoding;
            batch.Add(slot);
        }

        // Every request here whose first task is not in the batch counts a preemption (queued prompts too).
        for (int i = 0; i < pool.Count; i++)
        {
            int slot = pool[i];
            if (r.BatchStamp[slot] != stamp)
            {
                if (r.Phase[slot] is RequestPhase.QueuedPrompt)
                {
                    r.PromptPreemptions[slot]++;
                }
                else
                {
                    r.Preemptions[slot]++;
                }
            }
        }

        if (s.KvUsed > s.KvPeak)
        {
            s.KvPeak = s.KvUsed;
        }

        s.BatchTokens = tokens;
        Timeline?.OnIterationStart(_now, s.Index, size, tokens, batchPrompts.Count, s.KvUsed);
        if (size == 0)
        {
            s.Busy = false;
            if (pool.Count == 0)
            {
                _scheduler.OnInstanceIdle(s.Index);
            }

            return;
        }

        ScheduleIteration(s, size);

        void Take(int task, int tpi)
        {
            r.BatchStamp[task >> 1] = stamp;
            added.Add(task);
            size++;
            tokens += tpi;
        }
    }

    /// <summary>The prompt of a request decoding elsewhere completed: its KV cache flow is submitted
    /// (<c>Link.flow_arrival</c>).</summary>
    private void SimFlowArrival(int slot)
    {
        InstanceState to = _instances[_r.TokenInstance[slot]];
        long need = (_r.Input[slot] + 1L) * to.Spec.KvBytesPerToken; // request.memory: the prompt task's
        if (to.KvUsed + need > to.Spec.KvCapacityBytes)
        {
            Schedule(_now + SimFlowRetryNs, EventKind.SimFlowRetry, slot, 0); // Link.retry_flow, every retry_delay
            return;
        }

        // Flow.run allocates the request's memory on the destination; the duration is size / bandwidth.
        to.KvUsed += need;
        if (to.KvUsed > to.KvPeak)
        {
            to.KvPeak = to.KvUsed;
        }

        _r.KvDest[slot] = need;
        _r.Transfer[slot] = RequestTable.TransferInFlight;
        InstanceState from = _instances[_r.PromptInstance[slot]];
        double bytes = (double)_r.Input[slot] * from.Spec.KvBytesPerToken; // estimate_kv_cache_size(prompt_size)
        long duration = Math.Max(1, (long)Math.Round(bytes / SimTransferBytesPerSecond * 1e9));
        Schedule(_now + duration, EventKind.SimFlowDone, slot, 0);
    }

    /// <summary><c>Link.flow_completion</c>: the source frees the request's memory (and the scheduler's view of it),
    /// the token task arrives on the destination, and the source is notified.</summary>
    private void OnSimFlowDone(int slot)
    {
        InstanceState from = _instances[_r.PromptInstance[slot]];
        InstanceState to = _instances[_r.TokenInstance[slot]];
        from.KvUsed -= _r.KvBytes[slot];
        _scheduler.OnTransferDone(from.Index, _r.Input[slot]);
        _r.KvBytes[slot] = _r.KvDest[slot];
        _r.KvDest[slot] = 0;
        _r.KvArrived[slot] = _now;
        _r.Transfer[slot] = RequestTable.TransferDone;
        to.Assigned++;
        SimTaskArrival(to, TokenTask(slot), newRequest: true);

        // notify_flow_completion on the source.
        if (from.SimPending.Count == 0)
        {
            return;
        }

        if (!from.Busy)
        {
            if (from.KvUsed + SimTaskMemory(from, from.SimPending[0]) <= from.Spec.KvCapacityBytes)
            {
                StartIterationSim(from);
            }

            return;
        }

        BatchLimits limits = from.Spec.Limits;
        if (from.Batch.Count + from.BatchPrompts.Count < limits.MaxBatchRequests && from.BatchTokens < limits.MaxBatchTokens)
        {
            SimPause(from);
        }
    }
}
