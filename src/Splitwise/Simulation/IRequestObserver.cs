namespace Splitwise.Simulation;

/// <summary>
/// Sees each request's tokens as the engine produces them: the real-time emulator behind <c>splitwise serve</c> drives
/// a <see cref="Simulator"/> online and streams these to its clients. Called on the engine's thread, in simulated-time
/// order, at the simulated time the tokens are done (<see cref="Simulator.Now"/>).
/// </summary>
internal interface IRequestObserver
{
    /// <summary>The request in <paramref name="slot"/> has <paramref name="generated"/> tokens now: its first when the
    /// prompt is done, or at the end of a decode run the run's last, the earlier ones having come one per
    /// <paramref name="iterationNs"/> before it (<see cref="Simulator.TryGetDecodeRun"/> shows a run in progress).</summary>
    void OnTokens(int slot, long id, int generated, long iterationNs);

    /// <summary>The request left the engine: finished (<paramref name="completed"/>), or dropped (cancelled, or rejected
    /// at arrival because it can never fit an instance's KV memory).</summary>
    void OnDone(int slot, long id, bool completed);
}

/// <summary>How a request left the simulation: the <c>status</c> column of <c>requests.csv</c>.</summary>
public enum RequestStatus : byte
{
    /// <summary>It produced all its output tokens.</summary>
    Done,

    /// <summary>Turned away at arrival: it can never fit an instance's KV memory.</summary>
    Rejected,

    /// <summary>Still in flight when the run ended (cut by the horizon, or stalled).</summary>
    Unfinished,
}

/// <summary>One request's result as the recorder saw it: the typed row of <c>requests.csv</c> (which is written from
/// it), times in nanoseconds, −1 where the CSV cell is empty.</summary>
/// <param name="Id">Its row in the trace (0-based).</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
/// <param name="TtftNs">Arrival to first token, ns (−1: no first token; an unfinished request may have one).</param>
/// <param name="E2eNs">Arrival to last token, ns (−1: unfinished).</param>
public readonly record struct RequestOutcome(long Id, int InputTokens, int OutputTokens, long TtftNs, long E2eNs)
{
    /// <summary>Done, rejected or unfinished.</summary>
    public RequestStatus Status { get; init; }

    /// <summary>Arrival at the cluster, ns from the start of the run.</summary>
    public long ArrivalNs { get; init; }

    /// <summary>The instance that ran (or was to run) its prompt; for a rejected request, the one it was assigned.</summary>
    public int PromptInstance { get; init; }

    /// <summary>The instance that ran (or was to run) its decode; the prompt's instance on a baseline cluster.</summary>
    public int TokenInstance { get; init; }

    /// <summary>Arrival to the start of its prompt computation, ns (−1: its prompt never started).</summary>
    public long QueueNs { get; init; } = -1;

    /// <summary>SplitwiseSim's <c>nth_token_overhead</c>: prompt completion to the first iteration of its decode
    /// (KV transfer and waiting on the token machine), ns; 0 for a one-token request, −1 unfinished.</summary>
    public long NthTokenOverheadNs { get; init; } = -1;

    /// <summary>It produced all its tokens (<see cref="Status"/> is <see cref="RequestStatus.Done"/>).</summary>
    public bool Finished => TtftNs >= 0 && E2eNs >= 0;

    /// <summary>SplitwiseSim's per-request TBT, (E2E − TTFT) / output tokens, rounded to the ns (−1: unfinished).</summary>
    public long TbtNs => Finished ? (long)Math.Round((double)(E2eNs - TtftNs) / OutputTokens) : -1;

    /// <summary>TPOT, (E2E − TTFT) / (output tokens − 1), rounded to the ns (−1: unfinished or one output token).</summary>
    public long TpotNs => Finished && OutputTokens > 1 ? (long)Math.Round((double)(E2eNs - TtftNs) / (OutputTokens - 1)) : -1;

    /// <summary>Longest gap between two of its tokens, ns (−1: fewer than two tokens or not finished).</summary>
    public long TbtMaxNs { get; init; } = -1;

    /// <summary>Times it was preempted (evicted from a batch; the vLLM engine: preempted by recompute).</summary>
    public int Preemptions { get; init; }

    /// <summary>Splitwise: prompt completion to the arrival of its KV cache on the token machine, ns (−1: finished
    /// where its prompt ran, or unfinished).</summary>
    public long KvTransferNs { get; init; } = -1;

    /// <summary>First to second output token, ns (−1: one output token, or unfinished).</summary>
    public long SecondTokenNs { get; init; } = -1;

    /// <summary>Prompt tokens found in the prefix cache when it was first scheduled (vLLM engine; else 0).</summary>
    public int CachedTokens { get; init; }
}
