using Splitwise.Reports;
using Splitwise.Sweeps;
using Splitwise.Tests.Cli;
using Splitwise.Tests.Sweeps;

namespace Splitwise.Tests.Reports;

public class DesignFrontierTests
{
    private static readonly DesignTrial[] s_trials =
    [
        new("baseline-a100", "10", 5, 176, 65, true),
        new("baseline-a100", "10", 8, 176, 65, false),
        new("baseline-a100", "10", 6, 176, 65, true),
        new("baseline-a100", "20", 12, 352, 130, true),
        new("baseline-a100", "40", 20, 704, 260, false), // never met the SLOs: not drawn
        new("splitwise-aa", "6P + 4T", 9, 176, 65, true),
        new("splitwise-aa", "12P + 8T", 11, 352, 130, true),
        new("splitwise-aa", "3P + 2T", double.NaN, 88, 32.5, true), // trace timing: no rate
    ];

    [Fact]
    public void Configurations_take_the_highest_passing_rate_of_each_design_and_size()
    {
        IReadOnlyList<DesignConfiguration> c = DesignFrontier.Configurations(s_trials);

        Assert.Equal(["baseline-a100 10", "baseline-a100 20", "splitwise-aa 6P + 4T", "splitwise-aa 12P + 8T"], c.Select(x => x.Label));
        Assert.Equal([6.0, 12, 9, 11], c.Select(x => x.Throughput));
    }

    [Fact]
    public void Frontier_keeps_the_configurations_no_cheaper_one_beats()
    {
        IReadOnlyList<DesignConfiguration> c = DesignFrontier.Configurations(s_trials);

        // At $176/h Splitwise-AA 6P + 4T (9 req/s) beats Baseline-A100 10 (6); at $352/h the baseline's 12 beats 11.
        Assert.Equal(["splitwise-aa 6P + 4T", "baseline-a100 20"], DesignFrontier.Frontier(c, x => x.DollarsPerHour).Select(x => x.Label));
        Assert.Equal("splitwise-aa 6P + 4T", DesignFrontier.MostPer(c, x => x.Kilowatts)!.Label);
    }

    [Fact]
    public void Figures_draw_each_design_the_frontier_staircase_and_the_chosen_answer()
    {
        IReadOnlyList<DesignConfiguration> c = DesignFrontier.Configurations(s_trials);
        DesignConfiguration chosen = c[3];

        IReadOnlyList<Figure> figures = DesignFrontier.Build(c, (chosen, "answer"), (null, ""), "-t");

        Assert.Equal(["frontier-cost-t", "frontier-power-t"], figures.Select(f => f.Id));
        Figure cost = figures[0];
        Assert.Equal(["baseline-a100", "splitwise-aa", "SLO-compliant frontier", "answer: splitwise-aa 12P + 8T (11 req/s)"], cost.Series.Select(s => s.Label));
        FigureSeries frontier = cost.Series[2];
        Assert.Equal(SeriesKind.Step, frontier.Kind);
        Assert.Equal([176.0, 352], frontier.X);
        Assert.Equal([9.0, 12], frontier.Y);
        FigureSeries answer = cost.Series[3];
        Assert.True(answer.Emphasis);
        Assert.Equal([352.0], answer.X);
        Assert.DoesNotContain(figures[1].Series, s => s.Emphasis);
        Assert.True(cost.FromOrigin);
    }

    [Fact]
    public async Task Sweep_report_writes_frontier_figures_beside_it_and_loads_in_chromium_without_errors()
    {
        string chromium = HeadlessChromium.Require();
        using var dir = new CliRun.TempDir();
        SweepConfig config = SweepConfig.Parse("""
            traces: [conv-2023]
            rates: [1, 2, 4, 8]
            designs:
              - {design: baseline-a100, machines: "1..6"}
              - {design: splitwise-aa, prompt: [1, 2, 3], token: [1, 2]}
            """, "grid.yaml");
        SweepRunSummary run = await SweepRunner.RunAsync(config, new SweepRunOptions(dir.Path, SweepShard.All),
            (p, _) => FakeEvaluator.Result(p, FakeEvaluator.Capacity(p)), null, TestContext.Current.CancellationToken);

        string html = SweepReport.Write(run.ResultsPath, dir.File("report.html"));

        Assert.True(File.Exists(dir.File("frontier-cost-conv-2023.png")));
        Assert.StartsWith("<?xml", File.ReadAllText(dir.File("frontier-power-conv-2023.svg")), StringComparison.Ordinal);
        PageCheck page = await HeadlessChromium.LoadAsync(chromium, html, TestContext.Current.CancellationToken);
        Assert.Empty(page.Errors);
        Assert.Equal(2, page.Images);
        Assert.Equal(page.Images, page.ImagesLoaded);
    }

    [Fact]
    public async Task Provision_report_highlights_the_answer_and_loads_in_chromium_without_errors()
    {
        string chromium = HeadlessChromium.Require();
        using var dir = new CliRun.TempDir();
        var request = new ProvisionRequest("conv-2023", 0, ["baseline-a100", "splitwise-aa"], SweepSettings.Default) { RateTolerance = 0.05 };
        ProvisionOutcome outcome = Provisioner.MaxThroughput(request, null, 12 * 17.6, (p, _) => FakeEvaluator.Result(p, FakeEvaluator.Capacity(p)), TestContext.Current.CancellationToken);

        IReadOnlyList<string> written = ProvisionReport.Write(dir.Path, outcome, "highest SLO-compliant rate");

        Figure cost = ProvisionReport.Figures(outcome, "highest SLO-compliant rate")[0];
        FigureSeries answer = cost.Series.Single(s => s.Emphasis);
        Assert.Equal([outcome.Best!.DollarsPerHour], answer.X);
        Assert.Equal([outcome.Best.Rate], answer.Y);
        Assert.Contains("class=\"hl\"", File.ReadAllText(written[^1]), StringComparison.Ordinal);
        PageCheck page = await HeadlessChromium.LoadAsync(chromium, written[^1], TestContext.Current.CancellationToken);
        Assert.Empty(page.Errors);
        Assert.Equal(2, page.Images);
        Assert.Equal(page.Images, page.ImagesLoaded);
        Assert.Equal("Splitwise provisioning report", page.Title);
    }
}
