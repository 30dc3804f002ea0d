using System.Globalization;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Replay;
using Splitwise.Serving;
using Splitwise.Traces;

namespace Splitwise.Tests.Replay;

/// <summary>
/// The closed loop: <c>serve</c> a Baseline-H100 emulation on loopback, <c>replay</c> two minutes of conv-2023
/// against it time-compressed, and check the measured TTFT, TPOT and E2E percentiles against the simulator's
/// prediction for the same requests and design.
/// </summary>
/// <remarks>
/// Tolerance per percentile: 10 % of the prediction plus a noise allowance of <see cref="NoiseAllowanceWallMs"/> ms
/// of wall time per measured interval (timer wake-up of the emulator clock and of the replay scheduler, loopback
/// HTTP, SSE parsing and thread-pool hops on a shared 2-core machine). In trace time that allowance is multiplied by
/// the speed-up. TPOT is an average over a request's tokens, so its noise shrinks with the output length.
/// </remarks>
[Collection("ClosedLoop")]
public class ClosedLoopTests
{
    private const double Speedup = 4;
    private const int Machines = 2;
    private const double NoiseAllowanceWallMs = 3;

    [Fact]
    public async Task Serve_and_replay_agree_with_the_simulator_within_ten_percent()
    {
        Trace conv = TraceReader.Read(TestData.ConvTrace);
        ProfileTable profile = ProfileTable.Load(TestData.PerfModel);
        ClusterConfig design = ClusterConfig.ForDesign("baseline-h100", Machines);
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, Catalog.BuiltIn, profile, Speedup);
        await using OpenAiServer server = await OpenAiServer.StartAsync(new ServeOptions { Port = 0 }, cluster, cancellationToken: TestContext.Current.CancellationToken);

        string dir = ReplayTestData.TempDir();
        var options = new ReplayOptions
        {
            Endpoint = server.BaseAddress,
            Model = "llama2-70b",
            Speedup = Speedup,
            Duration = TimeSpan.FromMinutes(2),
            OutputDirectory = dir,
            Timeout = TimeSpan.FromMinutes(2),
        };
        var runner = new ReplayRunner(options, conv);
        ReplaySummary measured = await runner.RunAsync(TestContext.Current.CancellationToken);
        ReplayPredictionResult predicted = ReplayPrediction.Run(runner.Plan, design, Catalog.BuiltIn, profile, Speedup, null, TestContext.Current.CancellationToken);

        Assert.Equal(runner.Plan.Count, measured.Completed);
        Assert.Equal(1.0, measured.ExactInputRate);
        Assert.Equal(0, measured.OutputTokenMismatches);
        var report = new System.Text.StringBuilder();
        var failures = new List<string>();
        Compare("TTFT", measured.TtftMs, predicted.Run.Ttft, report, failures);
        Compare("TPOT", measured.TpotMs, predicted.Run.Tpot, report, failures);
        Compare("E2E", measured.E2eMs, predicted.Run.E2e, report, failures);
        report.AppendLine(CultureInfo.InvariantCulture, $"send lag p99 {measured.SendLagMs.P99:0.000} ms, requests {measured.Completed}");
        TestContext.Current.SendDiagnosticMessage(report.ToString());
        Assert.True(failures.Count == 0, string.Join("; ", failures) + "\n" + report);
    }

    private static void Compare(string name, LatencyStats measured, LatencyStats predicted, System.Text.StringBuilder report, List<string> failures)
    {
        foreach ((string p, double m, double e) in new[] { ("p50", measured.P50, predicted.P50), ("p90", measured.P90, predicted.P90), ("p99", measured.P99, predicted.P99) })
        {
            double tolerance = (0.10 * e) + NoiseAllowanceWallMs;
            double error = m - e;
            report.AppendLine(CultureInfo.InvariantCulture, $"{name} {p}: measured {m:0.00} ms, predicted {e:0.00} ms, error {100 * error / e:+0.0;-0.0} % (tolerance ±{tolerance:0.00} ms)");
            if (Math.Abs(error) > tolerance)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {p} measured {m:0.00} vs predicted {e:0.00}"));
            }
        }
    }
}
