namespace Splitwise.Reports;

/// <summary>How a series is drawn.</summary>
public enum SeriesKind
{
    /// <summary>Vertical bars centred at X with width <see cref="FigureSeries.BarWidth"/>.</summary>
    Bars,

    /// <summary>A line through the points.</summary>
    Line,

    /// <summary>A staircase (value held until the next X), as for an empirical CDF.</summary>
    Step,

    /// <summary>Markers only.</summary>
    Points,
}

/// <summary>One data series of a figure; X and Y have the same length.</summary>
public sealed record FigureSeries(string Label, SeriesKind Kind, double[] X, double[] Y, double BarWidth = 0)
{
    /// <summary>Palette colour index (to match another series, e.g. an SLO marker its metric's curve); null: the series' position.</summary>
    public int? ColorIndex { get; init; }

    /// <summary>Drawn to stand out: large opaque markers (an SLO target, the chosen design), a thick line.</summary>
    public bool Emphasis { get; init; }
}

/// <summary>
/// A figure as plain data: what to draw, independent of the plotting library. <see cref="Id"/> is the file stem.
/// When <see cref="XIsTime"/> is set, X values are OLE Automation dates (days since 1899-12-30, UTC).
/// </summary>
public sealed record Figure(string Id, string Title, string XLabel, string YLabel, IReadOnlyList<FigureSeries> Series)
{
    public bool XIsTime { get; init; }

    /// <summary>Right end of the X axis (a long tail cut off so the body stays readable); null: fit the data.</summary>
    public double? XMax { get; init; }

    /// <summary>Both axes start at 0 (throughput against cost or power).</summary>
    public bool FromOrigin { get; init; }

    /// <summary>Y axis from 0 to 100 (percent).</summary>
    public bool YIsPercent { get; init; }

    /// <summary>Labelled ticks on the X axis instead of numbers (categories, such as designs under grouped bars); null: numeric ticks.</summary>
    public IReadOnlyList<(double X, string Label)>? XTicks { get; init; }
}
