using Splitwise.Common;

namespace Splitwise.Hardware;

/// <summary>One GPU type: compute, memory and power.</summary>
/// <param name="Name">Catalog key, e.g. <c>h100-80gb</c>; also the <c>hardware</c> value of profile rows.</param>
/// <param name="DenseTflops">Dense BF16/FP16 tensor TFLOP/s (datasheet, no sparsity).</param>
/// <param name="MemoryBytes">HBM capacity in bytes.</param>
/// <param name="MemoryBandwidthGBps">HBM bandwidth in GB/s (10^9 bytes per second).</param>
/// <param name="TdpWatts">Board power limit (the cap for power-capped variants).</param>
/// <param name="IdleWatts">Power drawn while no iteration runs.</param>
/// <param name="PromptWatts">Average power during prompt (prefill) iterations.</param>
/// <param name="TokenWatts">Average power during decode-only iterations.</param>
public sealed record GpuSpec(
    string Name,
    double DenseTflops,
    long MemoryBytes,
    double MemoryBandwidthGBps,
    double TdpWatts,
    double IdleWatts,
    double PromptWatts,
    double TokenWatts)
{
    /// <summary>Throws a <see cref="SplitwiseException"/> naming the first invalid field.</summary>
    public GpuSpec Validate(string where)
    {
        CatalogField.Check(!string.IsNullOrWhiteSpace(Name), where, "name", "must not be empty");
        CatalogField.Check(DenseTflops > 0, where, "dense_tflops", "must be > 0");
        CatalogField.Check(MemoryBytes > 0, where, "memory_bytes", "must be > 0");
        CatalogField.Check(MemoryBandwidthGBps > 0, where, "memory_bandwidth_gbps", "must be > 0");
        CatalogField.Check(TdpWatts > 0, where, "tdp_watts", "must be > 0");
        CatalogField.Check(IdleWatts >= 0 && PromptWatts >= IdleWatts && TokenWatts >= IdleWatts, where, "idle/prompt/token_watts",
            "must satisfy 0 <= idle <= prompt, token");
        return this;
    }
}
