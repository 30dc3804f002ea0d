using System.Globalization;
using System.Text.RegularExpressions;
using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Deploy;

/// <summary>
/// <c>docs/deploy/sweep-slurm.sh</c> on a real (single-node) Slurm: the job array, one task killed and requeued
/// mid-run, the merge job the script's header describes, and the merged bytes against the same sweep run locally.
/// Needs <c>scripts/slurm-up.sh</c> (run by <c>.ci/run</c>) and the installed tool (<see cref="DeployEnvironment.Tool"/>).
/// </summary>
public sealed partial class SlurmSweepTests
{
    // Eight points of ~0.3 s CPU each, two shards of four run one point at a time: a shard is still running when its
    // first row appears, so the requeue lands mid-run.
    private const string Sweep = """
        name: slurm-test
        model: llama2-70b
        perf: profile
        seed: 1
        duration: 3600s
        slo: paper
        traces: [conv-2023]
        rates: [15, 30]
        designs:
          - design: baseline-a100
            machines: [12, 20]
          - design: splitwise-aa
            splits: ["8/6", "12/8"]
        """;

    private static readonly TimeSpan s_jobTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Job_array_with_a_requeued_task_merges_to_the_bytes_of_a_local_run()
    {
        string tool = DeployEnvironment.Tool();
        string dataDir = TestData.AzureDir;
        string profile = TestData.PerfModel;
        string sbatch = DeployEnvironment.OnPath("sbatch") ?? DeployEnvironment.Missing("Slurm (sbatch); start a single-node Slurm with: sudo scripts/slurm-up.sh");
        (int infoCode, string nodes, _) = await Slurm("sinfo", ["-h", "-N", "-o", "%T"]);
        if (infoCode != 0 || !nodes.Split('\n').Any(s => s.Trim() is "idle" or "mixed" or "allocated"))
        {
            DeployEnvironment.Missing($"a running Slurm node (sinfo: '{nodes.Trim()}'); start one with: sudo scripts/slurm-up.sh");
        }

        string dir = Directory.CreateTempSubdirectory("splitwise-slurm-").FullName;
        string config = Path.Combine(dir, "sweep.yaml");
        await File.WriteAllTextAsync(config, Sweep, TestContext.Current.CancellationToken);
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = Path.GetDirectoryName(tool) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["SPLITWISE_DATA"] = dataDir,
            ["SPLITWISE_PROFILE"] = profile,
        };

        // The array as the script's header says, with the test's size: 2 tasks of 1 CPU (command-line options override
        // the #SBATCH lines); --open-mode=append keeps the killed run's log beside the resumed one's.
        string script = Path.Combine(DeployEnvironment.RepoRoot, "docs", "deploy", "sweep-slurm.sh");
        string arrayJob = (await Submit(sbatch, environment,
            ["--parsable", "--array=0-1", "--cpus-per-task=1", "--mem=1G", "--time=10", "--open-mode=append",
             $"--output={dir}/slurm-%A_%a.out", $"--chdir={dir}", script, config, "out"])).Split(';')[0];

        // Kill task 0 once it has finished a point but not all four; Slurm requeues it and it must resume.
        string shard0 = Path.Combine(dir, "out", "results.shard-0000-of-0002.csv");
        int rowsAtKill = await WaitForRows(shard0, atLeast: 1);
        (int requeueCode, _, string requeueErr) = await Slurm("scontrol", ["requeue", $"{arrayJob}_0"]);
        Assert.True(requeueCode == 0, $"scontrol requeue {arrayJob}_0: {requeueErr}");
        Assert.InRange(rowsAtKill, 1, 3);

        string mergeJob = await Submit(sbatch, environment,
            ["--parsable", $"--dependency=afterok:{arrayJob}", $"--output={dir}/merge.out", $"--chdir={dir}",
             "--wrap", "splitwise sweep merge out --config sweep.yaml --out out/results.csv"]);
        await WaitUntilGone(arrayJob, mergeJob);

