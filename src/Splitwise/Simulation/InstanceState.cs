using Splitwise.Simulation.Memory;

namespace Splitwise.Simulation;

/// <summary>The mutable state of one instance during a run: its queues, current batch, KV memory and counters.</summary>
internal sealed class InstanceState(int index, InstanceSpec spec)
{
    public readonly int Index = index;
    public readonly InstanceSpec Spec = spec;

    /// <summary>Prompts waiting to start, FCFS.</summary>
    public readonly IntQueue Prompts = new();

    /// <summary>Requests whose prompt is done, waiting for KV memory to start decoding here, FCFS.</summary>
    public readonly IntQueue Waiting = new();

    /// <summary>Decoding requests evicted from the batch (they keep their KV memory).</summary>
    public readonly IntList Blocked = new();

    /// <summary>Decoding requests in the current batch.</summary>
    public readonly IntList Batch = new();

    /// <summary>Prompts in the current iteration.</summary>
    public readonly IntList BatchPrompts = new();

    public readonly IntList Scratch = new();

    // SplitwiseSim rules only (Simulator.SplitwiseSim.cs): its request pool ordered by arrival, its pending queue
    // sorted by (preemptions at insertion, arrival), its prompt queue, and the batch selections it has made (the
    // clock of its waiting tasks' preemption counts).
    public readonly IntList SimPool = new();
    public int SimSelections;
    public readonly SimPendingQueue SimPending = new();
    public readonly IntQueue SimPrompts = new();

    // vLLM personality only (Simulator.Vllm.cs): the running requests in admission order (Prompts is its waiting
    // queue), the tokens of each prefill chunk of the current step (parallel to BatchPrompts), and the paged KV memory.
    public readonly IntList Running = new();
    public readonly IntQueue Received = new(); // P/D decode side: requests whose KV arrived, before the waiting queue
    public readonly IntList Chunks = new();
    public Paging.PagedKvCache? Cache;
    public long PrefixQueryTokens;
    public long PrefixHitTokens;
    public long PrefixHitRequests;
    public long Admissions;
    public long FirstAdmissions;

    // vLLM phase-split (P/D) clusters, on decode instances: requests whose KV cache was received, the tokens pulled from
    // prefill instances, and the prompt tokens found in this instance's own cache instead.
    public long KvReceives;
    public long KvReceivedTokens;
    public long KvLocalHitTokens;
    public long KvSendTimeouts; // on prefill instances: prompts whose KV nobody read within the abort timeout

    /// <summary>Whole-request KV reservation (the default and SplitwiseSim personalities; unused by vLLM's, which pages).</summary>
    public readonly ReservedKvMemory Kv = new(spec.KvCapacityBytes);

    /// <summary>The instance's KV memory, whichever the personality uses: its paged cache, else its reservations.</summary>
    public IKvMemory Memory => Cache is null ? Kv : Cache;

    public bool Busy;
    public bool PromptRun; // the run in progress counts as prompt-phase busy time (it computes prompt tokens)
    public long RunStart;
    public long IterationNs;
    public int RunIterations;
    public int Version;
    public int BatchTokens;

    // Counters for instances.csv and the energy model.
    public long PromptBusyNs;
    public long TokenBusyNs;
    public long Iterations;
    public long PromptTokensDone;
    public long DecodeTokensDone;
    public long Assigned;
    public long Completed;
    public long Evictions;
    public int PeakBatch;
}
