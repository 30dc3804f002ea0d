using Splitwise.Designs;
using Splitwise.Reports;
using Splitwise.Simulation;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Reports;

public class SimulationReportTests
{
    [Fact]
    public async Task Simulation_report_renders_in_chromium_with_every_image_loaded_and_no_console_errors()
    {
        string chromium = HeadlessChromium.Require();
        using var dir = new CliRun.TempDir();
        SimulationSummary summary = SimulationFiguresTests.Splitwise();
        SloSet slos = SloSet.Parse("ttft_p99=2s,tbt_p50=40ms");
        IReadOnlyList<string> written = SimulationReport.Write(dir.Path, summary, slos);

        PageCheck page = await HeadlessChromium.LoadAsync(chromium, written[^1], TestContext.Current.CancellationToken);

        Assert.Empty(page.Errors);
        Assert.Equal(SimulationFigures.Build(summary, slos).Count, page.Images);
        Assert.Equal(page.Images, page.ImagesLoaded);
        Assert.Equal("Splitwise simulation report", page.Title);
        Assert.Equal((2 * page.Images) + 1, written.Count);
    }

    [Fact]
    public void Report_files_are_byte_identical_across_runs()
    {
        using var a = new CliRun.TempDir();
        using var b = new CliRun.TempDir();
        SimulationReport.Write(a.Path, SimulationFiguresTests.Splitwise());
        SimulationReport.Write(b.Path, SimulationFiguresTests.Splitwise());

        string[] files = [.. Directory.GetFiles(a.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Contains("report.html", files);
        Assert.Contains("timeline-mixed-pool.svg", files);
        foreach (string f in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, f)), File.ReadAllBytes(Path.Combine(b.Path, f)));
        }
    }

    [Fact]
    public void Slo_table_highlights_failing_slos()
    {
        var report = new SloReport(
            [
                new SloOutcome(new SloTarget(SloMetric.Ttft, 99, SloKind.Absolute, 2e9), 1e9, 0.5, true, 10),
                new SloOutcome(new SloTarget(SloMetric.E2E, 50, SloKind.Slowdown, 1.25), 2.5, 2, false, 10),
            ], false, 5, 1.0, 0.5);

        ReportTable t = SimulationReport.SloTable(report);

        Assert.Equal(["ttft_p99", "2s", "1s", "0.5", "pass"], t.Rows[0]);
        Assert.Equal(["e2e_p50", "1.25x", "2.5x", "2", "FAIL"], t.Rows[1]);
        Assert.Equal([1], t.Highlight);
        Assert.StartsWith("SLOs: missed", t.Caption, StringComparison.Ordinal);
    }
}
