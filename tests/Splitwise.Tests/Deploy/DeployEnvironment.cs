using System.Diagnostics;

namespace Splitwise.Tests.Deploy;

/// <summary>
/// What the deploy tests need from the machine: the installed <c>splitwise</c> tool, a running Slurm, <c>kubectl</c>.
/// Under CI (<c>CI=true</c>, where <c>.ci/run</c> installs the tool and starts Slurm) a missing piece fails the test;
/// elsewhere the test is skipped with a message saying how to provide it.
/// </summary>
internal static class DeployEnvironment
{
    /// <summary>The repository root (the directory holding <c>Splitwise.slnx</c>).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The installed tool's command: <c>$SPLITWISE_TOOL</c>, else <c>splitwise</c> on the PATH.</summary>
    public static string Tool()
    {
        string? explicitPath = Environment.GetEnvironmentVariable("SPLITWISE_TOOL");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : Missing($"SPLITWISE_TOOL={explicitPath}: no such file");
        }

        return OnPath("splitwise") ?? Missing("the installed splitwise tool (dotnet pack src/Splitwise.Cli -c Release -o nupkg; dotnet tool install --tool-path DIR --add-source nupkg Splitwise.Cli; set SPLITWISE_TOOL=DIR/splitwise)");
    }

    /// <summary>Fails under CI, skips elsewhere; returns only to satisfy the compiler.</summary>
    public static string Missing(string what)
    {
        string message = $"missing {what}";
        if (TestData.InCi)
        {
            Assert.Fail(message + " — required under CI");
        }

        Assert.Skip(message + " — skipped outside CI");
        return "";
    }

    public static string? OnPath(string command)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs a program to completion; a program still running after <paramref name="timeout"/> is killed and fails the test.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? RepoRoot,
        };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Splitwise.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Splitwise.slnx above {AppContext.BaseDirectory}");
    }
}
