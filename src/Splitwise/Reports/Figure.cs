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
public sealed record FigureSeries(string Label, SeriesKind Kind, double[] X, double[] Y, double BarWidth = 0);

/// <summary>
/// A figure as plain data: what to draw, independent of the plotting library. <see cref="Id"/> is the file stem.
/// When <see cref="XIsTime"/> is set, X values are OLE Automation dates (days since 1899-12-30, UTC).
/// </summary>
public sealed record Figure(string Id, string Title, string XLabel, string YLabel, IReadOnlyList<FigureSeries> Series)
{
    public bool XIsTime { get; init; }

    /// <summary>Y axis from 0 to 100 (percent).</summary>
    public bool YIsPercent { get; init; }
}
