using System.Globalization;

namespace Splitwise.Reports;

/// <summary>One simulated point of a sweep or a provisioning search: a design at a size, run at a rate.</summary>
/// <param name="Design">Design name.</param>
/// <param name="Size">Its size as text (<c>40</c>, <c>12P + 8T</c>).</param>
/// <param name="Rate">Request rate simulated (requests/s); NaN when the trace's own timing was used and no rate is known.</param>
/// <param name="DollarsPerHour">Price of the cluster.</param>
/// <param name="Kilowatts">Provisioned power of the cluster.</param>
/// <param name="Pass">True when every SLO held.</param>
public sealed record DesignTrial(string Design, string Size, double Rate, double DollarsPerHour, double Kilowatts, bool Pass);

/// <summary>A configuration (design and size) with the highest rate at which it met every SLO: its throughput.</summary>
public sealed record DesignConfiguration(string Design, string Size, double Throughput, double DollarsPerHour, double Kilowatts)
{
    public string Label => $"{Design} {Size}";
}

/// <summary>
/// The paper's Figures 18–19 in form: throughput (the highest SLO-compliant rate) of every configuration against its
/// cost and against its power, one marker series per design, the SLO-compliant frontier (the most throughput any
/// configuration reaches at no more cost, or power) as a staircase, and the chosen answer highlighted.
/// </summary>
public static class DesignFrontier
{
    /// <summary>Each (design, size) that met the SLOs at some rate, with the highest such rate; in first-seen order.
    /// Configurations that never met them have no throughput and are left out.</summary>
    public static IReadOnlyList<DesignConfiguration> Configurations(IEnumerable<DesignTrial> trials)
    {
        ArgumentNullException.ThrowIfNull(trials);
        return [.. trials.Where(t => t.Pass && double.IsFinite(t.Rate))
            .GroupBy(t => (t.Design, t.Size))
            .Select(g => new DesignConfiguration(g.Key.Design, g.Key.Size, g.Max(t => t.Rate), g.First().DollarsPerHour, g.First().Kilowatts))];
    }

    /// <summary>
    /// The frontier over <paramref name="x"/> (cost or power): configurations ordered by x (then by throughput, highest
    /// first) that reach more throughput than every cheaper one — the staircase of the best throughput per budget.
    /// </summary>
    public static IReadOnlyList<DesignConfiguration> Frontier(IReadOnlyList<DesignConfiguration> configurations, Func<DesignConfiguration, double> x)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        ArgumentNullException.ThrowIfNull(x);
        var frontier = new List<DesignConfiguration>();
        double best = double.NegativeInfinity;
        foreach (DesignConfiguration c in configurations.OrderBy(x).ThenByDescending(c => c.Throughput).ThenBy(c => c.Label, StringComparer.Ordinal))
        {
            if (c.Throughput > best)
            {
                frontier.Add(c);
                best = c.Throughput;
            }
        }

        return frontier;
    }

    /// <summary>The two figures. <paramref name="byCost"/> and <paramref name="byPower"/> name the configuration highlighted
    /// on each figure and why (the same answer on both for a provisioning search); <paramref name="idSuffix"/> separates traces.</summary>
    public static IReadOnlyList<Figure> Build(IReadOnlyList<DesignConfiguration> configurations,
        (DesignConfiguration? Chosen, string Why) byCost, (DesignConfiguration? Chosen, string Why) byPower, string idSuffix = "", string titleSuffix = "")
    {
        ArgumentNullException.ThrowIfNull(configurations);
        return
        [
            One($"frontier-cost{idSuffix}", $"Throughput vs cost{titleSuffix}", "cost ($/hour)", configurations, c => c.DollarsPerHour, byCost.Chosen, byCost.Why),
            One($"frontier-power{idSuffix}", $"Throughput vs power{titleSuffix}", "provisioned power (kW)", configurations, c => c.Kilowatts, byPower.Chosen, byPower.Why),
        ];
    }

    /// <summary>The configuration with the most throughput per unit of <paramref name="x"/> (ties: lower x, then label).</summary>
    public static DesignConfiguration? MostPer(IReadOnlyList<DesignConfiguration> configurations, Func<DesignConfiguration, double> x)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        return configurations.Where(c => x(c) > 0).OrderByDescending(c => c.Throughput / x(c)).ThenBy(x).ThenBy(c => c.Label, StringComparer.Ordinal).FirstOrDefault();
    }

    private static Figure One(string id, string title, string xLabel, IReadOnlyList<DesignConfiguration> configurations, Func<DesignConfiguration, double> x,
        DesignConfiguration? chosen, string chosenWhy)
    {
        var series = new List<FigureSeries>();
        foreach (IGrouping<string, DesignConfiguration> design in configurations.GroupBy(c => c.Design))
        {
            series.Add(new FigureSeries(design.Key, SeriesKind.Points, [.. design.Select(x)], [.. design.Select(c => c.Throughput)]));
        }

        IReadOnlyList<DesignConfiguration> frontier = Frontier(configurations, x);
        if (frontier.Count > 0)
        {
            // The staircase holds its last step to the costliest configuration drawn.
            double right = configurations.Max(x);
            double[] fx = [.. frontier.Select(x), .. right > x(frontier[^1]) ? new[] { right } : []];
            double[] fy = [.. frontier.Select(c => c.Throughput), .. right > x(frontier[^1]) ? new[] { frontier[^1].Throughput } : []];
            series.Add(new FigureSeries("SLO-compliant frontier", SeriesKind.Step, fx, fy) { ColorIndex = 7 });
        }

        if (chosen is not null)
        {
            string label = string.Create(CultureInfo.InvariantCulture, $"{chosenWhy}: {chosen.Label} ({chosen.Throughput:0.##} req/s)");
            series.Add(new FigureSeries(label, SeriesKind.Points, [x(chosen)], [chosen.Throughput]) { Emphasis = true, ColorIndex = 3 });
        }

        return new Figure(id, title + " (each configuration at its highest SLO-compliant rate)", xLabel, "throughput (req/s)", series) { FromOrigin = true };
    }
}