        string task0 = await File.ReadAllTextAsync(Path.Combine(dir, $"slurm-{arrayJob}_0.out"), TestContext.Current.CancellationToken);
        string merge = await File.ReadAllTextAsync(Path.Combine(dir, "merge.out"), TestContext.Current.CancellationToken);
        Assert.Contains("DUE TO JOB REQUEUE", task0, StringComparison.Ordinal);
        Match resumed = ResumedLine().Match(task0);
        Assert.True(resumed.Success, $"task 0 did not finish after its requeue:\n{task0}");
        // The requeue lands a moment after the test saw rowsAtKill rows, so the task may finish one more point first; it
        // must resume with what its shard holds (at least what the test saw, and not all four: it was cut mid-run).
        Assert.InRange(int.Parse(resumed.Groups[1].Value, CultureInfo.InvariantCulture), rowsAtKill, 3);
        Assert.Contains("Restarts=1", (await Slurm("scontrol", ["show", "job", $"{arrayJob}_0"])).Out, StringComparison.Ordinal);
        Assert.Contains("merged 2 files, 8 points", merge, StringComparison.Ordinal);

        (int code, _, string err) = await CliRunner.RunAsync(["sweep", "--config", config, "--out", Path.Combine(dir, "local"), "--data-dir", dataDir]);
        Assert.True(code == 0, err);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir, "local", "results.csv"), TestContext.Current.CancellationToken),
            await File.ReadAllBytesAsync(Path.Combine(dir, "out", "results.csv"), TestContext.Current.CancellationToken));
        string[] localCdfs = Directory.GetFiles(Path.Combine(dir, "local", "cdf")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.Equal(8, localCdfs.Length);
        Assert.Equal(localCdfs, Directory.GetFiles(Path.Combine(dir, "out", "cdf")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        foreach (string name in localCdfs)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir, "local", "cdf", name), TestContext.Current.CancellationToken),
                await File.ReadAllBytesAsync(Path.Combine(dir, "out", "cdf", name), TestContext.Current.CancellationToken));
        }

        Directory.Delete(dir, recursive: true);
    }

    [GeneratedRegex(@"^4 points \((\d+) resumed, \d+ simulated\)", RegexOptions.Multiline)]
    private static partial Regex ResumedLine();

    private static Task<(int Code, string Out, string Err)> Slurm(string command, string[] args) =>
        DeployEnvironment.RunAsync(command, args, TimeSpan.FromSeconds(30));

    private static async Task<string> Submit(string sbatch, Dictionary<string, string> environment, string[] args)
    {
        (int code, string output, string err) = await DeployEnvironment.RunAsync(sbatch, args, TimeSpan.FromSeconds(30), environment);
        Assert.True(code == 0, $"sbatch {string.Join(' ', args)}: {err}");
        return output.Trim();
    }

    /// <summary>Polls the shard file until it holds at least this many result rows (below its header); returns the count.</summary>
    private static async Task<int> WaitForRows(string path, int atLeast)
    {
        DateTime deadline = DateTime.UtcNow + s_jobTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                int rows = File.ReadAllText(path).Count(c => c == '\n') - 1;
                if (rows >= atLeast)
                {
                    return rows;
                }
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"{path} had no result row after {s_jobTimeout.TotalMinutes} min (see the slurm-*.out files beside it)");
        return 0;
    }

    private static async Task WaitUntilGone(params string[] jobs)
    {
        DateTime deadline = DateTime.UtcNow + s_jobTimeout;
        while (DateTime.UtcNow < deadline)
        {
            (int code, string queued, string err) = await Slurm("squeue", ["-h", "-o", "%i %T %r", "-j", string.Join(',', jobs)]);
            Assert.True(code == 0, $"squeue: {err}");
            if (queued.Trim().Length == 0)
            {
                foreach (string job in jobs)
                {
                    (_, string shown, _) = await Slurm("scontrol", ["show", "job", job]);
                    foreach (Match state in JobState().Matches(shown))
                    {
                        Assert.True(state.Groups[1].Value == "COMPLETED", $"job {job} ended {state.Groups[1].Value}:\n{shown}");
                    }
                }

                return;
            }

            await Task.Delay(250, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Slurm jobs {string.Join(", ", jobs)} still queued after {s_jobTimeout.TotalMinutes} min");
    }

    [GeneratedRegex(@"JobState=(\S+)")]
    private static partial Regex JobState();
}
