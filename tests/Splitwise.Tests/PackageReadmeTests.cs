using System.Runtime.CompilerServices;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Tests.Simulation;
using Splitwise.Tests.Traces;
using Splitwise.Traces;

namespace Splitwise.Tests;

/// <summary>The library package's README example (src/Splitwise/README.md) is this code, and it runs.</summary>
public class PackageReadmeTests
{
    [Fact]
    public void Readme_example_runs_and_finishes_every_request()
    {
        using var dir = new TempDir();
        string tracePath = System.IO.Path.Combine(dir.Path, "sizes.csv");
        TraceWriter.Write(SimKit.Trace((0, 1000, 100), (0, 200, 20), (0, 3000, 5), (0, 50, 400)), tracePath, TraceFormat.Azure2023);

#pragma warning disable xUnit1051 // the README example runs without a test context
        // README begin
        Trace sizes = TraceReader.Read(tracePath); // e.g. AzureLLMInferenceTrace_conv.csv
        ClusterConfig cluster = SplitwiseDesigns.Create("splitwise-hh", promptMachines: 2, tokenMachines: 3);
        cluster = cluster with { Performance = PerformanceModelKind.Roofline };
        var job = new SimulationJob(cluster, new PoissonArrivals(sizes, ratePerSecond: 10, count: 2000, durationNs: -1, seed: 42),
            "conv", OutputDirectory: null, Catalog.BuiltIn, Profile: null);
        SimulationSummary summary = ClusterSimulation.Run(job);
        MetricStats ttft = summary.Metrics["ttft_times"];
        string line = $"{summary.Finished} of {summary.Requests} finished; TTFT p50 {ttft.P50 * 1e3:F1} ms, p99 {ttft.P99 * 1e3:F1} ms";
        Console.WriteLine(line);
        // README end
#pragma warning restore xUnit1051

        Assert.StartsWith("2000 of 2000 finished; TTFT p50 ", line, StringComparison.Ordinal);
        Assert.True(ttft.P99 >= ttft.P50 && ttft.P50 > 0, line);
    }

    [Fact]
    public void Readme_shows_the_example_code_verbatim()
    {
        string[] source = File.ReadAllLines(ThisFile());
        int begin = Array.FindIndex(source, l => l.Trim() == "// README begin");
        int end = Array.FindIndex(source, l => l.Trim() == "// README end");
        string indent = source[begin][..source[begin].IndexOf('/', StringComparison.Ordinal)];
        string[] example = [.. source[(begin + 1)..end].Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l)];

        string readme = File.ReadAllText(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(ThisFile())!, "../../src/Splitwise/README.md")).ReplaceLineEndings("\n");
        int start = readme.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "src/Splitwise/README.md has no ```csharp block");
        string block = readme[(start + "```csharp\n".Length)..readme.IndexOf("\n```", start, StringComparison.Ordinal)];
        string[] lines = block.Split('\n');
        string[] code = [.. lines.SkipWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Length == 0)];
        Assert.Equal(example, code);
        Assert.All(lines.TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal)), u => Assert.Contains(u, source));
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
