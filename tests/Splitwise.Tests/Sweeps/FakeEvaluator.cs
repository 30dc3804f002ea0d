using Splitwise.Designs;
using Splitwise.Sweeps;

namespace Splitwise.Tests.Sweeps;

/// <summary>Synthetic, deterministic evaluators: a point passes when a monotone capacity test holds.</summary>
internal static class FakeEvaluator
{
    public static SweepResult Result(SweepPoint point, bool pass, double worst = double.NaN)
    {
        var outcome = new SloOutcome(SloSet.Paper.Targets[0], pass ? 1.5 : 7, pass ? 0.75 : 3.5, pass, 100);
        var slo = new SloReport([.. SloSet.Paper.Targets.Select(t => outcome with { Slo = t })], pass, pass ? 100 : 10, pass ? 1.0 : 0.1, pass ? 1 : 0.1);
        double h = (point.Key.GetHashCode(StringComparison.Ordinal) & 0xffff) / 65536.0; // stable within a process
        _ = worst;
        return new SweepResult
        {
            Requests = 100,
            Finished = pass ? 100 : 90,
            ThroughputRps = Math.Round(point.Machines * 0.37 + (point.Rate / 3), 6),
            TtftP50Ms = 100 + point.Machines,
            TtftP99Ms = 1000.0 / point.Machines,
            E2EP99Ms = h > 2 ? 0 : 5000.0 / (1 + point.Machines),
            Slo = slo,
        };
    }

    /// <summary>Baseline needs machines ≥ rate × perMachine; split needs prompt ≥ rate × a and token ≥ rate × b
    /// and prompt + token ≥ rate × c.</summary>
    public static bool Capacity(SweepPoint p, double perMachine = 0.5, double a = 0.3, double b = 0.2, double c = 0.6)
    {
        double rate = p.Rate > 0 ? p.Rate : 10;
        return p.IsSplit
            ? p.PromptMachines >= rate * a && p.TokenMachines >= rate * b && p.Machines >= rate * c
            : p.Machines >= rate * perMachine;
    }
}
