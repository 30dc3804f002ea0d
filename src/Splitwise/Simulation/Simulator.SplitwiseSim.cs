using System.Runtime.CompilerServices;
using Splitwise.Simulation.Memory;

namespace Splitwise.Simulation;

/// <summary>
/// SplitwiseSim's <c>pending_queue</c> of one instance: tasks (<c>slot × 2</c> for a prompt task, <c>+ 1</c> for a
/// token task) kept with <c>bisect.insort(..., key=(num_preemptions, arrival))</c>. The key is evaluated on the
/// entries' <em>current</em> preemption counts while the list is ordered by the counts they had when inserted, so the
/// list is not sorted by any one key; the binary search below is CPython's <c>bisect_right</c>, step for step. Counts
/// are read on the instance's selection clock (<see cref="InstanceState.SimSelections"/>).
/// </summary>
/// <remarks>Insert and remove are O(count) (array shifts), as in SplitwiseSim, except that tasks leaving from the
/// head move its start instead.</remarks>
internal sealed class SimPendingQueue
{
    private int[] _tasks = new int[16];
    private int _start; // the head: tasks taken from the head leave by moving it, without a shift

    public int Count { get; private set; }

    public int this[int i] => _tasks[_start + i];

    public ReadOnlySpan<int> AsSpan() => new(_tasks, _start, Count);

    public void Insert(int task, RequestTable r, int selections)
    {
        int pre = Simulator.SimPreemptions(r, task, selections);
        int lo = Search(pre, r.Arrival[task >> 1], r, selections);
        Span<int> tasks = Reserve(1);
        tasks[lo..Count].CopyTo(tasks[(lo + 1)..]);
        tasks[lo] = task;
        Count++;
    }

    /// <summary>A new request's prompt task then its token task, both of one arrival time: <see cref="Insert"/> twice
    /// (the second search sees the first task in place), with one shift of the tail.</summary>
    public void InsertPair(int promptTask, int tokenTask, RequestTable r, int selections)
    {
        long arrival = r.Arrival[promptTask >> 1];
        int prePrompt = Simulator.SimPreemptions(r, promptTask, selections);
        int preToken = Simulator.SimPreemptions(r, tokenTask, selections);
        int a = Search(prePrompt, arrival, r, selections);

        // bisect_right over the list with the prompt task at a.
        int lo = 0, hi = Count + 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            int otherPre;
            long otherArrival;
            if (mid == a)
            {
                otherPre = prePrompt;
                otherArrival = arrival;
            }
            else
            {
                int other = _tasks[_start + (mid < a ? mid : mid - 1)];
                otherPre = Simulator.SimPreemptions(r, other, selections);
                otherArrival = r.Arrival[other >> 1];
            }

            if (preToken < otherPre || (preToken == otherPre && arrival < otherArrival))
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        Span<int> tasks = Reserve(2);
        int n = Count, b = lo;
        if (b > a)
        {
            // old [0, a) · prompt · old [a, b − 1) · token · old [b − 1, n)
            tasks[(b - 1)..n].CopyTo(tasks[(b + 1)..]);
            tasks[a..(b - 1)].CopyTo(tasks[(a + 1)..]);
            tasks[a] = promptTask;
            tasks[b] = tokenTask;
        }
        else
        {
            // old [0, b) · token · old [b, a) · prompt · old [a, n)
            tasks[a..n].CopyTo(tasks[(a + 2)..]);
            tasks[b..a].CopyTo(tasks[(b + 1)..]);
            tasks[b] = tokenTask;
            tasks[a + 1] = promptTask;
        }

        Count = n + 2;
    }

