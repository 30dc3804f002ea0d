using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Reports;
using Splitwise.Simulation;
using Splitwise.Tests.Simulation;

namespace Splitwise.Tests.Reports;

public class SimulationFiguresTests
{
    internal static SimulationSummary Run(ClusterConfig cluster, int requests = 1500, double rate = 12, ulong seed = 5)
    {
        var sizes = SimKit.Trace((0, 1000, 100), (0, 200, 20), (0, 3000, 5), (0, 50, 400));
        return ClusterSimulation.Run(new SimulationJob(cluster with { Performance = PerformanceModelKind.Roofline },
            new PoissonArrivals(sizes, rate, requests, -1, seed), "poisson", null, Catalog.BuiltIn, null)
        {
            CollectReport = true,
        }, cancellationToken: TestContext.Current.CancellationToken);
    }

    internal static SimulationSummary Splitwise() => Run(SplitwiseDesigns.Create("splitwise-hh", 1, 1));

    [Fact]
    public void Figure_data_of_a_splitwise_run_matches_the_golden_file()
    {
        SloSet slos = SloSet.Parse("ttft_p99=2s,tbt_p50=40ms,e2e_p90=20s");
        IReadOnlyList<Figure> figures = SimulationFigures.Build(Splitwise(), slos);

        Golden.Check("reports/simulate-figures.txt", Golden.Describe(figures));
    }

    [Fact]
    public void A_baseline_run_has_one_pool_and_no_borrowing_figure()
    {
        IReadOnlyList<Figure> figures = SimulationFigures.Build(Run(ClusterConfig.ForDesign("baseline-h100", 2)));

        Assert.DoesNotContain(figures, f => f.Id == "timeline-mixed-pool");
        Assert.DoesNotContain(figures, f => f.Id == "cdf-slowdown");
        Figure kv = figures.Single(f => f.Id == "timeline-kv-memory");
        Assert.Equal("all pool (2 instances)", Assert.Single(kv.Series).Label);
        Assert.All(kv.Series[0].Y, v => Assert.InRange(v, 0, 100));
    }

    [Fact]
    public void Absolute_slo_targets_are_markers_at_target_and_percentile_on_their_metric()
    {
        SloSet slos = SloSet.Parse("ttft_p99=2s,tbt_p50=40ms");
        IReadOnlyList<Figure> figures = SimulationFigures.Build(Splitwise(), slos);

        FigureSeries ttft = figures.Single(f => f.Id == "cdf-ttft").Series.Single(s => s.Emphasis);
        Assert.Equal([2.0], ttft.X);
        Assert.Equal([99.0], ttft.Y);
        FigureSeries tbt = figures.Single(f => f.Id == "cdf-tbt").Series.Single(s => s.Emphasis);
        Assert.Equal([0.04], tbt.X);
        Assert.Equal([50.0], tbt.Y);
        Assert.Equal(1, tbt.ColorIndex); // the TPOT curve's colour: the SLO's TBT is (E2E − TTFT) / (output − 1)
        Assert.DoesNotContain(figures.Single(f => f.Id == "cdf-e2e").Series, s => s.Emphasis);
    }

    [Fact]
    public void Cdf_curves_rise_to_100_percent_and_match_the_summary_percentiles()
    {
        SimulationSummary s = Splitwise();
        FigureSeries ttft = SimulationFigures.Build(s).Single(f => f.Id == "cdf-ttft").Series[0];

        Assert.Equal(100, ttft.Y[^1]);
        Assert.Equal(s.Metrics["ttft_times"].Max, ttft.X[^1], 9);
        Assert.Equal(s.Metrics["ttft_times"].P99, ttft.X[Array.IndexOf(ttft.Y, 99.0)], 9);
        for (int i = 1; i < ttft.X.Length; i++)
        {
            Assert.True(ttft.X[i] >= ttft.X[i - 1] && ttft.Y[i] > ttft.Y[i - 1]);
        }
    }

    [Fact]
    public void Cdf_from_quantiles_leaves_out_unfinished_requests()
    {
        FigureSeries s = SimulationFigures.CdfFromQuantiles("x", [0, 50, 90, 100], [1, 2, double.PositiveInfinity, double.PositiveInfinity]);

        Assert.Equal([1.0, 2.0], s.X);
        Assert.Equal([0.0, 50.0], s.Y);
    }

    private sealed class FixedReference : ISloReference
    {
        public IdealLatency For(int promptTokens, int outputTokens) => new(100, 100 + (10L * (outputTokens - 1)));
    }

    [Fact]
    public void Slowdowns_divide_by_the_idle_latency_and_count_unfinished_requests_as_infinite()
    {
        // Ideal: TTFT 100 ns, TBT 10 ns. Request 0: 2× TTFT, 3× TBT; request 1: 4× TTFT, 1× TBT; request 2 unfinished.
        var requests = new SloRequests([10, 10, 10], [11, 11, 11], [200, 400, -1], [200 + 300, 400 + 100, -1]);

        SlowdownQuantiles q = Slowdowns.Compute(SloSet.Parse("paper-lone"), requests, new FixedReference(), [0, 50, 100]);

        Assert.Equal([2.0, 4.0, double.PositiveInfinity], q.Ttft);
        Assert.Equal([1.0, 3.0, double.PositiveInfinity], q.Tbt);
        Assert.Equal(2.5, q.E2E[0]); // 500 / 200

        // Under --slo paper the CDF shows what the verdict judges: SplitwiseSim's TBT, (E2E − TTFT) / output.
        SlowdownQuantiles paper = Slowdowns.Compute(SloSet.Paper, requests, new FixedReference(), [0, 50, 100]);
        Assert.Equal([100.0 / 11 / 10, 300.0 / 11 / 10, double.PositiveInfinity], paper.Tbt);
    }

    [Fact]
    public void Time_axis_uses_seconds_minutes_or_hours_by_the_run_length()
    {
        SimulationTimelineData Data(long endNs, long bucketNs) => new(bucketNs, endNs, new long[(int)(((endNs - 1) / bucketNs) + 1)], [], [], [], [], null, [], [], [], [], [], []);

        Assert.Equal("s", SimulationFigures.TimeAxis(Data(300_000_000_000, 1_000_000_000)).Unit);
        (double[] x, string unit) = SimulationFigures.TimeAxis(Data(3_600_000_000_000, 8_000_000_000));
        Assert.Equal("min", unit);
        Assert.Equal(4 / 60.0, x[0], 12); // bucket centres
        Assert.Equal("h", SimulationFigures.TimeAxis(Data(604_800_000_000_000, 2_048_000_000_000)).Unit);
    }
}
