using System.CommandLine;
using Splitwise.Cli;

return await SplitwiseCli.InvokeAsync(args, CliContext.FromProcess());

namespace Splitwise.Cli
{
    /// <summary>The <c>splitwise</c> command line: builds the command tree and runs it.</summary>
    public static class SplitwiseCli
    {
        public static RootCommand Create(CliContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            var root = new RootCommand(
                "Splitwise: characterise LLM inference traces, simulate phase-split serving clusters, replay traces against servers.");
            root.Options.Add(context.Verbose);
            // Subcommands, one file each under Commands/.
            root.Subcommands.Add(Commands.AnalyzeCommand.Create(context));
            root.Subcommands.Add(Commands.GenerateCommand.Create(context));
            root.Subcommands.Add(Commands.SimulateCommand.Create(context));
            root.Subcommands.Add(Commands.PerfModelCommand.Create(context));
            root.Subcommands.Add(Commands.ReplayCommand.Create(context));
            root.Subcommands.Add(Commands.ServeCommand.Create(context));
            root.Subcommands.Add(Commands.ProfileCommand.Create(context));
            root.Subcommands.Add(Commands.SweepCommand.Create(context));
            root.Subcommands.Add(Commands.ProvisionCommand.Create(context));
            return root;
        }

        /// <summary>Parses and runs; parse errors print one line each and exit with code 2.</summary>
        public static async Task<int> InvokeAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(context);
            RootCommand root = Create(context);
            ParseResult parseResult = root.Parse(args);
            if (parseResult.Errors.Count > 0)
            {
                foreach (System.CommandLine.Parsing.ParseError error in parseResult.Errors)
                {
                    await context.Error.WriteLineAsync($"error: {error.Message}");
                }

                await context.Error.WriteLineAsync("Run 'splitwise --help' (or '<command> --help') for usage.");
                return ExitCodes.Usage;
            }

            var configuration = new InvocationConfiguration { Output = context.Output, Error = context.Error };
            return await parseResult.InvokeAsync(configuration, cancellationToken);
        }
    }
}
