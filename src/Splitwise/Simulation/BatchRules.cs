namespace Splitwise.Simulation;

/// <summary>
/// Machine-level batching rules of the simulation engine (<see cref="Simulator"/>). The real-time emulator behind
/// <c>splitwise serve</c> drives the same engine (<see cref="OnlineSimulation"/>), so it follows them too.
/// </summary>
internal static class BatchRules
{
    /// <summary>
    /// SplitwiseSim's <c>task_arrival</c> rule: new work of <paramref name="tokens"/> tokens (a prompt's size, or 1
    /// for a decode) joined a busy instance running a decode-only batch of <paramref name="batchCount"/> requests and
    /// <paramref name="batchTokens"/> tokens; true when the run must be cut at the next iteration boundary because
    /// the work could join the next batch or preempt it. <paramref name="alsoToken"/>: the request's token task arrives
    /// with its prompt on the same instance (baseline designs), and its 1 token joins even when the prompt could not.
    /// </summary>
    public static bool CutsDecodeRun(int batchCount, int batchTokens, int tokens, bool alsoToken, int maxBatchRequests, int maxBatchTokens)
    {
        bool joins = batchCount < maxBatchRequests && batchTokens + (alsoToken ? 1 : tokens) <= maxBatchTokens;
        bool preempts = tokens > 1 && tokens <= maxBatchTokens; // a prompt may evict decodes
        return joins || preempts;
    }
}
