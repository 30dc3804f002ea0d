using System.CommandLine;
using Spectre.Console;

namespace Splitwise.Cli;

/// <summary>
/// What every subcommand writes to and how it reports errors. Tests construct one over <see cref="StringWriter"/>s to
/// capture the output.
/// </summary>
public sealed class CliContext
{
    public CliContext(TextWriter output, TextWriter error, bool interactive)
    {
        Output = output;
        Error = error;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive)
        {
            Console.Profile.Width = 160;
        }
    }

    /// <summary>The process's console: stdout/stderr, interactive when stdout is a terminal.</summary>
    public static CliContext FromProcess() =>
        new(System.Console.Out, System.Console.Error, !System.Console.IsOutputRedirected);

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>True when output goes to a terminal: progress bars and colours are shown only then.</summary>
    public bool Interactive { get; }

    /// <summary>Spectre console over <see cref="Output"/> for tables and progress.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>The global <c>--verbose</c> option: stack traces on errors.</summary>
    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "Print stack traces with errors",
        Recursive = true,
    };

    /// <summary>Runs a command body, turning exceptions into one line on stderr and an exit code.</summary>
    public async Task<int> RunAsync(ParseResult parseResult, Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(body);
        bool verbose = parseResult.GetValue(Verbose);
        try
        {
            return await body(cancellationToken);
        }
        catch (SplitwiseException ex)
        {
            await Error.WriteLineAsync($"error: {ex.Message}");
            if (verbose)
            {
                await Error.WriteLineAsync(ex.ToString());
            }

            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Error.WriteLineAsync("error: interrupted; results finished so far were kept");
            return 130;
        }
        catch (Exception ex)
        {
            await Error.WriteLineAsync($"error: {ex.Message}{(verbose ? "" : " (run with --verbose for details)")}");
            if (verbose)
            {
                await Error.WriteLineAsync(ex.ToString());
            }

            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// Runs <paramref name="start"/> under a Spectre progress bar named <paramref name="name"/>, polling
    /// <paramref name="poll"/> (done so far, total, description) four times a second until the run completes.
    /// </summary>
    public async Task<T> RunWithProgressAsync<T>(string name, Func<Task<T>> start, Func<(double Done, double Total, string Description)> poll)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(poll);
        T result = default!;
        await Console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                ProgressTask task = ctx.AddTask(name, maxValue: Math.Max(1, poll().Total));
                Task<T> run = start();
                while (!run.IsCompleted)
                {
                    await Task.WhenAny(run, Task.Delay(250, CancellationToken.None));
                    (double done, double total, string description) = poll();
                    task.MaxValue = Math.Max(1, total);
                    task.Value = done;
                    task.Description = description;
                }

                result = await run;
            });
        return result;
    }

    /// <summary>Synchronous convenience over the asynchronous overload.</summary>
    public Task<int> RunAsync(ParseResult parseResult, Func<int> body, CancellationToken cancellationToken) =>
        RunAsync(parseResult, _ => Task.FromResult(body()), cancellationToken);
}
