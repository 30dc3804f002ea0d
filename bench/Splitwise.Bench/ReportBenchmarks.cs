using BenchmarkDotNet.Attributes;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Reports;
using Splitwise.Simulation;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// What <c>simulate --report</c> adds to <c>simulate</c> on conv-2023 (Baseline-H100 × 20, the README's main job),
/// in one process: the run without and with the report's collection (quantiles, time series), and writing the
/// report itself (12 figures as PNG + SVG and <c>report.html</c>). Needs <c>SPLITWISE_DATA</c> and <c>SPLITWISE_PROFILE</c>.
/// </summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private Trace _trace = null!;
    private SimulationJob _job = null!;
    private SimulationSummary _summary = null!;
    private string _dir = null!;

    [GlobalSetup]
    public void Setup()
    {
        _trace = BenchInputs.Conv2023();
        _job = new SimulationJob(ClusterConfig.ForDesign("baseline-h100", 20), ArrivalSource.FromTrace(_trace), "conv-2023", null,
            Catalog.BuiltIn, BenchInputs.Profile());
        _summary = SimulateCollectingReport();
        _dir = Directory.CreateTempSubdirectory("splitwise-report-bench").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    /// <summary>The simulation alone (no files).</summary>
    [Benchmark(Baseline = true)]
    public SimulationSummary Simulate() => ClusterSimulation.Run(_job with { Arrivals = ArrivalSource.FromTrace(_trace) });

    /// <summary>The simulation collecting the report's data.</summary>
    [Benchmark]
    public SimulationSummary SimulateCollectingReport() =>
        ClusterSimulation.Run(_job with { Arrivals = ArrivalSource.FromTrace(_trace), CollectReport = true });

    /// <summary>The report from a finished run: figures laid out, SVGs and PNGs written, the page written.</summary>
    [Benchmark]
    public int WriteReport() => SimulationReport.Write(_dir, _summary).Count;
}