    /// <summary>Room for <paramref name="extra"/> more tasks after the last: the live tasks and that room.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<int> Reserve(int extra)
    {
        if (_start + Count + extra > _tasks.Length)
        {
            Compact(extra);
        }

        return new Span<int>(_tasks, _start, Count + extra);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Compact(int extra)
    {
        int[] tasks = Count + extra > _tasks.Length ? new int[_tasks.Length * 2] : _tasks;
        _tasks.AsSpan(_start, Count).CopyTo(tasks);
        _tasks = tasks;
        _start = 0;
    }

    /// <summary>CPython's <c>bisect_right</c> of the key (<paramref name="pre"/>, <paramref name="arrival"/>).</summary>
    private int Search(int pre, long arrival, RequestTable r, int selections)
    {
        ReadOnlySpan<int> tasks = AsSpan();
        long[] arrivals = r.Arrival;
        int lo = 0, hi = tasks.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            int other = tasks[mid];
            int otherPre = Simulator.SimPreemptions(r, other, selections);
            long otherArrival = arrivals[other >> 1];
            if (pre < otherPre || (pre == otherPre && arrival < otherArrival))
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    /// <summary>Removes the <paramref name="count"/> tasks a batch selection just took (a prompt task whose request is
    /// now prompting, a token task whose request is now decoding), keeping the order of the rest: what removing each
    /// one would give, in one pass that stops at the last of them (no shift when they were the first ones).</summary>
    public void RemoveTaken(RequestTable r, int count)
    {
        Span<int> tasks = _tasks.AsSpan(_start, Count);
        RequestPhase[] phases = r.Phase;
        int kept = 0, i = 0;
        for (; i < tasks.Length && count > 0; i++)
        {
            int task = tasks[i];
            RequestPhase phase = phases[task >> 1];
            if ((task & 1) == 0 ? phase == RequestPhase.Prompting : phase == RequestPhase.Decoding)
            {
                count--;
                continue;
            }

            tasks[kept++] = task;
        }

        if (kept == 0)
        {
            _start += i;
        }
        else if (kept < i)
        {
            tasks[i..].CopyTo(tasks[kept..]);
        }

        Count = kept + (tasks.Length - i);
        if (Count == 0)
        {
            _start = 0;
        }
    }

    public void Remove(int task)
    {
        Span<int> tasks = _tasks.AsSpan(_start, Count);
        int i = tasks.IndexOf(task);
        if (i == 0)
        {
            _start++;
            Count--;
        }
        else if (i > 0)
        {
            tasks[(i + 1)..].CopyTo(tasks[i..]);
            Count--;
        }

        if (Count == 0)
        {
            _start = 0;
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

    /// <summary>SplitwiseSim's machine-level scheduler (<c>--splitwise-sim</c>): <c>SplitwiseInstance</c>'s
    /// <c>task_arrival</c> and <c>select_batch</c>, its pending queue and preemption counts.</summary>
    private readonly struct SplitwiseSimBatches : IBatchPolicy
    {
        public static void Arrive(Simulator engine, InstanceState prompt, InstanceState token, int slot, ReadOnlySpan<long> chain) =>
            engine.SimArrive(prompt, token, slot);

        public static void IterationDone(Simulator engine, InstanceState instance) => engine.OnIterationDone<SplitwiseSimBatches>(instance);

        public static void StartIteration(Simulator engine, InstanceState instance) => engine.StartIterationSim(instance);
    }
    private int _batchStamp;
    private int[]? _recount; // tests only (CheckPreemptionCounts): SplitwiseSim's counts, task by task, counted its way

    /// <summary>Tasks in the instance's SplitwiseSim <c>pending_queue</c> (queued prompts, queued and preempted
    /// token tasks); under the engine's own rules, queued prompts plus decodes waiting or evicted.</summary>
    public int PendingTasks(int i)
    {
        InstanceState s = _instances[i];
        return _sim ? s.SimPending.Count : s.Prompts.Count + s.Blocked.Count + s.Waiting.Count;
    }

    /// <summary>
    /// The task's <c>num_preemptions</c> now, on the selection clock <paramref name="selections"/> of the instance
    /// whose pool holds it. SplitwiseSim adds one to the first task of every pool request left out of a batch, at every
    /// selection; here a waiting task's counter keeps its count from when it began waiting, and the selections since
    /// (<see cref="RequestTable.PendingSince"/>) are added when it is read, so a selection costs nothing per waiting
    /// request. A prompt task waits while queued; a token task while its prompt is done and it is not decoding.
    /// </summary>
    /// <remarks>For a task in a pending queue (a token task there is in its instance's pool); the end of a run settles
    /// every request with <see cref="SimTokenWaiting"/>, which also knows the token tasks still in flight.</remarks>
    internal static int SimPreemptions(RequestTable r, int task, int selections)
    {
        int slot = task >> 1;
        int count = (task & 1) == 0 ? r.PromptPreemptions[slot] : r.Preemptions[slot];
        return ((WaitingPhases >> (((int)r.Phase[slot] << 1) | (task & 1))) & 1) != 0 ? count + (selections - r.PendingSince[slot]) : count;
    }

    /// <summary>Bit <c>phase × 2 + (token task ? 1 : 0)</c> is set when a task of a request in that phase is
    /// waiting in its pool: a queued prompt, a token task waiting or preempted.</summary>
    private const int WaitingPhases = (1 << ((int)RequestPhase.QueuedPrompt << 1))
        | (1 << (((int)RequestPhase.WaitingToken << 1) | 1))
        | (1 << (((int)RequestPhase.Blocked << 1) | 1));

    /// <summary>The request's token task is in its token instance's pool and out of the batch: preempted, or its prompt
    /// done there or its KV cache arrived there (not while the flow is under way or retrying).</summary>
    private static bool SimTokenWaiting(RequestTable r, int slot) =>
        r.Phase[slot] == RequestPhase.Blocked
        || (r.Phase[slot] == RequestPhase.WaitingToken
            && (r.PromptInstance[slot] == r.TokenInstance[slot] || r.Transfer[slot] == RequestTable.TransferDone));

    /// <summary>Tests only: also count preemptions as SplitwiseSim does (one more for the first task of every request
    /// left out of each selection) and check every count in the instance's pool against it after each selection;
    /// a difference throws.</summary>
    internal bool CheckPreemptionCounts
    {
        get => _recount is not null;
        init => _recount = value ? [] : null;
    }

    /// <summary>Tests only (<see cref="CheckPreemptionCounts"/>): SplitwiseSim's count of the request's prompt task or
    /// token task, counted its way.</summary>
    internal int RecountedPreemptions(int slot, bool tokenTask)
    {
        int task = tokenTask ? TokenTask(slot) : PromptTask(slot);
        return task < _recount!.Length ? _recount[task] : 0;
    }

    private void RecountPreemptions(InstanceState s, int stamp)
    {
        RequestTable r = _r;
        if (_recount!.Length < 2 * r.Capacity)
        {
            Array.Resize(ref _recount, 2 * r.Capacity);
        }

        IntList pool = s.SimPool;
        for (int i = 0; i < pool.Count; i++)
        {
            int slot = pool[i];
            if (r.BatchStamp[slot] != stamp)
            {
                _recount[SimFirstTask(slot)]++;
            }
        }

        for (int i = 0; i < pool.Count; i++)
        {
            int slot = pool[i];
            foreach (int task in (ReadOnlySpan<int>)[PromptTask(slot), TokenTask(slot)])
            {
                int clock = _instances[IsTokenTask(task) ? r.TokenInstance[slot] : r.PromptInstance[slot]].SimSelections;
                int count = SimPreemptions(r, task, clock);
                if (count != _recount[task])
                {
                    throw new InvalidOperationException(
                        $"t = {_now} ns, instance {s.Index}: request {r.Id[slot]} ({r.Phase[slot]}) task {task & 1} has {count} preemptions, SplitwiseSim's count is {_recount[task]}");
                }
            }
        }
    }

    partial void SettleCounters()
    {
        if (_sim)
        {
            SimSettlePreemptions();
        }
    }

    /// <summary>The end of a run: the counts of requests still waiting are written into their counters (for the
    /// unfinished requests' rows).</summary>
    private void SimSettlePreemptions()
    {
        RequestTable r = _r;
        for (int slot = 0; slot < r.Capacity; slot++)
        {
            if (r.Phase[slot] == RequestPhase.QueuedPrompt)
            {
                int clock = _instances[r.PromptInstance[slot]].SimSelections;
                r.PromptPreemptions[slot] += clock - r.PendingSince[slot];
                r.PendingSince[slot] = clock;
            }
            else if (r.Phase[slot] != RequestPhase.Free && SimTokenWaiting(r, slot))
            {
                int clock = _instances[r.TokenInstance[slot]].SimSelections;
                r.Preemptions[slot] += clock - r.PendingSince[slot];
                r.PendingSince[slot] = clock;
            }
        }
    }

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
        if (_recount is not null && _recount.Length >= 2 * (slot + 1))
        {
            _recount[PromptTask(slot)] = _recount[TokenTask(slot)] = 0; // a recycled slot
        }

        if (p != t)
        {
            SimTaskArrival(p, PromptTask(slot), newRequest: true);
            return;
        }

        long kvPerToken = p.Spec.KvBytesPerToken;
        if (!p.Busy && p.Kv.Fits((_r.Input[slot] + 1L) * kvPerToken))
        {
            if (p.SimPool.Count == 0 && _recount is null && p.Spec.Limits.MaxPreemptions > 0 && p.Spec.Limits.MaxBatchRequests > 0)
            {
                SimStartAlone(p, slot);
                return;
            }

            // The prompt's arrival starts a batch selection before the token task arrives.
            SimTaskArrival(p, PromptTask(slot), newRequest: true);
            SimTaskArrival(p, TokenTask(slot), newRequest: false);
            return;
        }

        // Neither task's arrival changes the instance before the other's: both join, then task_arrival's rules run
        // (a busy instance's decode run is cut once, by whichever task could join the next batch).
        SimPoolInsert(p, slot);
        _r.PendingSince[slot] = p.SimSelections; // its first task waits from now
        p.SimPending.InsertPair(PromptTask(slot), TokenTask(slot), _r, p.SimSelections);
        p.SimPrompts.Enqueue(slot);
        if (!p.Busy)
        {
            if (p.Kv.Fits((_r.Output[slot] - 1L) * kvPerToken))
            {
                StartIterationSim(p);
            }

            return;
        }

        BatchLimits limits = p.Spec.Limits;
        int count = p.Batch.Count + p.BatchPrompts.Count;
        bool tokenJoins = count < limits.MaxBatchRequests && p.BatchTokens + 1 <= limits.MaxBatchTokens; // implied by the prompt joining
        bool promptPreempts = p.BatchPrompts.Count < count && p.BatchTokens - p.Batch.Count + _r.Input[slot] <= limits.MaxBatchTokens;
        if (tokenJoins || promptPreempts)
        {
            SimPause(p);
        }
    }

    /// <summary>
    /// A new request on an idle instance that holds nothing else, its prompt's memory free: what its two
    /// <c>task_arrival</c>s do, without the general batch selection — the selection the prompt starts takes the prompt
    /// alone (step 2: a fresh task is under <c>max_preemptions</c>, and the first task of a batch always fits its
    /// token limit), then the token task joins the pending queue (the run, a prompt iteration, is not cut).
    /// </summary>
    private void SimStartAlone(InstanceState s, int slot)
    {
        RequestTable r = _r;
        int clock = s.SimSelections;
        s.SimPool.Add(slot);
        r.PendingSince[slot] = clock + 1; // the prompt waited no selection; its token task waits from the next
        long need = (r.Input[slot] + 1L) * s.Spec.KvBytesPerToken;
        s.Kv.Reserve(need);
        r.KvBytes[slot] += need;
        r.Phase[slot] = RequestPhase.Prompting;
        r.PromptStart[slot] = _now;
        s.BatchPrompts.Add(slot);
        s.SimSelections = clock + 1;
        s.Kv.NotePeak();
        s.BatchTokens = r.Input[slot];
        Timeline?.OnIterationStart(_now, s.Index, 1, r.Input[slot], s.BatchPrompts.Count, s.Kv.UsedBytes);
        ScheduleIteration(s, 1);
        s.SimPending.Insert(TokenTask(slot), r, s.SimSelections);
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
            _r.PendingSince[slot] = s.SimSelections; // its first task waits from now
        }

        s.SimPending.Insert(task, _r, s.SimSelections);
        if (!IsTokenTask(task))
        {
            s.SimPrompts.Enqueue(slot);
        }

        if (!s.Busy)
        {
            if (!s.Kv.Fits(SimTaskMemory(s, task)))
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
        // CutRun's test without its division: the run ends later than the next boundary (never for one iteration).
        if (s.BatchPrompts.Count == 0 && _now < s.RunStart + ((s.RunIterations - 1) * s.IterationNs))
        {
            CutRun(s);
        }
    }

    /// <summary><c>bisect.insort(pending_requests, request, key=arrival)</c>: after requests of equal arrival.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // once per request; almost always an append
    private void SimPoolInsert(InstanceState s, int slot)
    {
        IntList pool = s.SimPool;
        long[] arrivals = _r.Arrival;
        long arrival = arrivals[slot];
        if (pool.Count == 0 || arrival >= arrivals[pool[pool.Count - 1]])
        {
            pool.Add(slot); // the usual case, an arrival after every request here
            return;
        }

        SimPoolInsertBefore(pool, slot, arrival);
    }

    private void SimPoolInsertBefore(IntList pool, int slot, long arrival)
    {
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
    /// the pool whose first task is not in the batch counts one more preemption (the instance's selection clock ticks:
    /// see <see cref="SimPreemptions"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StartIterationSim(InstanceState s)
    {
        if (s.SimPool.Count == 0 && _recount is null)
        {
            // Nothing here (every queue and the batch hold pool requests only): an empty selection.
            s.SimSelections++;
            s.Kv.NotePeak();
            s.BatchTokens = 0;
            Timeline?.OnIterationStart(_now, s.Index, 0, 0, s.BatchPrompts.Count, s.Kv.UsedBytes);
            s.Busy = false;
            _scheduler.OnInstanceIdle(s.Index);
            return;
        }

        BatchLimits limits = s.Spec.Limits;
        int maxReq = limits.MaxBatchRequests, maxTok = limits.MaxBatchTokens, maxPre = limits.MaxPreemptions;
        long capacity = s.Spec.KvCapacityBytes, kvPerToken = s.Spec.KvBytesPerToken;
        RequestTable r = _r;
        RequestPhase[] phase = r.Phase;
        int[] stamps = r.BatchStamp, input = r.Input, output = r.Output;
        int stamp = ++_batchStamp;
        int size = 0, tokens = 0;
        long memory = s.Kv.UsedBytes; // what the selection would hold (committed below)
        IntList added = s.Scratch; // tasks joining the batch, in selection order (each stamped, counted in size and tokens)
        added.Clear();

        // 1. Tasks preempted too many times, from the head of the pending queue; stops at the first under the limit.
        SimPendingQueue pending = s.SimPending;
        int clock = s.SimSelections;
        ReadOnlySpan<int> queued = pending.AsSpan();
        for (int i = 0; i < queued.Length; i++)
        {
            int task = queued[i];
            int slot = task >> 1;
            if (SimPreemptions(r, task, clock) < maxPre)
            {
                break;
            }

            bool token = IsTokenTask(task);
            int tpi = token ? 1 : input[slot];
            if (size == maxReq || (size > 0 && tokens + tpi > maxTok))
            {
                break;
            }

            if (stamps[slot] == stamp || (token && phase[slot] is RequestPhase.QueuedPrompt))
            {
                continue; // the request is in the batch already (or, with max_preemptions 0, its prompt is not done)
            }

            if (!token || phase[slot] != RequestPhase.Blocked)
            {
                long need = (token ? output[slot] - 1L : input[slot] + 1L) * kvPerToken;
                if (need + memory > capacity)
                {
                    continue;
                }

                memory += need;
            }

            stamps[slot] = stamp;
            added.Add(task);
            size++;
            tokens += tpi;
        }

        // 2. Queued prompts, FCFS.
        IntQueue prompts = s.SimPrompts;
        for (int i = 0; i < prompts.Count; i++)
        {
            int slot = prompts[i];
            int p = input[slot];
            if (size == maxReq || (size > 0 && tokens + p > maxTok))
            {
                break;
            }

            if (stamps[slot] == stamp)
            {
                continue;
            }

            long need = (p + 1L) * kvPerToken;
            if (need + memory > capacity)
            {
                break;
            }

            memory += need;
            stamps[slot] = stamp;
            added.Add(PromptTask(slot));
            size++;
            tokens += p;
        }

        // 3. Preempted decodes, in preemption order.
        IntList blocked = s.Blocked;
        ReadOnlySpan<int> blockedSlots = blocked.AsSpan();
        for (int i = 0; i < blockedSlots.Length; i++)
        {
            int slot = blockedSlots[i];
            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                break;
            }

            if (stamps[slot] != stamp)
            {
                stamps[slot] = stamp;
                added.Add(TokenTask(slot));
                size++;
                tokens++;
            }
        }

        // 4. The running decodes, in the order they joined the batch; those from the first that does not fit on are
        // left out (nothing after it fits in step 5 either).
        IntList batch = s.Batch;
        ReadOnlySpan<int> running = batch.AsSpan();
        int leftOut = running.Length;
        for (int i = 0; i < running.Length; i++)
        {
            int slot = running[i];
            if (size == maxReq || (size > 0 && tokens + 1 > maxTok))
            {
                leftOut = i;
                break;
            }

            if (stamps[slot] != stamp)
            {
                stamps[slot] = stamp;
                size++;
                tokens++;
            }
        }

        // 5. The pool in arrival order, each request's first task here; stops at the first that does not fit (a
        // queued prompt over the token limit stops it too, so later waiting decodes wait).
        IntList pool = s.SimPool;
        ReadOnlySpan<int> poolSlots = pool.AsSpan();
        for (int i = 0; i < poolSlots.Length; i++)
        {
            if (size == maxReq)
            {
                break;
            }

            int slot = poolSlots[i];
            if (stamps[slot] == stamp)
            {
                continue;
            }

            RequestPhase ph = phase[slot];
            bool token = ph is not (RequestPhase.QueuedPrompt or RequestPhase.Prompting); // SimFirstTask
            int tpi = token ? 1 : input[slot];
            if (size > 0 && tokens + tpi > maxTok)
            {
                break;
            }

            if (!token || ph != RequestPhase.Blocked)
            {
                long need = (token ? output[slot] - 1L : input[slot] + 1L) * kvPerToken;
                if (need + memory > capacity)
                {
                    break;
                }

                memory += need;
            }

            stamps[slot] = stamp;
            added.Add(token ? TokenTask(slot) : PromptTask(slot));
            size++;
            tokens += tpi;
        }

        // Running decodes left out are preempted: back into the pending queue (keyed by their count now) before the
        // new tasks leave it, as start_iteration does. (Those before leftOut were all stamped in step 4.)
        int kept = leftOut;
        for (int i = leftOut; i < batch.Count; i++)
        {
            int slot = batch[i];
            if (stamps[slot] == stamp)
            {
                batch[kept++] = slot;
            }
            else
            {
                phase[slot] = RequestPhase.Blocked;
                r.PendingSince[slot] = clock; // it waits from this selection on
                blocked.Add(slot);
                pending.Insert(TokenTask(slot), r, clock);
                s.Evictions++;
            }
        }

        batch.Truncate(kept);

        // The new tasks leave the queues and join the batch (after the decodes already running).
        IntList batchPrompts = s.BatchPrompts;
        int takenPrompts = 0, takenBlocked = 0;
        ReservedKvMemory kv = s.Kv;
        for (int i = 0; i < added.Count; i++)
        {
            int task = added[i];
            int slot = task >> 1;
            if (!IsTokenTask(task))
            {
                takenPrompts++;
                r.PromptPreemptions[slot] += clock - r.PendingSince[slot]; // it stops waiting
                r.PendingSince[slot] = clock + 1; // its token task here waits from the selection after its prompt
                long need = (input[slot] + 1L) * kvPerToken;
                kv.Reserve(need);
                r.KvBytes[slot] += need;
                phase[slot] = RequestPhase.Prompting;
                r.PromptStart[slot] = _now;
                batchPrompts.Add(slot);
                continue;
            }

            r.Preemptions[slot] += clock - r.PendingSince[slot]; // it stops waiting (every token task taken was waiting)
            if (phase[slot] == RequestPhase.Blocked)
            {
                takenBlocked++; // run_after_preempt: its memory was kept
            }
            else
            {
                long need = (output[slot] - 1L) * kvPerToken; // TokenTask.run allocates token_size tokens
                kv.Reserve(need);
                r.KvBytes[slot] += need;
                r.TokenStart[slot] = _now;
            }

            phase[slot] = RequestPhase.Decoding;
            batch.Add(slot);
        }


        // ... and leave the pending queue, the prompt queue and the preempted list (their phases say which).
        if (added.Count > 0)
        {
            pending.RemoveTaken(r, added.Count);
            if (takenPrompts > 0)
            {
                RemoveTakenPrompts(prompts, takenPrompts);
            }

            if (takenBlocked > 0)
            {
                RemoveInPhase(blocked, RequestPhase.Decoding, takenBlocked);
            }
        }

        // Every request here whose first task is not in the batch counts a preemption (queued prompts too): the
        // selection clock ticks, and every task still waiting gains one when its count is read.
        s.SimSelections = clock + 1;
        if (_recount is not null)
        {
            RecountPreemptions(s, stamp);
        }

        kv.NotePeak();
        s.BatchTokens = tokens;
        Timeline?.OnIterationStart(_now, s.Index, size, tokens, batchPrompts.Count, kv.UsedBytes);
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
    }

    /// <summary>Removes from the prompt queue the <paramref name="count"/> prompts a selection took, keeping the order
    /// of the rest: those at its head leave from the head (step 2 takes them in order); any others (taken in step 1)
    /// in one rotation of the queue.</summary>
    private void RemoveTakenPrompts(IntQueue prompts, int count)
    {
        RequestPhase[] phases = _r.Phase;
        while (count > 0 && phases[prompts.Peek()] == RequestPhase.Prompting)
        {
            prompts.Dequeue();
            count--;
        }

        for (int n = count > 0 ? prompts.Count : 0; n > 0; n--)
        {
            int slot = prompts.Dequeue();
            if (count > 0 && phases[slot] == RequestPhase.Prompting)
            {
                count--;
                continue;
            }

            prompts.Enqueue(slot);
        }
    }

    /// <summary>Removes from <paramref name="list"/> the first <paramref name="count"/> requests in
    /// <paramref name="phase"/>, keeping the order of the rest, in one pass that stops at the last of them.</summary>
    private void RemoveInPhase(IntList list, RequestPhase phase, int count)
    {
        if (count == 0)
        {
            return;
        }

        RequestPhase[] phases = _r.Phase;
        Span<int> items = list.AsSpan();
        int kept = 0, i = 0;
        for (; i < items.Length && count > 0; i++)
        {
            int slot = items[i];
            if (phases[slot] == phase)
            {
                count--;
                continue;
            }

            items[kept++] = slot;
        }

        items[i..].CopyTo(items[kept..]);
        list.Truncate(kept + (items.Length - i));
    }

    /// <summary>The prompt of a request decoding elsewhere completed: its KV cache flow is submitted
    /// (<c>Link.flow_arrival</c>).</summary>
    private void SimFlowArrival(int slot)
    {
        InstanceState to = _instances[_r.TokenInstance[slot]];
        long need = (_r.Input[slot] + 1L) * to.Spec.KvBytesPerToken; // request.memory: the prompt task's
        if (!to.Kv.TryReserve(need)) // Flow.run allocates the request's memory on the destination
        {
            Schedule(_now + SimFlowRetryNs, EventKind.SimFlowRetry, slot, 0); // Link.retry_flow, every retry_delay
            return;
        }

        // The duration is size / bandwidth.

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
        from.Kv.Release(_r.KvBytes[slot]);
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
            if (from.Kv.Fits(SimTaskMemory(from, from.SimPending[0])))
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
