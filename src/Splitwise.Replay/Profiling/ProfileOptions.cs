using System.Globalization;
using Splitwise.Replay;

namespace Splitwise.Profiling;

/// <summary>What <c>splitwise profile</c> measures and where it writes the profile.</summary>
/// <remarks>
/// The grid is every (prompt size, batch size) of <see cref="PromptSizes"/> × <see cref="BatchSizes"/> whose batch
/// tokens (prompt size × batch size) fit <see cref="MaxBatchTokens"/>; each point is measured <see cref="Repeats"/>
/// times and each measurement is one row of the profile, as in SplitwiseSim's <c>perf_model.csv</c>.
/// </remarks>
public sealed record ProfileOptions
{
    /// <summary>The server and how to talk to it: endpoint, model, API, tokenizer, key, timeout, prompt seeds and the
    /// forced-length fields — the same client settings (and client) as <c>replay</c>.</summary>
    public required ReplayOptions Client { get; init; }

    /// <summary>The profile's <c>hardware</c> column: the GPU name the simulator looks the profile up by (a catalog
    /// GPU such as <c>a100-80gb</c>, or one defined in a <c>--catalog</c> file).</summary>
    public string Hardware { get; init; } = "unknown";

    /// <summary>The profile's <c>tensor_parallel</c> column: GPUs per instance of the measured deployment.</summary>
    public int TensorParallel { get; init; } = 1;

    /// <summary>Prompt sizes in tokens (the server's count); also the context the decode iterations attend to.</summary>
    public IReadOnlyList<int> PromptSizes { get; init; } = [128, 256, 512, 1024, 2048];

    /// <summary>Concurrent requests per measurement.</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 2, 4, 8];

    /// <summary>Measurements per grid point (SplitwiseSim's file has 5 or 15).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Forced output length of each measured request (the <c>token_size</c> column; SplitwiseSim's is 128).</summary>
    public int OutputTokens { get; init; } = 128;

    /// <summary>Skip grid points whose prompt size × batch size exceeds this; 0 for no limit.</summary>
    public long MaxBatchTokens { get; init; }

    /// <summary>The server is <c>splitwise serve --speedup S</c>: times are multiplied by S so the profile is in the
    /// emulated cluster's own time. 1 for a real server.</summary>
    public double ServerSpeedup { get; init; } = 1;

    /// <summary>The profile CSV to write (atomically).</summary>
    public required string OutputPath { get; init; }

    /// <summary>The grid points to measure, in measurement order (prompt size, then batch size, as given).</summary>
    public IReadOnlyList<(int PromptSize, int BatchSize)> Points() =>
        [.. PromptSizes.SelectMany(p => BatchSizes.Select(b => (p, b))).Where(x => MaxBatchTokens <= 0 || (long)x.p * x.b <= MaxBatchTokens)];

    /// <summary>Validates once; every problem is a usage error naming the flag.</summary>
    public void Validate()
    {
        Client.Validate();
        if (string.IsNullOrWhiteSpace(Hardware) || Hardware.Contains(',', StringComparison.Ordinal))
        {
            throw SplitwiseException.Usage($"--hardware '{Hardware}': give a GPU name without commas (the profile's hardware column, e.g. a100-80gb or your --catalog GPU)");
        }

        if (Client.Model.Contains(',', StringComparison.Ordinal))
        {
            throw SplitwiseException.Usage($"--model '{Client.Model}': a profile's model name cannot contain a comma");
        }

        Positive(PromptSizes, "--prompt-sizes");
        Positive(BatchSizes, "--batch-sizes");
        if (TensorParallel < 1)
        {
            throw SplitwiseException.Usage($"--tp {TensorParallel}: must be at least 1");
        }

        if (Repeats < 1)
        {
            throw SplitwiseException.Usage($"--repeats {Repeats}: must be at least 1");
        }

        if (OutputTokens < 4)
        {
            throw SplitwiseException.Usage($"--output-tokens {OutputTokens}: must be at least 4 so the decode iterations have a steady state to measure");
        }

        if (MaxBatchTokens < 0)
        {
            throw SplitwiseException.Usage($"--max-batch-tokens {MaxBatchTokens}: must be 0 (no limit) or positive");
        }

        if (!(ServerSpeedup > 0) || double.IsInfinity(ServerSpeedup))
        {
            throw SplitwiseException.Usage($"--server-speedup {ServerSpeedup}: must be a positive number (1 for a real server)");
        }

        if (Points().Count == 0)
        {
            throw SplitwiseException.Usage(string.Create(CultureInfo.InvariantCulture,
                $"no grid point has prompt size × batch size <= --max-batch-tokens {MaxBatchTokens}; raise it or give smaller --prompt-sizes/--batch-sizes"));
        }

        if (!Client.SendIgnoreEos && !Client.SendMinTokens)
        {
            throw SplitwiseException.Usage("--no-ignore-eos with --no-min-tokens: the decode measurement needs forced output lengths; keep one of them");
        }
    }

    private static void Positive(IReadOnlyList<int> values, string flag)
    {
        if (values.Count == 0 || values.Any(v => v < 1))
        {
            throw SplitwiseException.Usage($"{flag} '{string.Join(",", values)}': give a comma-separated list of positive integers, e.g. 128,512,2048");
        }

        if (values.Distinct().Count() != values.Count)
        {
            throw SplitwiseException.Usage($"{flag} '{string.Join(",", values)}': a size is listed twice");
        }
    }

    /// <summary>Parses a list such as <c>128,256,512</c>.</summary>
    public static int[] ParseSizes(string text, string flag)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
            {
                throw SplitwiseException.Usage($"{flag} '{text}': '{parts[i]}' is not a positive integer; write e.g. 128,512,2048");
            }
        }

        return sizes.Length > 0 ? sizes
            : throw SplitwiseException.Usage($"{flag} '{text}': give at least one size, e.g. 128,512,2048");
    }
}
