using BenchmarkDotNet.Attributes;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// The vLLM V1 personality (<c>--engine vllm</c>, prefix caching on) on the real conversation trace (19,366 requests)
/// and Baseline-H100 with the SplitwiseSim profile model, beside the SplitwiseSim-style engine on the same cluster.
/// Needs <c>SPLITWISE_DATA</c> and <c>SPLITWISE_PROFILE</c>.
/// </summary>
[MemoryDiagnoser]
public class SimVllmBenchmarks
{
    private Trace _trace = null!;
    private IReadOnlyList<InstanceSpec> _instances = null!;

    [Params(20)]
    public int Machines { get; set; }

    [Params("splitwise", "vllm")]
    public string Engine { get; set; } = "vllm";

    [GlobalSetup]
    public void Setup()
    {
        string data = Environment.GetEnvironmentVariable("SPLITWISE_DATA") ?? throw new InvalidOperationException("set SPLITWISE_DATA");
        string profile = Environment.GetEnvironmentVariable("SPLITWISE_PROFILE") ?? throw new InvalidOperationException("set SPLITWISE_PROFILE");
        _trace = TraceReader.Read(NamedTraces.Resolve("conv-2023", data));
        ClusterConfig cluster = ClusterConfig.ForDesign("baseline-h100", Machines);
        if (Engine == "vllm")
        {
            cluster = cluster with { Vllm = new VllmEngineOptions() };
        }

        _instances = cluster.BuildInstances(Catalog.BuiltIn, ProfileTable.Load(profile));
    }

    /// <summary>One whole simulation: arrivals, steps, KV blocks, metrics (no files).</summary>
    [Benchmark]
    public long Simulate()
    {
        using var recorder = new SimulationRecorder();
        var sim = new Simulator(_instances, ClusterScheduler.Create("token-jsq", _instances.Count), recorder);
        return sim.Run(ArrivalSource.FromTrace(_trace)).Events;
    }
}
