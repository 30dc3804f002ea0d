using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Simulation;

public class SimulateReportCommandTests
{
    [Fact]
    public async Task Simulate_report_writes_report_html_with_png_and_svg_figures_and_is_off_by_default()
    {
        using var dir = new CliRun.TempDir();
        string trace = dir.File("tiny.csv");
        File.WriteAllText(trace, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:15:51.0000000,2500,3\n");
        string withReport = dir.File("a"), without = dir.File("b");

        var (code, stdout, stderr) = await CliRunner.RunAsync(["simulate", "--trace", trace, "--machines", "2", "--perf", "roofline", "--slo", "ttft_p99=1s", "--report", "--out", withReport]);
        Assert.True(code == 0, stderr);
        Assert.Contains("figure files and " + Path.Combine(withReport, "report.html"), stdout, StringComparison.Ordinal);
        string html = File.ReadAllText(Path.Combine(withReport, "report.html"));
        Assert.Contains("ttft_p99", html, StringComparison.Ordinal); // the SLO table
        foreach (string id in new[] { "cdf-ttft", "cdf-e2e", "timeline-requests", "timeline-kv-memory", "instance-energy" })
        {
            Assert.True(File.Exists(Path.Combine(withReport, id + ".png")), id);
            Assert.StartsWith("<?xml", File.ReadAllText(Path.Combine(withReport, id + ".svg")), StringComparison.Ordinal);
            Assert.Contains($"href=\"{id}.svg\"", html, StringComparison.Ordinal);
        }

        (code, stdout, stderr) = await CliRunner.RunAsync(["simulate", "--trace", trace, "--machines", "2", "--perf", "roofline", "--out", without]);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("report.html", stdout, StringComparison.Ordinal);
        Assert.Equal(["instances.csv", "requests.csv", "summary.csv", "summary.json"], Directory.GetFiles(without).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
