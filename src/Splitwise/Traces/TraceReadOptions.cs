namespace Splitwise.Traces;

/// <summary>How <see cref="TraceReader"/> reads a trace file.</summary>
public sealed record TraceReadOptions
{
    /// <summary>The file format; <see cref="TraceFormat.Auto"/> (the default) detects it from the header.</summary>
    public TraceFormat Format { get; init; } = TraceFormat.Auto;

    /// <summary>
    /// Skip rows that do not parse instead of failing on the first one; the report counts them and keeps the first
    /// few messages (<see cref="TraceReadReport.FirstErrors"/>). Header errors are never skipped.
    /// </summary>
    public bool SkipInvalid { get; init; }

    /// <summary>
    /// Sort the trace by arrival (stable: equal arrivals keep file order) when it is not already sorted. Only
    /// <see cref="TraceReader.Read(string, TraceReadOptions?)"/> sorts; <see cref="TraceReader.ReadChunks(string, TraceReadOptions?)"/>
    /// always yields file order. Default <see langword="true"/>.
    /// </summary>
    public bool Sort { get; init; } = true;

    /// <summary>The <see cref="Trace.Name"/> of the result; default: the file name.</summary>
    public string? DisplayName { get; init; }
}
