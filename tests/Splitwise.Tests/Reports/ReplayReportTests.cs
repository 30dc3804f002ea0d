using Splitwise.Replay;
using Splitwise.Reports;
using Splitwise.Tests.Replay;

namespace Splitwise.Tests.Reports;

public class ReplayReportTests
{
    private static RequestResult Ok(int i, long sentMs, long ttftMs, params long[] itlMs) => new()
    {
        Index = i,
        SentNs = sentMs * 1_000_000,
        TtftNs = ttftMs * 1_000_000,
        E2eNs = (ttftMs + itlMs.Sum()) * 1_000_000,
        ItlNs = [.. itlMs.Select(v => v * 1_000_000)],
        ContentChunks = itlMs.Length + 1,
    };

    private static RequestResult Failed(int i, long sentMs, string error) => new() { Index = i, SentNs = sentMs * 1_000_000, Error = error };

    [Fact]
    public void Figures_put_measured_beside_predicted_and_count_failures_by_reason_over_time()
    {
        RequestResult?[] rows =
        [
            Ok(0, 0, 100, 10, 30),
            Ok(1, 500, 300, 20),
            Failed(2, 990, "timeout"),
            Failed(3, 999, "http_500"),
            Failed(4, 999, "timeout"),
            null, // never sent
        ];
        var predicted = new PredictedRun("Baseline-H100 × 1", [50_000_000, 60_000_000], [10_000_000], [80_000_000, 90_000_000]);

        IReadOnlyList<Figure> figures = ReplayFigures.Build(rows, predicted);

        Assert.Equal(["cdf-ttft", "cdf-tpot", "cdf-e2e", "cdf-itl", "timeline-ttft", "timeline-itl", "timeline-failures"], figures.Select(f => f.Id));
        Figure ttft = figures[0];
        Assert.Equal(["measured", "predicted (Baseline-H100 × 1)"], ttft.Series.Select(s => s.Label));
        Assert.Equal(100, ttft.Series[0].X[0]); // ms
        Assert.Equal(300, ttft.Series[0].X[^1]);
        Assert.Equal(60, ttft.Series[1].X[^1]);
        Assert.Equal([10.0, 20, 30], figures[3].Series.Single().X.Distinct().Where(v => v is 10 or 20 or 30).Order());
        Figure failures = figures[6];
        Assert.Equal(["completed", "failed: http_500", "failed: timeout"], failures.Series.Select(s => s.Label));
        Assert.Equal([2.0, 1, 2], failures.Series.Select(s => s.Y.Sum()));
        Assert.Equal(2, failures.Series[2].Y[^1]); // both timeouts were sent in the last bucket
        Figure overTime = figures[4];
        Assert.Equal(["p50", "p99"], overTime.Series.Select(s => s.Label));
        Assert.Equal(100, overTime.Series[0].Y[0]);
        Golden.Check("reports/replay-figures.txt", Golden.Describe(figures));
    }

    [Fact]
    public async Task Replay_report_of_a_run_with_failures_loads_in_chromium_with_its_figures_beside_it()
    {
        string chromium = HeadlessChromium.Require();
        await using var server = new FakeHttpServer(async (n, stream, socket) =>
        {
            if (n % 2 == 0)
            {
                await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
            }
            else
            {
                await FakeHttpServer.WriteAsync(stream, "HTTP/1.1 500 Internal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        string dir = ReplayTestData.TempDir();
        var runner = new ReplayRunner(ReplayTestData.Options(server.BaseAddress, dir) with { MaxConcurrency = 1, SendMinTokens = false }, ReplayTestData.Uniform(6, 5, output: 2));
        ReplaySummary summary = await runner.RunAsync(TestContext.Current.CancellationToken);

        IReadOnlyList<string> written = ReplayReportPage.Write(dir, summary, runner.Results, null);

        Assert.True(File.Exists(Path.Combine(dir, "timeline-failures.svg")));
        Assert.Equal(Path.Combine(dir, "report.html"), written[^1]);
        PageCheck page = await HeadlessChromium.LoadAsync(chromium, written[^1], TestContext.Current.CancellationToken);
        Assert.Empty(page.Errors);
        Assert.Equal(7, page.Images);
        Assert.Equal(page.Images, page.ImagesLoaded);
        Assert.Equal("Splitwise replay report", page.Title);
    }
}
