namespace Splitwise.Simulation.Memory;

/// <summary>
/// One instance's KV-cache memory as its engine personality accounts for it: whole-request reservation
/// (<see cref="ReservedKvMemory"/>, SplitwiseSim's instance) or paged blocks (<see cref="Paging.PagedKvCache"/>,
/// vLLM V1's). The engine reads it through this interface only off the hot path (gauges, schedulers that look at
/// memory, the end-of-run outcome); each personality holds its concrete implementation.
/// </summary>
internal interface IKvMemory
{
    /// <summary>Bytes in use now.</summary>
    long UsedBytes { get; }

    /// <summary>The most bytes in use at any batch selection so far (the figure in <c>instances.csv</c>).</summary>
    long PeakBytes { get; }
}
