// TEMPORARY: a minimal stand-in for the trace reader being built on the `traces` branch, with the same signatures, so
// the analyze/generate work compiles and runs before that lands. Deleted when main has the real reader.
using System.Globalization;

namespace Splitwise.Traces;

public enum TraceFormat { Auto, Azure2023, Azure2024, SplitwiseSim, Vidur, Mooncake }

public sealed record TraceReadOptions
{
    public TraceFormat Format { get; init; } = TraceFormat.Auto;
    public bool SkipInvalid { get; init; }
    public bool Sort { get; init; } = true;
    public string? DisplayName { get; init; }
}

public sealed class TraceReadReport
{
    public int Rows { get; init; }
    public int SkippedRows { get; init; }
    public IReadOnlyList<string> FirstErrors { get; init; } = [];
    public int OutOfOrder { get; init; }
    public bool Sorted { get; init; }
    public TraceFormat Format { get; init; }
}

public sealed class TraceChunk
{
    public long[] ArrivalTicks { get; } = new long[4096];
    public int[] InputTokens { get; } = new int[4096];
    public int[] OutputTokens { get; } = new int[4096];
    public int Count { get; set; }
}

public static class TraceReader
{
    public static Trace Read(string path, TraceReadOptions? options = null) => Read(path, options, out _);

    public static Trace Read(string path, TraceReadOptions? options, out TraceReadReport report)
    {
        var t = new List<long>();
        var x = new List<int>();
        var y = new List<int>();
        foreach (TraceChunk c in ReadChunks(path, options))
        {
            t.AddRange(c.ArrivalTicks.AsSpan(0, c.Count));
            x.AddRange(c.InputTokens.AsSpan(0, c.Count));
            y.AddRange(c.OutputTokens.AsSpan(0, c.Count));
        }

        long[] ta = [.. t];
        int[] xa = [.. x], ya = [.. y];
        if (options?.Sort != false)
        {
            int[] idx = Enumerable.Range(0, ta.Length).ToArray();
            Array.Sort((long[])ta.Clone(), idx);
            ta = idx.Select(i => ta[i]).ToArray();
            xa = idx.Select(i => xa[i]).ToArray();
            ya = idx.Select(i => ya[i]).ToArray();
        }

        long start = ta.Length > 0 ? ta.Min() : 0;
        report = new TraceReadReport { Rows = ta.Length, Sorted = true };
        return new Trace(options?.DisplayName ?? Path.GetFileName(path), new DateTimeOffset(start, TimeSpan.Zero), ta.Select(v => v - start).ToArray(), xa, ya, ta.Length);
    }

    public static IEnumerable<TraceChunk> ReadChunks(string path, TraceReadOptions? options = null)
    {
        if (!File.Exists(path))
        {
            throw new SplitwiseException($"{path}: no such file");
        }

        using var reader = new StreamReader(path.EndsWith(".gz", StringComparison.Ordinal)
            ? new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress)
            : File.OpenRead(path));
        string? header = reader.ReadLine();
        var chunk = new TraceChunk();
        int line = 1;
        while (reader.ReadLine() is { } l)
        {
            line++;
            if (l.Length == 0)
            {
                continue;
            }

            string[] f = l.Split(',');
            try
            {
                chunk.ArrivalTicks[chunk.Count] = DateTimeOffset.Parse(f[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).UtcTicks;
                chunk.InputTokens[chunk.Count] = int.Parse(f[1], CultureInfo.InvariantCulture);
                chunk.OutputTokens[chunk.Count] = int.Parse(f[2], CultureInfo.InvariantCulture);
            }
            catch (FormatException) when (options?.SkipInvalid == true)
            {
                continue;
            }
            catch (FormatException e)
            {
                throw new SplitwiseException($"{path}:{line}: {e.Message}");
            }

            if (++chunk.Count == chunk.ArrivalTicks.Length)
            {
                yield return chunk;
                chunk.Count = 0;
            }
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }

        _ = header;
    }
}

public static class NamedTraces
{
    private static readonly Dictionary<string, string> s_files = new(StringComparer.Ordinal)
    {
        ["code-2023"] = "AzureLLMInferenceTrace_code.csv",
        ["conv-2023"] = "AzureLLMInferenceTrace_conv.csv",
        ["code-2024"] = "AzureLLMInferenceTrace_code_1week.csv",
        ["conv-2024"] = "AzureLLMInferenceTrace_conv_1week.csv",
    };

    public static bool IsNamed(string s) => s_files.ContainsKey(s);

    public static string DefaultDataDir => Environment.GetEnvironmentVariable("SPLITWISE_DATA") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "splitwise");

    public static string Resolve(string nameOrPath, string? dataDir)
    {
        if (!IsNamed(nameOrPath))
        {
            return File.Exists(nameOrPath) ? nameOrPath : throw new SplitwiseException($"{nameOrPath}: no such file", ExitCodes.Usage);
        }

        string p = Path.Combine(dataDir ?? DefaultDataDir, s_files[nameOrPath]);
        return File.Exists(p) ? p : throw new SplitwiseException($"{nameOrPath}: not found at {p}");
    }
}
