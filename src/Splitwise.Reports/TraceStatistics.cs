namespace Splitwise.Reports;

/// <summary>Summary of one token column: exact percentiles on the integer data (nearest rank).</summary>
public sealed record TokenStatistics(double Mean, int Min, int P50, int P90, int P99, int P999, int Max, long Sum);

/// <summary>
/// What <c>splitwise analyze</c> reports for one trace.
/// </summary>
/// <remarks>
/// Rates are per second over the span from the first to the last arrival: <see cref="MeanRate"/> = requests / span.
/// <see cref="PeakMinuteRate"/> is the busiest clock minute's request count / 60. The inter-arrival coefficient of
/// variation is the population standard deviation of the gaps between consecutive arrivals (in time order) over their
/// mean: 1 for a Poisson process, above 1 for bursty traffic. Correlations are over all requests; Spearman uses
/// mid-ranks for ties.
/// </remarks>
public sealed record TraceStatistics
{
    public required string Name { get; init; }

    public required long Requests { get; init; }

    /// <summary>First arrival (UTC).</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>Last arrival (UTC).</summary>
    public required DateTimeOffset End { get; init; }

    public double SpanSeconds => (End - Start).Ticks / (double)TimeSpan.TicksPerSecond;

    public required double MeanRate { get; init; }

    public required double PeakMinuteRate { get; init; }

    /// <summary>Start of the busiest clock minute (UTC).</summary>
    public required DateTimeOffset PeakMinute { get; init; }

    public required double InterArrivalCv { get; init; }

    public required TokenStatistics Input { get; init; }

    public required TokenStatistics Output { get; init; }

    public required double Pearson { get; init; }

    public required double Spearman { get; init; }

    public required double InputTokensPerSecond { get; init; }

    public required double OutputTokensPerSecond { get; init; }

    /// <summary>Rows whose arrival is earlier than the row before them in the file.</summary>
    public required long OutOfOrder { get; init; }

    /// <summary>Rows skipped as invalid (<c>--skip-invalid</c>).</summary>
    public long SkippedRows { get; init; }

    /// <summary>The first skipped rows' messages (file:line:column: why).</summary>
    public IReadOnlyList<string> FirstSkipped { get; init; } = [];

    /// <summary>Distinct (input, output) pairs.</summary>
    public required long DistinctPairs { get; init; }

    /// <summary>Prefix reuse when the trace has hash chains (Mooncake <c>hash_ids</c>); null otherwise.</summary>
    public PrefixReuse? Prefix { get; init; }
}
