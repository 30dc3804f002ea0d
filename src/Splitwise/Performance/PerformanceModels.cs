using Splitwise.Hardware;
using Splitwise.Models;

namespace Splitwise.Performance;

/// <summary>Which performance model to use.</summary>
public enum PerformanceModelKind
{
    /// <summary>SplitwiseSim's profile (<c>perf_model.csv</c>) with its interpolation.</summary>
    Profile,

    /// <summary>FLOPs and bytes against the GPU's peaks, with efficiency factors.</summary>
    Roofline,
}

/// <summary>Creates performance models for an instance.</summary>
public static class PerformanceModels
{
    /// <summary>
    /// The model for <paramref name="model"/> on <paramref name="gpu"/> at tensor parallelism <paramref name="tp"/>;
    /// the profile kind needs <paramref name="profile"/>.
    /// </summary>
    public static IPerformanceModel Create(PerformanceModelKind kind, ModelSpec model, GpuSpec gpu, int tp, MachineSpec machine, ProfileTable? profile) =>
        kind switch
        {
            PerformanceModelKind.Profile => new ProfilePerformanceModel(
                (profile ?? throw SplitwiseException.Usage("the profile performance model needs a profile (--profile perf_model.csv)"))
                    .Get(model.Name, gpu.Name, tp)),
            PerformanceModelKind.Roofline => new RooflinePerformanceModel(model, gpu, tp, machine.NvlinkGBps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    public static PerformanceModelKind Parse(string text) => text.ToLowerInvariant() switch
    {
        "profile" => PerformanceModelKind.Profile,
        "roofline" => PerformanceModelKind.Roofline,
        _ => throw SplitwiseException.Usage($"unknown performance model '{text}'; use profile or roofline"),
    };
}
