using Splitwise.Designs;
using Splitwise.Sweeps;

namespace Splitwise.Tests.Sweeps;

public class ProvisionerTests
{
    private static readonly SweepSettings s_settings = SweepSettings.Default;

    private static Func<SweepPoint, CancellationToken, SweepResult> Eval(Func<SweepPoint, bool> pass, List<string>? log = null) => (p, _) =>
    {
        if (log is not null)
        {
            lock (log)
            {
                log.Add(p.Key);
            }
        }

        return FakeEvaluator.Result(p, pass(p));
    };

    [Fact]
    public void Baseline_minimum_is_found_by_bisection_in_logarithmic_simulations()
    {
        // Feasible iff machines >= 0.5 x rate: at 73 req/s, 37 machines.
        var log = new List<string>();
        var request = new ProvisionRequest("conv-2023", 73, ["baseline-a100"], s_settings, MaxMachines: 200);
        ProvisionOutcome o = Provisioner.Minimize(request, ProvisionObjective.Cost, Eval(p => FakeEvaluator.Capacity(p), log), TestContext.Current.CancellationToken);
        Assert.Equal(37, o.Best!.Point.Machines);
        Assert.Equal(37 * 17.6, o.Best.DollarsPerHour, 9);
        Assert.Equal(log.Count, o.Simulations);
        Assert.InRange(o.Simulations, 2, 1 + (int)Math.Ceiling(Math.Log2(200)));
        Assert.Equal(log.Count, log.Distinct().Count());
    }

