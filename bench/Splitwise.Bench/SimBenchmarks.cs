using BenchmarkDotNet.Attributes;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// The simulation engine on the real conversation trace (19,366 requests) and a Baseline-H100 cluster with the
/// SplitwiseSim profile model: the run SplitwiseSim needs 12–13 s for on this machine, on each engine. Needs
/// <c>SPLITWISE_DATA</c> (the Azure 2023 traces) and <c>SPLITWISE_PROFILE</c> (perf_model.csv).
/// </summary>
[MemoryDiagnoser]
public class SimConvBenchmarks
{
    private Trace _trace = null!;
    private ProfileTable _profile = null!;
    private IReadOnlyList<InstanceSpec> _instances = null!;

    [Params(10, 20, 40)]
    public int Machines { get; set; }

    /// <summary>The engine: the default (SplitwiseSim-style), SplitwiseSim's own rules (<c>--splitwise-sim</c>), or the
    /// vLLM V1 personality with prefix caching (<c>--engine vllm</c>).</summary>
    [Params("default", "splitwise-sim", "vllm")]
    public string Engine { get; set; } = "default";

    [GlobalSetup]
    public void Setup()
    {
        _trace = BenchInputs.Conv2023();
        _profile = BenchInputs.Profile();
        ClusterConfig cluster = ClusterConfig.ForDesign("baseline-h100", Machines);
        cluster = Engine switch
        {
            "splitwise-sim" => cluster.AsSplitwiseSim(),
            "vllm" => cluster with { Vllm = new VllmEngineOptions() },
            _ => cluster,
        };
        _instances = cluster.BuildInstances(Catalog.BuiltIn, _profile);
    }

    /// <summary>One whole simulation: arrivals, batching, metrics (no files).</summary>
    [Benchmark]
    public long Simulate()
    {
        using var recorder = new SimulationRecorder();
        var sim = new Simulator(_instances, ClusterScheduler.Create("token-jsq", _instances.Count), recorder);
        return sim.Run(ArrivalSource.FromTrace(_trace)).Events;
    }
}
