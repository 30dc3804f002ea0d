using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>
/// Writes a synthetic Azure-2024-format trace shaped like the 2024 conversation trace: Poisson arrivals over seven
/// days from 2024-05-12 00:00:00+00:00 at microsecond resolution, about 1% whole-second timestamps, sizes drawn
/// jointly from the 2023 conversation trace (or a fixed lognormal-like fallback when it is not available). Seeded:
/// the same arguments give the same bytes.
/// </summary>
internal static class TraceParserSynthetic
{
    public const int FullRows = 27_303_998;

    public static string DefaultPath(int rows) => Path.Combine(Path.GetTempPath(), "splitwise-bench", $"azure2024-synthetic-{rows}.csv");

    /// <summary>Writes the file unless it exists already; returns its path.</summary>
    public static string Ensure(int rows, string? path = null, int seed = 2024)
    {
        path ??= DefaultPath(rows);
        if (File.Exists(path))
        {
            return path;
        }

        var random = new Random(seed);
        (int[] inputs, int[] outputs) = Sizes();
        long[] arrivals = new long[rows];
        int[] ins = new int[rows];
        int[] outs = new int[rows];
        double meanGapTicks = 7.0 * TimeSpan.TicksPerDay / rows;
        double t = 0;
        long previous = 0;
        for (int i = 0; i < rows; i++)
        {
            t += -Math.Log(1.0 - random.NextDouble()) * meanGapTicks;
            long us = (long)t / 10 * 10;
            if (random.Next(100) == 0)
            {
                long whole = us / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond;
                us = whole >= previous ? whole : us;
            }

            arrivals[i] = previous = us;
            int k = random.Next(inputs.Length);
            ins[i] = inputs[k];
            outs[i] = outputs[k];
        }

        var trace = new Trace("synthetic-2024", new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero), arrivals, ins, outs, rows);
        TraceWriter.Write(trace, path, TraceFormat.Azure2024);
        return path;
    }

    private static (int[] Inputs, int[] Outputs) Sizes()
    {
        string? dir = Environment.GetEnvironmentVariable("SPLITWISE_DATA");
        foreach (string? candidate in (string?[])[dir, "/work/shared/data/azure-llm-2023", "../shared/data/azure-llm-2023"])
        {
            string? file = candidate is null ? null : Path.Combine(candidate, "AzureLLMInferenceTrace_conv.csv");
            if (file is not null && File.Exists(file))
            {
                Trace conv = TraceReader.Read(file);
                return (conv.Inputs.ToArray(), conv.Outputs.ToArray());
            }
        }

        var random = new Random(7);
        int[] inputs = new int[20_000];
        int[] outputs = new int[20_000];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (int)Math.Min(14_050, Math.Exp(6.9 + (random.NextDouble() * 2) - 1));
            outputs[i] = (int)Math.Min(1_000, Math.Exp(4.8 + (random.NextDouble() * 2) - 1));
        }

        return (inputs, outputs);
    }
}
