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

/// <summary>One request's result as the recorder saw it: sizes, TTFT and E2E in nanoseconds (−1 when it did not
/// finish: rejected, cut by the horizon, or stalled).</summary>
/// <param name="Id">Its row in the trace (0-based).</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
/// <param name="TtftNs">Arrival to first token, ns (−1: unfinished).</param>
/// <param name="E2eNs">Arrival to last token, ns (−1: unfinished).</param>
public readonly record struct RequestOutcome(long Id, int InputTokens, int OutputTokens, long TtftNs, long E2eNs)
{
    /// <summary>Arrival to the start of its prompt computation, ns (−1: unfinished).</summary>
    public long QueueNs { get; init; } = -1;

    /// <summary>SplitwiseSim's <c>nth_token_overhead</c>: prompt completion to the first iteration of its decode
    /// (KV transfer and waiting on the token machine), ns; 0 for a one-token request, −1 unfinished.</summary>
    public long NthTokenOverheadNs { get; init; } = -1;

    public bool Finished => TtftNs >= 0 && E2eNs >= 0;

    /// <summary>Longest gap between two of its tokens, ns (−1: fewer than two tokens or not finished).</summary>
    public long TbtMaxNs { get; init; } = -1;

    /// <summary>Times it was preempted (evicted from a batch; the vLLM engine: preempted by recompute).</summary>
    public int Preemptions { get; init; }

    /// <summary>Prompt tokens found in the prefix cache when it was first scheduled (vLLM engine; else 0).</summary>
    public int CachedTokens { get; init; }
}
