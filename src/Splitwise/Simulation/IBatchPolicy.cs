namespace Splitwise.Simulation;

/// <summary>
/// The machine-level scheduler of one engine personality: what an instance does when a request arrives, which requests
/// and how many tokens each its next iteration takes (and so when a decode run must be cut), and what happens when an
/// iteration ends. Implemented by one struct per personality inside <see cref="Simulator"/> — its own rules
/// (<c>Simulator.cs</c>), SplitwiseSim's (<c>Simulator.SplitwiseSim.cs</c>), vLLM V1's (<c>Simulator.Vllm.cs</c>) —
/// and passed as a type argument, so the engine's event loop is compiled once per personality with direct calls: no
/// virtual call and no personality test per event.
/// </summary>
internal interface IBatchPolicy
{
    /// <summary>A request in <paramref name="slot"/> arrived, assigned prompt instance <paramref name="prompt"/> and
    /// token instance <paramref name="token"/> (the same one on a colocated cluster); <paramref name="chain"/> is its
    /// prefix hash chain (vLLM personality only).</summary>
    static abstract void Arrive(Simulator engine, InstanceState prompt, InstanceState token, int slot, ReadOnlySpan<long> chain);

    /// <summary>The iteration (or run of decode iterations) in progress on <paramref name="instance"/> ended now.</summary>
    static abstract void IterationDone(Simulator engine, InstanceState instance);

    /// <summary>The instance is idle: select its next batch and schedule its end (or stay idle).</summary>
    static abstract void StartIteration(Simulator engine, InstanceState instance);
}
