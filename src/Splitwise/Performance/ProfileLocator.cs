using Splitwise.IO;

namespace Splitwise.Performance;

/// <summary>
/// Finds SplitwiseSim's <c>perf_model.csv</c>: an explicit path, else <c>$SPLITWISE_PROFILE</c>, else
/// <c>perf_model.csv</c> in the data directory, else downloads it there from SplitwiseSim's repository (MIT licence).
/// </summary>
public static class ProfileLocator
{
    public const string ProfileVariable = "SPLITWISE_PROFILE";

    public const string FileName = "perf_model.csv";

    public static readonly Uri OfficialUrl = new("https://raw.githubusercontent.com/Mutinifni/splitwise-sim/main/data/perf_model.csv");

    public static string Resolve(string? explicitPath, string dataDir, TextWriter? log = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(dataDir);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? explicitPath
                : throw SplitwiseException.Usage($"--profile '{explicitPath}' not found; pass SplitwiseSim's perf_model.csv");
        }

        string? env = Environment.GetEnvironmentVariable(ProfileVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return File.Exists(env) ? env
                : throw SplitwiseException.Usage($"${ProfileVariable}='{env}' does not exist; point it at perf_model.csv or unset it");
        }

        string target = Path.Combine(Path.GetFullPath(dataDir), FileName);
        if (File.Exists(target))
        {
            return target;
        }

        log?.WriteLine($"downloading SplitwiseSim's profile from {OfficialUrl} to {target}");
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            client.DefaultRequestHeaders.UserAgent.ParseAdd("splitwise/1.0");
            byte[] bytes = client.GetByteArrayAsync(OfficialUrl, ct).GetAwaiter().GetResult();
            AtomicFile.WriteAllBytes(target, bytes);
        }
        catch (HttpRequestException ex)
        {
            throw new SplitwiseException(
                $"downloading {OfficialUrl} failed: {ex.Message}; put perf_model.csv into {Path.GetDirectoryName(target)}, set ${ProfileVariable}, or pass --profile", ex);
        }

        return target;
    }
}
