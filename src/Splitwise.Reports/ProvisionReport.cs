using System.Globalization;
using Splitwise.Designs;
using Splitwise.Sweeps;

namespace Splitwise.Reports;

/// <summary><c>provision</c>'s <c>report.html</c>: every configuration the search simulated, throughput against cost
/// and against power with the SLO-compliant frontier, the answer highlighted, the per-design table and the answer's SLOs.</summary>
public static class ProvisionReport
{
    /// <summary>A point's size as text: <c>40</c>, or <c>12P + 8T</c> for a Splitwise design.</summary>
    public static string Size(SweepPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return point.IsSplit
            ? string.Create(CultureInfo.InvariantCulture, $"{point.PromptMachines}P + {point.TokenMachines}T")
            : point.Machines.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Every simulated point of the search, priced from the design catalog; a point run at the trace's own
    /// timing (rate 0) has no known rate (NaN) and is left out of the figures.</summary>
    public static IReadOnlyList<DesignTrial> Trials(ProvisionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var trials = new List<DesignTrial>();
        foreach (DesignSearch s in outcome.Designs)
        {
            DesignShape shape = SplitwiseDesignCatalog.Get(s.Design);
            foreach ((SweepPoint p, bool pass) in s.Trials)
            {
                trials.Add(new DesignTrial(p.Design, Size(p), p.Rate > 0 ? p.Rate : double.NaN,
                    shape.DollarsPerHour(p.Machines, p.PromptMachines, p.TokenMachines), shape.ProvisionedWatts(p.Machines, p.PromptMachines, p.TokenMachines) / 1000, pass));
            }
        }

        return trials;
    }

    /// <summary>The figures: <see cref="DesignFrontier"/> over the search's trials, the answer highlighted on both.</summary>
    public static IReadOnlyList<Figure> Figures(ProvisionOutcome outcome, string question)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        IReadOnlyList<DesignConfiguration> configs = DesignFrontier.Configurations(Trials(outcome));
        DesignConfiguration? chosen = outcome.Best is { } b && b.Rate > 0
            ? new DesignConfiguration(b.Design, Size(b.Point), b.Rate, b.DollarsPerHour, b.Watts / 1000)
            : null;
        return DesignFrontier.Build(configs, (chosen, question), (chosen, question));
    }

    /// <summary>Writes the figures and the page into <paramref name="directory"/>; returns the paths, the report last.</summary>
    public static IReadOnlyList<string> Write(string directory, ProvisionOutcome outcome, string question, string? generatedBy = null)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(question);
        var ci = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<string>>();
        var chosen = new HashSet<int>();
        foreach (DesignSearch s in outcome.Designs)
        {
            if (ReferenceEquals(s.Best, outcome.Best) && s.Best is not null)
            {
                chosen.Add(rows.Count);
            }

            rows.Add(s.Best is { } b
                ? [s.Design, Size(b.Point), b.Rate > 0 ? b.Rate.ToString("0.###", ci) : "trace timing", b.DollarsPerHour.ToString("0.#", ci),
                    (b.Watts / 1000).ToString("0.##", ci), b.Result.Slo.WorstRatio.ToString("0.###", ci) + "x", s.Simulations.ToString(ci), s.Note ?? ""]
                : [s.Design, "-", "-", "-", "-", "-", s.Simulations.ToString(ci), s.Note ?? "infeasible"]);
        }

        var tables = new List<ReportTable>
        {
            new("Per design: the best configuration the search found (the answer highlighted)", ["design", "machines", "rate (req/s)", "$/hour", "kW", "SLO worst", "simulations", "note"], rows)
            {
                Highlight = chosen,
            },
        };
        if (outcome.Best is { } best)
        {
            tables.Add(SimulationReport.SloTable(best.Result.Slo));
        }

        string answer = outcome.Best is { } a
            ? string.Create(ci, $"Answer ({question}): {a.Design} with {Size(a.Point)} machines{(a.Rate > 0 ? $" at {a.Rate:0.###} req/s" : "")}, ${a.DollarsPerHour:0.#}/h, {a.Watts / 1000:0.##} kW; {outcome.Simulations} simulations.")
            : $"No design meets the SLOs within the limits ({question}); {outcome.Simulations} simulations.";
        string[] paragraphs =
        [
            answer,
            "Each marker is a configuration (design and size) the search simulated, at the highest rate at which it met every SLO; the staircase is the SLO-compliant frontier: the most throughput any configuration reaches at no more cost (or power). Configurations that never met the SLOs are not drawn.",
        ];
        return ReportPage.Write(directory, Figures(outcome, question), rendered => ReportPage.Build(
            "Splitwise provisioning report", paragraphs, tables, rendered, StatisticsJson.Attribution + ".", generatedBy));
    }
}
