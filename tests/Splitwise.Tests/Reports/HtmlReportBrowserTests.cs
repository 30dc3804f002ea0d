using Splitwise.Reports;
using Splitwise.Tests.Cli;
using Splitwise.Traces;

namespace Splitwise.Tests.Reports;

/// <summary>report.html in a real browser (headless Chromium over the DevTools Protocol), with negative controls proving the check sees errors.</summary>
public class HtmlReportBrowserTests
{
    [Fact]
    public async Task Report_renders_in_chromium_with_every_image_loaded_and_no_console_errors()
    {
        string chromium = HeadlessChromium.Require();
        using var dir = new CliRun.TempDir();
        var rng = new Random(3);
        int n = 2000;
        var trace = new Trace("synthetic", new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero),
            [.. Enumerable.Range(0, n).Select(i => (long)i * 2 * TimeSpan.TicksPerSecond)],
            [.. Enumerable.Range(0, n).Select(_ => rng.Next(1, 8000))],
            [.. Enumerable.Range(0, n).Select(_ => rng.Next(1, 900))], n);
        AnalyzeReport.Write(dir.Path, [TraceAnalyzer.Analyze(trace, sampleSize: 500)]);

        PageCheck page = await HeadlessChromium.LoadAsync(chromium, dir.File(AnalyzeReport.ReportFileName), TestContext.Current.CancellationToken);

        Assert.Empty(page.Errors);
        Assert.Equal(FigureData.Build([TraceAnalyzer.Analyze(trace)]).Count, page.Images);
        Assert.Equal(page.Images, page.ImagesLoaded);
        Assert.Equal("Splitwise trace analysis", page.Title);
    }

    [Fact]
    public async Task Check_detects_console_errors_exceptions_and_broken_images()
    {
        string chromium = HeadlessChromium.Require();
        using var dir = new CliRun.TempDir();
        string page = dir.File("bad.html");
        File.WriteAllText(page, """
            <!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>bad</title></head><body>
            <img src="missing.png" alt="missing">
            <img src="data:image/png;base64,iVBORw0KGgo=" alt="corrupt">
            <script>console.error("deliberate console error"); throw new Error("deliberate exception");</script>
            </body></html>
            """);

        PageCheck check = await HeadlessChromium.LoadAsync(chromium, page, TestContext.Current.CancellationToken);

        Assert.Contains(check.Errors, e => e.Contains("deliberate console error", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.Contains("deliberate exception", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.Contains("missing.png", StringComparison.Ordinal));
        Assert.Equal(2, check.Images);
        Assert.Equal(0, check.ImagesLoaded);
    }
}
