using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// The trace parser on a synthetic Azure-2024-format file (written once under the temp directory). Default: 1 M rows
/// (~42 MB) to keep the run short; the 27.3 M-row figure comes from <see cref="TraceParserThroughput"/>.
/// </summary>
[Config(typeof(Config))]
public class TraceParserBench
{
    /// <summary>Short run, in process: the parser needs no process isolation, and generating a separate benchmark
    /// project takes minutes on a busy 2-core machine.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
            AddDiagnoser(MemoryDiagnoser.Default);
        }
    }

    private string _path = "";

    [Params(1_000_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup() => _path = TraceParserSynthetic.Ensure(Rows);

    /// <summary>Streams the file and sums a column so nothing is optimised away.</summary>
    [Benchmark]
    public long ReadChunks()
    {
        long sum = 0;
        foreach (TraceChunk chunk in TraceReader.ReadChunks(_path))
        {
            foreach (int v in chunk.Inputs)
            {
                sum += v;
            }
        }

        return sum;
    }

    [Benchmark]
    public int ReadWhole() => TraceReader.Read(_path).Count;
}

/// <summary>
/// <c>splitwise-bench traces-throughput [--rows N] [--file PATH] [--repeat K] [--whole]</c>: streams a (synthetic,
/// generated if missing) trace K times — or reads it whole with <c>--whole</c> — and prints MB/s, rows/s and CPU time
/// per pass; run under <c>/usr/bin/time -v</c> for peak RSS.
/// </summary>
internal static class TraceParserThroughput
{
    public static int Run(string[] args)
    {
        int rows = TraceParserSynthetic.FullRows;
        string? file = null;
        int repeat = 3;
        bool whole = false;
        for (int i = 0; i < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--whole":
                    whole = true;
                    i--;
                    break;
                case "--rows":
                    rows = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--file":
                    file = args[i + 1];
                    break;
                case "--repeat":
                    repeat = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        string path = file ?? TraceParserSynthetic.Ensure(rows);
        if (clock.Elapsed.TotalSeconds > 1)
        {
            Console.WriteLine($"wrote {path} in {clock.Elapsed.TotalSeconds:F1} s");
        }

        long bytes = new FileInfo(path).Length;
        for (int r = 0; r < repeat; r++)
        {
            clock.Restart();
            TimeSpan cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            long count = 0, sum = 0;
            if (whole)
            {
                Trace trace = TraceReader.Read(path);
                count = trace.Count;
                sum = trace.SpanTicks;
            }

            foreach (TraceChunk chunk in whole ? [] : TraceReader.ReadChunks(path))
            {
                count += chunk.Count;
                foreach (int v in chunk.Outputs)
                {
                    sum += v;
                }
            }

            double s = clock.Elapsed.TotalSeconds;
            double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine(System.FormattableString.Invariant(
                $"pass {r + 1}: {count:N0} rows, {bytes / 1e6:F0} MB in {s:F3} s = {bytes / 1e6 / s:F0} MB/s, {count / 1e6 / s:F1} M rows/s; CPU {cpu:F2} s = {bytes / 1e6 / cpu:F0} MB per CPU-second (output sum {sum})"));
        }

        return 0;
    }
}