    [Fact]
    public void Infeasible_design_is_reported_not_guessed()
    {
        var request = new ProvisionRequest("conv-2023", 1000, ["baseline-a100"], s_settings, MaxMachines: 100);
        ProvisionOutcome o = Provisioner.Minimize(request, ProvisionObjective.Machines, Eval(p => FakeEvaluator.Capacity(p)), TestContext.Current.CancellationToken);
        Assert.Null(o.Best);
        Assert.Equal(1, o.Simulations);
        Assert.Contains("100 machines", o.Designs[0].Note, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, double, int> SplitCases => new()
    {
        // design, objective, rate, max machines
        { "splitwise-aa", "cost", 50, 60 },
        { "splitwise-ha", "cost", 50, 60 },
        { "splitwise-ha", "power", 37, 40 },
        { "splitwise-hhcap", "power", 80, 80 },
        { "splitwise-hh", "machines", 23, 30 },
    };

    [Theory]
    [MemberData(nameof(SplitCases))]
    public void Splitwise_minimum_matches_brute_force_with_few_simulations(string design, string objective, double rate, int max)
    {
        // A capacity region with a trade-off between pools: prompt >= a r, token >= b r, prompt + 2 token >= c r.
        bool Pass(SweepPoint p) => p.PromptMachines >= 0.2 * p.Rate && p.TokenMachines >= 0.1 * p.Rate
            && p.PromptMachines + (2 * p.TokenMachines) >= 0.9 * p.Rate;
        var obj = Enum.Parse<ProvisionObjective>(objective, ignoreCase: true);
        DesignShape shape = SplitwiseDesignCatalog.Get(design);
        var request = new ProvisionRequest("conv-2023", rate, [design], s_settings, max);
        var log = new List<string>();
        ProvisionOutcome o = Provisioner.Minimize(request, obj, Eval(Pass, log), TestContext.Current.CancellationToken);

        double Score(int pp, int tt) => obj switch
        {
            ProvisionObjective.Cost => shape.DollarsPerHour(pp + tt, pp, tt),
            ProvisionObjective.Power => shape.ProvisionedWatts(pp + tt, pp, tt),
            _ => pp + tt,
        };
        double best = double.PositiveInfinity;
        for (int pp = 1; pp <= max; pp++)
        {
            for (int tt = 1; tt <= max; tt++)
            {
                if (Pass(SweepPoint.Split(design, pp, tt, "conv-2023", rate, s_settings)))
                {
                    best = Math.Min(best, Score(pp, tt));
                }
            }
        }

        Assert.NotNull(o.Best);
        Assert.Equal(best, Score(o.Best.Point.PromptMachines, o.Best.Point.TokenMachines), 9);
        Assert.True(o.Best.Result.SloPass);
        Assert.Equal(log.Count, o.Simulations);
        Assert.True(o.Simulations < max * max / 10, $"{o.Simulations} simulations for a {max}x{max} grid");
    }

    [Fact]
    public void Max_throughput_under_a_power_budget_finds_the_highest_compliant_rate()
    {
        // Iso-power 70 DGX-A100 = 455 kW. Baseline: feasible iff machines >= 0.5 rate: 70 machines -> 140 req/s.
        var request = new ProvisionRequest("conv-2023", 0, ["baseline-a100"], s_settings) { RateTolerance = 0.01 };
        var log = new List<string>();
        ProvisionOutcome o = Provisioner.MaxThroughput(request, budgetWatts: 455_000, budgetDollarsPerHour: null, Eval(p => FakeEvaluator.Capacity(p), log), TestContext.Current.CancellationToken);
        Assert.Equal(70, o.Best!.Point.Machines);
        Assert.InRange(o.Best.Rate, 140 / 1.01, 140);
        Assert.True(o.Best.Result.SloPass);
        Assert.InRange(o.Simulations, 5, 20);
    }

    [Fact]
    public void Max_throughput_of_a_split_design_searches_the_splits_within_the_budget()
    {
        // Splitwise-AA at iso-cost $1,513.6/h (86 A100): feasible iff P >= 0.3 r, T >= 0.2 r and P + T >= 0.6 r. With
        // P + T = 86 the sum binds: r = 86 / 0.6 = 143.3, reachable for 43 <= P <= 57.
        var request = new ProvisionRequest("conv-2023", 0, ["splitwise-aa"], s_settings) { RateTolerance = 0.005 };
        ProvisionOutcome o = Provisioner.MaxThroughput(request, null, 86 * 17.6, Eval(p => FakeEvaluator.Capacity(p)), TestContext.Current.CancellationToken);
        Assert.Equal(86, o.Best!.Point.Machines);
        Assert.InRange(o.Best.Rate, 86 / 0.6 / 1.005, 86 / 0.6);
        Assert.InRange(o.Best.Point.PromptMachines, 43, 57);
        // One probe per split, plus rate bisections only where a split improves on the best so far.
        Assert.True(o.Simulations < 85 + 45, $"{o.Simulations} simulations");
    }

    [Fact]
    public void Budget_and_design_errors_are_usage_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        var request = new ProvisionRequest("t", 0, ["baseline-a100"], s_settings);
        Assert.Throws<SplitwiseException>(() => Provisioner.MaxThroughput(request, 1, 1, Eval(_ => true), ct));
        Assert.Throws<SplitwiseException>(() => Provisioner.MaxThroughput(request, null, null, Eval(_ => true), ct));
        var bad = request with { Designs = ["baseline-q"] };
        Assert.Contains("unknown design", Assert.Throws<SplitwiseException>(() => Provisioner.Minimize(bad, ProvisionObjective.Cost, Eval(_ => true), ct)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_designs_are_compared_and_the_cheapest_wins()
    {
        var designs = SplitwiseDesignCatalog.All.Select(d => d.Name).ToArray();
        var request = new ProvisionRequest("conv-2023", 40, designs, s_settings, MaxMachines: 64);
        // H100 machines count double.
        bool Pass(SweepPoint p)
        {
            DesignShape d = SplitwiseDesignCatalog.Get(p.Design);
            double Cap(MachineEconomics m) => m.Machine.StartsWith("dgx-h100", StringComparison.Ordinal) ? 2 : 1;
            return d.IsSplit
                ? p.PromptMachines * Cap(d.Prompt) >= 0.3 * p.Rate && p.TokenMachines * Cap(d.Token!.Value) >= 0.2 * p.Rate
                : p.Machines * Cap(d.Prompt) >= 0.5 * p.Rate;
        }

        ProvisionOutcome o = Provisioner.Minimize(request, ProvisionObjective.Cost, Eval(Pass), TestContext.Current.CancellationToken);
        Assert.Equal(6, o.Designs.Count);
        Assert.All(o.Designs, d => Assert.NotNull(d.Best));
        // AA: 12 + 8 A100 = $352/h; baseline-a100 20 x 17.6 = $352/h too; H100 designs: 10 x 38 = $380.
        Assert.Equal(352, o.Best!.DollarsPerHour, 6);
        Assert.Equal(o.Designs.Sum(d => d.Simulations), o.Simulations);
    }
}
