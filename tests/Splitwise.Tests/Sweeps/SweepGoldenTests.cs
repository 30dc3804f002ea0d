using Splitwise.Designs;
using Splitwise.Reports;
using Splitwise.Sweeps;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Sweeps;

/// <summary>
/// <c>sweep</c>, <c>sweep report</c> and <c>provision</c> on hand-written inputs (<see cref="GoldenInputs"/>) against the
/// golden files in <c>Fixtures/sweep/</c> and <c>Fixtures/provision/</c>: the results CSV, a latency CDF, the trials CSV,
/// the JSON and text answers, and the figure data behind the reports' frontier figures.
/// </summary>
public sealed class SweepGoldenTests : IDisposable
{
    private const string Slo = "ttft_p90=200ms,e2e_p50=1s";

    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-golden").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The temporary directory: as a path, in a point's CDF file name, and in the slug a figure id makes of it.
    private string Normalize(string text) => text.Replace(_dir, "<dir>", StringComparison.Ordinal)
        .Replace(_dir.Replace(Path.DirectorySeparatorChar, '_'), "_dir", StringComparison.Ordinal)
        .Replace(FigureData.Slug(_dir), "dir", StringComparison.Ordinal);

    [Fact]
    public async Task Sweep_results_cdfs_and_report_figures_match_the_golden_files()
    {
        GoldenInputs.Write(_dir, "trace.csv", GoldenInputs.Trace);
        GoldenInputs.Write(_dir, "profile.csv", GoldenInputs.Profile);
        string config = GoldenInputs.Write(_dir, "sweep.yaml", $"""
            name: golden
            model: llama2-70b
            perf: profile
            profile: profile.csv
            seed: 1
            duration: 20s
            slo: {Slo}
            traces: [trace.csv]
            rates: [2, 12]
            designs:
              - design: baseline-h100
                machines: [1, 2]
              - design: splitwise-hh
                splits: ["1/1"]
            """);
        string outDir = Path.Combine(_dir, "out");
        (int code, string stdout, string stderr) = await CliRunner.RunAsync(["sweep", "--config", config, "--out", outDir, "--parallel", "2"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("6 points (0 resumed, 6 simulated)", stdout, StringComparison.Ordinal);
        string results = Path.Combine(outDir, "results.csv");
        Golden.Check("sweep/results.csv", Normalize(File.ReadAllText(results)));
        string[] cdfs = [.. Directory.GetFiles(Path.Combine(outDir, "cdf")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Golden.Check("sweep/cdf-files.txt", Normalize(string.Join('\n', cdfs) + "\n"));
        Golden.Check("sweep/cdf-first.csv", File.ReadAllText(Path.Combine(outDir, "cdf", cdfs[0])));

        (code, _, stderr) = await CliRunner.RunAsync(["sweep", "report", results, "--out", Path.Combine(outDir, "report.html")]);
        Assert.True(code == 0, stderr);
        Golden.Check("sweep/report-figures.txt", Normalize(Golden.Describe(SweepReport.FrontierFigures(results))));
    }

    [Fact]
    public async Task Provision_trials_answer_and_report_figures_match_the_golden_files()
    {
        string trace = GoldenInputs.Write(_dir, "trace.csv", GoldenInputs.Trace);
        string profile = GoldenInputs.Write(_dir, "profile.csv", GoldenInputs.Profile);
        string trials = Path.Combine(_dir, "trials.csv");
        string[] args = ["provision", "--trace", trace, "--rate", "3", "--design", "baseline-h100", "--design", "splitwise-hh", "--profile", profile,
            "--duration", "20", "--slo", Slo, "--max-machines", "3"];
        (int code, string json, string stderr) = await CliRunner.RunAsync([.. args, "--trials", trials, "--json"]);
        Assert.True(code == 0, stderr);
        Golden.Check("provision/trials.csv", Normalize(File.ReadAllText(trials)));
        Golden.Check("provision/answer.json", Normalize(json));
        (code, string text, stderr) = await CliRunner.RunAsync(args);
        Assert.True(code == 0, stderr);
        Golden.Check("provision/stdout.txt", Normalize(text));

        // The report's figures from the same search run through the library, as provision --report draws them.
        var settings = new SweepSettings(Profile: profile, DurationSeconds: 20, Slo: SloSet.Parse(Slo));
        var request = new ProvisionRequest(trace, 3, ["baseline-h100", "splitwise-hh"], settings, MaxMachines: 3);
        var evaluator = new SimulationEvaluator(_dir, null, null);
        ProvisionOutcome outcome = Provisioner.Minimize(request, ProvisionObjective.Cost, evaluator.Evaluate, TestContext.Current.CancellationToken);
        Golden.Check("provision/report-figures.txt", Golden.Describe(ProvisionReport.Figures(outcome, "lowest cost meeting all SLOs")));
    }
}
