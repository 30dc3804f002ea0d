using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Traces;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise perf-model check</c>: accuracy of the profile and roofline performance models.</summary>
internal static class PerfModelCommand
{
    public static Command Create(CliContext context)
    {
        var profile = new Option<string?>("--profile") { Description = "SplitwiseSim perf_model.csv (default: $SPLITWISE_PROFILE, else <data-dir>/perf_model.csv, downloaded if missing)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default: $SPLITWISE_DATA, else a per-user cache)" };
        var catalog = new Option<string?>("--catalog") { Description = "YAML/JSON catalog extending or overriding GPUs, machines and models" };
        var fit = new Option<bool>("--fit") { Description = "Fit the roofline's global efficiency factors to the profile and report with them" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var check = new Command("check", "Leave-one-out error of the profile model and the roofline model's error against every profile point");
        foreach (Option o in new Option[] { profile, dataDir, catalog, fit, json })
        {
            check.Options.Add(o);
        }

        check.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, () =>
        {
            Catalog cat = pr.GetValue(catalog) is { } c ? Catalog.Load(c) : Catalog.BuiltIn;
            string path = ProfileLocator.Resolve(pr.GetValue(profile), pr.GetValue(dataDir) ?? NamedTraces.DefaultDataDir, context.Error, ct);
            ProfileTable table = ProfileTable.Load(path);
            RooflineFactors factors = pr.GetValue(fit) ? PerformanceCheck.Fit(path, cat) : RooflineFactors.Default;
            PerformanceCheckReport report = PerformanceCheck.Run(table, path, cat, factors);
            if (pr.GetValue(json))
            {
                // JSON nodes, not an anonymous object: no reflection, so the Native AOT tool writes the same bytes.
                var rows = new JsonArray();
                foreach (PerformanceCheckRow r in report.Rows)
                {
                    rows.Add((JsonNode)new JsonObject
                    {
                        ["configuration"] = r.Key.ToString(),
                        ["points"] = r.Points,
                        ["prompt_loo_mape"] = r.PromptLooMape,
                        ["token_loo_mape"] = r.TokenLooMape,
                        ["prompt_point_loo_mape"] = r.PromptPointLooMape,
                        ["token_point_loo_mape"] = r.TokenPointLooMape,
                        ["roofline_cases"] = r.RooflineCases,
                        ["roofline_median_ape"] = r.RooflineMedianApe,
                        ["roofline_max_ape"] = r.RooflineMaxApe,
                    });
                }

                var doc = new JsonObject
                {
                    ["profile"] = path,
                    ["profile_loo_mape"] = report.ProfileLooMape,
                    ["profile_point_loo_mape"] = report.ProfilePointLooMape,
                    ["roofline_median_ape"] = report.RooflineMedianApe,
                    ["roofline_cases"] = report.RooflineCases,
                    ["factors"] = new JsonObject
                    {
                        ["compute"] = factors.Compute,
                        ["memory"] = factors.Memory,
                        ["network"] = factors.Network,
                        ["allreduce_latency_us"] = factors.AllReduceLatencyUs,
                        ["iteration_overhead_us"] = factors.IterationOverheadUs,
                    },
                    ["rows"] = rows,
                };
                context.Output.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }

            var t = new Table().Border(TableBorder.Simple);
            foreach (string h in new[] { "configuration", "x", "LOO prompt", "LOO token", "pt-LOO prompt", "pt-LOO token", "roofline n", "roofline median", "roofline max" })
            {
                t.AddColumn(new TableColumn(h).RightAligned().NoWrap());
            }

            static string P(double v) => double.IsNaN(v) ? "-" : (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";
            foreach (PerformanceCheckRow r in report.Rows)
            {
                t.AddRow(r.Key.ToString(), r.Points.ToString(CultureInfo.InvariantCulture), P(r.PromptLooMape), P(r.TokenLooMape), P(r.PromptPointLooMape), P(r.TokenPointLooMape),
                    r.RooflineCases.ToString(CultureInfo.InvariantCulture), P(r.RooflineMedianApe), P(r.RooflineMaxApe));
            }

            context.Console.Write(t);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"profile model, leave-one-out MAPE over every profile row: {P(report.ProfileLooMape)} (target < 3%)"));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"profile model, leave-one-point-out MAPE (each batch size interpolated from the others): {P(report.ProfilePointLooMape)}"));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"roofline model, median |error| over {report.RooflineCases} profile measurements: {P(report.RooflineMedianApe)} (target <= 15%)"));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"roofline factors: compute {factors.Compute}, memory {factors.Memory}, network {factors.Network}, all-reduce latency {factors.AllReduceLatencyUs} us, iteration overhead {factors.IterationOverheadUs} us{(pr.GetValue(fit) ? " (fitted)" : " (defaults)")}"));
            context.Output.WriteLine($"profile: {path}");
            return 0;
        }, ct));

        var command = new Command("perf-model", "Inspect and check the performance models");
        command.Subcommands.Add(check);
        return command;
    }
}
