using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Splitwise.Reports;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise analyze &lt;trace&gt;... [--out DIR] [--json] [--no-plots]</c>: statistics and figures.</summary>
internal static class AnalyzeCommand
{
    public static Command Create(CliContext context)
    {
        var traces = new Argument<string[]>("trace")
        {
            Description = "Trace files or named traces (code-2023, conv-2023, code-2024, conv-2024)",
            Arity = ArgumentArity.OneOrMore,
        };
        var outDir = new Option<string>("--out", "-o")
        {
            Description = "Directory for the figures (PNG and SVG) and report.html",
            DefaultValueFactory = _ => Path.Combine("out", "analyze"),
        };
        var json = new Option<bool>("--json") { Description = "Print the statistics as one JSON document on stdout" };
        var noPlots = new Option<bool>("--no-plots") { Description = "Statistics only: no figures, no report" };
        var sample = new Option<int>("--sample")
        {
            Description = "Requests sampled (seeded, uniform) for the scatter plots",
            DefaultValueFactory = _ => TraceAnalyzer.DefaultSampleSize,
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the scatter-plot sample", DefaultValueFactory = _ => 1 };
        var traceOptions = new TraceOptions();

        var command = new Command("analyze", "Characterise traces: request rates, burstiness, token distributions, correlation; the dataset notebook's figures as PNG/SVG and one HTML report");
        command.Arguments.Add(traces);
        command.Options.Add(outDir);
        command.Options.Add(json);
        command.Options.Add(noPlots);
        command.Options.Add(sample);
        command.Options.Add(seed);
        traceOptions.AddTo(command);
        command.SetAction((parseResult, ct) => context.RunAsync(parseResult, () =>
        {
            bool plots = !parseResult.GetValue(noPlots);
            int sampleSize = parseResult.GetValue(sample);
            if (sampleSize < 0)
            {
                throw SplitwiseException.Usage($"--sample {sampleSize}: must be ≥ 0");
            }

            var analyses = new List<TraceAnalysis>();
            foreach (string nameOrPath in parseResult.GetValue(traces) ?? [])
            {
                ct.ThrowIfCancellationRequested();
                (string path, string name) = traceOptions.Resolve(parseResult, nameOrPath, context, ct);
                analyses.Add(TraceAnalyzer.AnalyzeFile(path, name, traceOptions.ReadOptions(parseResult, name), plots ? sampleSize : 0, parseResult.GetValue(seed)));
            }

            var stats = analyses.Select(a => a.Statistics).ToList();
            foreach (TraceStatistics s in stats.Where(s => s.SkippedRows > 0))
            {
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warning: {s.Name}: skipped {s.SkippedRows:N0} invalid rows; first: {string.Join(" | ", s.FirstSkipped)}"));
            }

            foreach (TraceStatistics s in stats.Where(s => s.OutOfOrder > 0))
            {
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"note: {s.Name}: {s.OutOfOrder:N0} arrivals earlier than the row before them; inter-arrival statistics use the sorted arrivals"));
            }

            bool asJson = parseResult.GetValue(json);
            if (asJson)
            {
                using var buffer = new MemoryStream();
                StatisticsJson.Write(buffer, stats);
                context.Output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            }
            else
            {
                WriteTable(context, stats);
            }

            if (plots)
            {
                string dir = parseResult.GetValue(outDir)!;
                IReadOnlyList<string> written = AnalyzeReport.Write(dir, analyses, "splitwise analyze");
                TextWriter note = asJson ? context.Error : context.Output;
                note.WriteLine($"wrote {written.Count - 1} figure files and {Path.Combine(dir, AnalyzeReport.ReportFileName)}");
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static void WriteTable(CliContext context, IReadOnlyList<TraceStatistics> stats)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("metric");
        foreach (TraceStatistics s in stats)
        {
            table.AddColumn(new TableColumn(Markup.Escape(s.Name)).RightAligned());
        }

        foreach ((string metric, string[] values) in SummaryTable.Rows(stats))
        {
            table.AddRow([Markup.Escape(metric), .. values.Select(Markup.Escape)]);
        }

        context.Console.Write(table);
        context.Console.MarkupLine($"[grey]{Markup.Escape(StatisticsJson.Attribution)}[/]");
    }
}
