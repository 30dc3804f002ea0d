namespace Splitwise.Traces;

/// <summary>What reading a trace found: rows kept and skipped, the first errors, out-of-order arrivals.</summary>
/// <remarks>
/// From <see cref="TraceReader.ReadChunks(string, TraceReadOptions?, out TraceReadReport)"/> the figures grow as
/// chunks are enumerated and are final once the enumeration completes.
/// </remarks>
public sealed class TraceReadReport
{
    /// <summary>How many <see cref="FirstErrors"/> are kept.</summary>
    public const int MaxErrors = 5;

    private readonly List<string> _firstErrors = [];

    internal TraceReadReport(string path) => Path = path;

    /// <summary>The file as given by the caller.</summary>
    public string Path { get; }

    /// <summary>The format read (detected or given); <see cref="TraceFormat.Azure2024"/> when any of the first rows has a UTC offset or other than seven fractional digits.</summary>
    public TraceFormat Format { get; internal set; }

    /// <summary>Data rows read and kept.</summary>
    public int Rows { get; internal set; }

    /// <summary>Rows skipped as invalid (only with <see cref="TraceReadOptions.SkipInvalid"/>).</summary>
    public int SkippedRows { get; internal set; }

    /// <summary>The first <see cref="MaxErrors"/> skipped rows' messages, in file order, each <c>file:line:column: what: why</c>.</summary>
    public IReadOnlyList<string> FirstErrors => _firstErrors;

    /// <summary>Rows whose arrival is earlier than the arrival of the row kept before them (file order).</summary>
    public int OutOfOrder { get; internal set; }

    /// <summary>True when <see cref="TraceReader.Read(string, TraceReadOptions?, out TraceReadReport)"/> reordered the rows by arrival.</summary>
    public bool Sorted { get; internal set; }

    /// <summary>UTC offset (minutes) of the first row's timestamp; the read trace's <see cref="Trace.Start"/> carries it.</summary>
    internal int FirstOffsetMinutes { get; set; }

    internal void AddError(string message)
    {
        if (_firstErrors.Count < MaxErrors)
        {
            _firstErrors.Add(message);
        }
    }

    /// <summary>One line for a terminal: rows, skipped rows and out-of-order arrivals.</summary>
    public override string ToString()
    {
        var s = new System.Text.StringBuilder();
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        s.Append(culture, $"{Path}: {Rows:N0} rows ({Format})");
        if (SkippedRows > 0)
        {
            s.Append(culture, $", {SkippedRows:N0} invalid rows skipped");
        }

        if (OutOfOrder > 0)
        {
            s.Append(culture, $", {OutOfOrder:N0} arrivals out of order{(Sorted ? " (sorted)" : "")}");
        }

        return s.ToString();
    }
}
