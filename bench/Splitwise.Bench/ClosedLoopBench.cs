using System.Globalization;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Replay;
using Splitwise.Serving;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// The closed loop's wall-clock accuracy: <c>serve</c> a design on loopback (one machine, or one prompt and one token
/// machine), <c>replay</c> two minutes of conv-2023 against it 4× time-compressed, and print the measured TTFT, TPOT
/// and E2E percentiles beside the simulator's prediction for the same requests (ms of trace time). It depends on the
/// machine's load (timer wake-ups, loopback HTTP, thread-pool hops), so it is a benchmark, not a test:
/// <c>dotnet run -c Release --project bench/Splitwise.Bench -- closed-loop [design ...] [--runs N]</c> with
/// <c>SPLITWISE_DATA</c> and <c>SPLITWISE_PROFILE</c> set; figures in docs/PERFORMANCE.md.
/// </summary>
public static class ClosedLoopBench
{
    private const double Speedup = 4;

    public static async Task<int> Run(string[] args)
    {
        int runs = 1;
        var designs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length)
            {
                runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
            else
            {
                designs.Add(args[i]);
            }
        }

        string? data = Environment.GetEnvironmentVariable("SPLITWISE_DATA");
        string? profilePath = Environment.GetEnvironmentVariable("SPLITWISE_PROFILE");
        if (data is null || profilePath is null)
        {
            Console.Error.WriteLine("closed-loop: set SPLITWISE_DATA (the azure-llm-2023 directory) and SPLITWISE_PROFILE (perf_model.csv)");
            return 2;
        }

        Trace conv = TraceReader.Read(Path.Combine(data, "AzureLLMInferenceTrace_conv.csv"));
        ProfileTable profile = ProfileTable.Load(profilePath);
        foreach (string name in designs.Count > 0 ? designs : ["baseline-h100", "splitwise-hh"])
        {
            for (int run = 1; run <= runs; run++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}, run {run} of {runs}, load average {LoadAverage()}"));
                await Once(name, conv, profile);
            }
        }

        return 0;
    }

    private static async Task Once(string designName, Trace conv, ProfileTable profile)
    {
        ClusterConfig design = SplitwiseDesigns.IsSplitwise(designName)
            ? SplitwiseDesigns.Create(designName, 1, 1)
            : ClusterConfig.ForDesign(designName, 1);
        using EmulatedCluster cluster = EmulatedCluster.FromConfig(design, Catalog.BuiltIn, profile, Speedup);
        await using OpenAiServer server = await OpenAiServer.StartAsync(new ServeOptions { Port = 0, MaxModelLen = 16384 }, cluster);
        string dir = Directory.CreateTempSubdirectory("splitwise-closed-loop-").FullName;
        try
        {
            var runner = new ReplayRunner(new ReplayOptions
            {
                Endpoint = server.BaseAddress,
                Model = "llama2-70b",
                Speedup = Speedup,
                Duration = TimeSpan.FromMinutes(2),
                OutputDirectory = dir,
                Timeout = TimeSpan.FromMinutes(2),
            }, conv);
            ReplaySummary measured = await runner.RunAsync(CancellationToken.None);
            ReplayPredictionResult predicted = ReplayPrediction.Run(runner.Plan, design, Catalog.BuiltIn, profile, Speedup, null, CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {measured.Completed} of {runner.Plan.Count} completed, send lag p99 {measured.SendLagMs!.P99:0.000} ms"));
            Print("TTFT", measured.TtftMs!, predicted.Run.TtftNs);
            Print("TPOT", measured.TpotMs!, predicted.Run.TpotNs);
            Print("E2E", measured.E2eMs!, predicted.Run.E2eNs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Print(string name, LatencyStats measured, long[] predictedNs)
    {
        long[] sorted = (long[])predictedNs.Clone();
        Array.Sort(sorted);
        var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture, $"  {name,-4} measured/predicted ms"));
        foreach ((string p, double q, double m) in new[] { ("p50", 50.0, measured.P50), ("p90", 90.0, measured.P90), ("p99", 99.0, measured.P99) })
        {
            double e = Percentiles.Linear<long>(sorted, q) / 1e6;
            line.Append(CultureInfo.InvariantCulture, $"  {p} {m:0.0}/{e:0.0} ({100 * (m - e) / e:+0.0;-0.0;0.0}%)");
        }

        Console.WriteLine(line);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
