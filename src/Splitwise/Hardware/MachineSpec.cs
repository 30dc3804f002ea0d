using Splitwise.Common;

namespace Splitwise.Hardware;

/// <summary>One server type: its GPUs, interconnects, provisioned power and price.</summary>
/// <param name="Name">Catalog key, e.g. <c>dgx-h100</c>.</param>
/// <param name="Gpu">The GPU type.</param>
/// <param name="GpuCount">GPUs per machine.</param>
/// <param name="NvlinkGBps">NVLink bandwidth per GPU, bidirectional, GB/s.</param>
/// <param name="InfinibandGbps">Scale-out (InfiniBand) bandwidth per machine, Gbit/s.</param>
/// <param name="ProvisionedWatts">Machine power provisioned in the datacenter.</param>
/// <param name="DollarsPerHour">Price of one machine-hour.</param>
public sealed record MachineSpec(
    string Name,
    GpuSpec Gpu,
    int GpuCount,
    double NvlinkGBps,
    double InfinibandGbps,
    double ProvisionedWatts,
    double DollarsPerHour)
{
    /// <summary>InfiniBand bandwidth in bytes per second.</summary>
    public double InfinibandBytesPerSecond => InfinibandGbps * 1e9 / 8;

    public MachineSpec Validate(string where)
    {
        CatalogField.Check(!string.IsNullOrWhiteSpace(Name), where, "name", "must not be empty");
        CatalogField.Check(GpuCount is > 0 and <= 1024, where, "gpu_count", "must be in 1..1024");
        CatalogField.Check(NvlinkGBps > 0, where, "nvlink_gbps", "must be > 0");
        CatalogField.Check(InfinibandGbps > 0, where, "infiniband_gbps", "must be > 0");
        CatalogField.Check(ProvisionedWatts > 0, where, "provisioned_watts", "must be > 0");
        CatalogField.Check(DollarsPerHour >= 0, where, "dollars_per_hour", "must be >= 0");
        return this;
    }
}
