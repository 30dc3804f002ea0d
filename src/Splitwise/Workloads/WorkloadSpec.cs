using Splitwise.Traces;

namespace Splitwise.Workloads;

/// <summary>How arrivals are spaced.</summary>
public enum ArrivalKind
{
    /// <summary>Exponential gaps (coefficient of variation 1).</summary>
    Poisson,

    /// <summary>Gamma-distributed gaps with a chosen coefficient of variation (above 1 is burstier than Poisson).</summary>
    Gamma,
}

/// <summary>
/// What <c>splitwise generate</c> produces. Sizes come either from a real trace's (input, output) pairs, drawn jointly
/// (<see cref="LikeInputs"/>/<see cref="LikeOutputs"/>), or from two independent <see cref="SizeDistribution"/>s.
/// Arrivals come from a seeded renewal process at <see cref="Rate"/> until <see cref="Count"/> requests or
/// <see cref="Duration"/>, or — with <see cref="ScaleTo"/> — from the source trace's own arrivals time-scaled so
/// that its mean rate (requests / span) becomes <see cref="ScaleTo"/>, keeping its burstiness.
/// </summary>
public sealed record WorkloadSpec
{
    public int[]? LikeInputs { get; init; }

    public int[]? LikeOutputs { get; init; }

    /// <summary>Arrival ticks of the source trace, sorted (needed by <see cref="ScaleTo"/>).</summary>
    public long[]? LikeArrivals { get; init; }

    public SizeDistribution? Input { get; init; }

    public SizeDistribution? Output { get; init; }

    public double Rate { get; init; }

    public ArrivalKind Arrival { get; init; } = ArrivalKind.Poisson;

    /// <summary>Coefficient of variation of Gamma gaps.</summary>
    public double Cv { get; init; } = 1;

    public long? Count { get; init; }

    public TimeSpan? Duration { get; init; }

    public double? ScaleTo { get; init; }

    public ulong Seed { get; init; }

    public TraceFormat Format { get; init; } = TraceFormat.Azure2024;

    public DateTimeOffset Start { get; init; } = new(2024, 5, 12, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Share of rows (Azure 2024 only) printed as whole seconds, like the real week-long files.</summary>
    public double WholeSecondFraction { get; init; }

    /// <summary>Multi-turn sessions with prefix hash chains (<see cref="Rate"/> is then sessions per second); null: independent requests.</summary>
    public SessionSpec? Sessions { get; init; }

    /// <summary>Checks the combination once; every problem is a usage error naming the flag.</summary>
    public void Validate()
    {
        bool like = LikeInputs is not null;
        if (ScaleTo is { } target)
        {
            if (LikeArrivals is null)
            {
                throw SplitwiseException.Usage("--scale-to needs a source trace: --like <trace>");
            }

            if (!(target > 0) || !double.IsFinite(target))
            {
                throw SplitwiseException.Usage($"--scale-to {target}: must be a positive rate (requests per second)");
            }

            if (Count is not null || Duration is not null || Rate != 0)
            {
                throw SplitwiseException.Usage("--scale-to time-scales the whole source trace; --rate, --count and --duration do not apply");
            }

            if (LikeArrivals.Length < 2)
            {
                throw SplitwiseException.Usage("--scale-to: the source trace needs at least two requests");
            }
        }
        else
        {
            if (!(Rate > 0) || !double.IsFinite(Rate))
            {
                throw SplitwiseException.Usage("--rate R (requests per second, > 0) is required unless --scale-to is given");
            }

            if (Count is null == Duration is null)
            {
                throw SplitwiseException.Usage("give exactly one of --count N or --duration D (e.g. 1h)");
            }

            if (Count is < 1)
            {
                throw SplitwiseException.Usage($"--count {Count}: must be ≥ 1");
            }
        }

        if (like == (Input is not null || Output is not null))
        {
            throw SplitwiseException.Usage(like
                ? "--like draws (input, output) pairs from the trace; do not also give --input/--output"
                : "sizes: give --like <trace>, or both --input and --output distributions (e.g. --input lognormal:7,0.8 --output constant:128)");
        }

        if (!like && (Input is null || Output is null))
        {
            throw SplitwiseException.Usage("give both --input and --output distributions");
        }

        if (Arrival == ArrivalKind.Poisson && Cv != 1)
        {
            throw SplitwiseException.Usage($"--cv {Cv}: Poisson arrivals have CV 1; use --arrival gamma --cv {Cv}");
        }

        if (!(Cv > 0) || !double.IsFinite(Cv) || Cv > 100)
        {
            throw SplitwiseException.Usage($"--cv {Cv}: must be in (0, 100]");
        }

        if (WholeSecondFraction is < 0 or > 1 || double.IsNaN(WholeSecondFraction))
        {
            throw SplitwiseException.Usage($"--whole-second-fraction {WholeSecondFraction}: must be within [0, 1]");
        }

        if (WholeSecondFraction > 0 && !TraceRowWriter.SupportsWholeSeconds(Format))
        {
            throw SplitwiseException.Usage("--whole-second-fraction applies to --format azure2024 only");
        }

        if (Sessions is { } sessions)
        {
            if (ScaleTo is not null)
            {
                throw SplitwiseException.Usage("--sessions draws its own arrivals at --rate sessions/s; --scale-to does not apply");
            }

            if (WholeSecondFraction > 0)
            {
                throw SplitwiseException.Usage("--whole-second-fraction is not supported with --sessions");
            }

            sessions.Validate();
        }
    }
}
