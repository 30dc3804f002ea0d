namespace Splitwise.Tests;

/// <summary>
/// Where the real data lives. Tests that need the Azure traces or SplitwiseSim's profile call these: under CI
/// (<c>CI=true</c>) a missing file fails the test; elsewhere the test is skipped with a message saying why.
/// </summary>
internal static class TestData
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Azure 2023 trace directory (<c>$SPLITWISE_DATA</c>, else <c>../shared/data/azure-llm-2023</c> found upwards).</summary>
    public static string AzureDir => Require(FindDir(Environment.GetEnvironmentVariable("SPLITWISE_DATA"), "shared/data/azure-llm-2023", "AzureLLMInferenceTrace_conv.csv"), "the Azure 2023 traces (set SPLITWISE_DATA=../shared/data/azure-llm-2023)");

    public static string ConvTrace => Path.Combine(AzureDir, "AzureLLMInferenceTrace_conv.csv");

    public static string CodeTrace => Path.Combine(AzureDir, "AzureLLMInferenceTrace_code.csv");

    /// <summary>SplitwiseSim's <c>perf_model.csv</c> (<c>$SPLITWISE_PROFILE</c>, else <c>../shared/data/splitwise-sim/perf_model.csv</c> found upwards).</summary>
    public static string PerfModel
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("SPLITWISE_PROFILE");
            string? dir = FindDir(env is null ? null : Path.GetDirectoryName(env), "shared/data/splitwise-sim", "perf_model.csv");
            return Path.Combine(Require(dir, "SplitwiseSim's perf_model.csv (set SPLITWISE_PROFILE=../shared/data/splitwise-sim/perf_model.csv)"), "perf_model.csv");
        }
    }

    /// <summary>SplitwiseSim's recorded outputs (<c>../shared/oracle/splitwise-sim</c> found upwards, or
    /// <c>$SPLITWISE_ORACLE</c>).</summary>
    public static string OracleDir => Require(FindOracleDir(), "SplitwiseSim's oracle runs (../shared/oracle/splitwise-sim; or set SPLITWISE_ORACLE)");

    public static string? FindOracleDir() => FindDir(Environment.GetEnvironmentVariable("SPLITWISE_ORACLE"), "shared/oracle/splitwise-sim", "runs.tsv");

    private static string Require(string? dir, string what)
    {
        if (dir is not null)
        {
            return dir;
        }

        string message = $"missing {what}";
        if (InCi)
        {
            Assert.Fail(message + " — required under CI");
        }

        Assert.Skip(message + " — skipped outside CI");
        return "";
    }

    private static string? FindDir(string? explicitDir, string relative, string marker)
    {
        if (!string.IsNullOrEmpty(explicitDir) && File.Exists(Path.Combine(explicitDir, marker)))
        {
            return Path.GetFullPath(explicitDir);
        }

        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(Path.Combine(candidate, marker)))
            {
                return candidate;
            }
        }

        return null;
    }
}
