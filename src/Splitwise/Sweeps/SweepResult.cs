using Splitwise.Designs;

namespace Splitwise.Sweeps;

/// <summary>
/// What one simulation of a sweep point produced: the figures a sweep tabulates and a search decides on. Latencies in
/// milliseconds; NaN where a figure does not apply (an empty cell in the CSV).
/// </summary>
public sealed record SweepResult
{
    public required int Requests { get; init; }

    /// <summary>Requests that finished within the simulation.</summary>
    public required int Finished { get; init; }

    /// <summary>Completed requests per second of simulated span.</summary>
    public double ThroughputRps { get; init; } = double.NaN;

    public double OutputTokensPerSecond { get; init; } = double.NaN;

    public double TtftP50Ms { get; init; } = double.NaN;

    public double TtftP90Ms { get; init; } = double.NaN;

    public double TtftP99Ms { get; init; } = double.NaN;

    public double TbtP50Ms { get; init; } = double.NaN;

    public double TbtP90Ms { get; init; } = double.NaN;

    public double TbtP99Ms { get; init; } = double.NaN;

    public double E2EP50Ms { get; init; } = double.NaN;

    public double E2EP90Ms { get; init; } = double.NaN;

    public double E2EP99Ms { get; init; } = double.NaN;

    /// <summary>Mean exposed KV-transfer time per request (Splitwise designs).</summary>
    public double KvTransferMeanMs { get; init; } = double.NaN;

    /// <summary>Energy drawn over the run.</summary>
    public double EnergyKwh { get; init; } = double.NaN;

    /// <summary>The SLO evaluation; its <see cref="SloReport.AllPass"/> decides a search.</summary>
    public required SloReport Slo { get; init; }

    public bool SloPass => Slo.AllPass;

    /// <summary>The simulation stopped once its SLOs were certain to be missed (<see cref="SimulationEvaluator.StopAtFailure"/>):
    /// only the verdict and the SLO that decided it are known; every figure is NaN (counts −1).</summary>
    public bool StoppedEarly { get; init; }
}
