using Splitwise.Cli;

namespace Splitwise.Tests.Cli;

/// <summary>Runs the CLI in-process, as a user would from a shell, capturing its output and exit code.</summary>
internal static class CliRunner
{
    /// <param name="args">The command line.</param>
    /// <param name="timeout">Stops a command that would otherwise run until interrupted (serve), so a test fails instead of hanging.</param>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string[] args, TimeSpan? timeout = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        if (timeout is { } t)
        {
            cts.CancelAfter(t);
        }

        int code = await SplitwiseCli.InvokeAsync(args, new CliContext(output, error, interactive: false), cts.Token);
        return (code, output.ToString(), error.ToString());
    }
}
