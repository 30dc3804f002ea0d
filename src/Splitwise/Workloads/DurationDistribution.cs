using System.Globalization;
using Splitwise.Common;

namespace Splitwise.Workloads;

/// <summary>
/// A distribution of durations for <c>generate --sessions --think-time</c>: <c>exponential:MEAN</c>, <c>constant:D</c>,
/// <c>uniform:A,B</c> (durations written as <see cref="Durations"/> reads them: <c>30s</c>, <c>2m</c>, <c>500ms</c>) or
/// <c>lognormal:MU,SIGMA</c> (of the duration in seconds, as numpy's <c>lognormal</c>). Draws are whole 100 ns ticks, ≥ 0.
/// </summary>
public abstract record DurationDistribution
{
    /// <summary>Draws one duration in 100 ns ticks.</summary>
    public abstract long SampleTicks(RandomStream random);

    /// <summary>The mean in seconds (before rounding to ticks).</summary>
    public abstract double MeanSeconds { get; }

    /// <summary>Parses <c>kind:params</c>; errors are usage errors naming <paramref name="option"/>.</summary>
    public static DurationDistribution Parse(string text, string option)
    {
        const string Forms = "use exponential:MEAN, constant:D, uniform:A,B (durations like 30s, 2m) or lognormal:MU,SIGMA (of seconds)";
        (string kind, string[] args) = SizeDistribution.SplitKind(text);

        double Seconds(int i)
        {
            if (!Durations.TryParseNanoseconds(args[i], out double ns, out _) || ns < 0)
            {
                throw SplitwiseException.Usage($"{option} {text}: \"{args[i]}\" is not a duration ≥ 0; e.g. {option} exponential:60s");
            }

            return ns / 1e9;
        }

        double Number(int i) => double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw SplitwiseException.Usage($"{option} {text}: \"{args[i]}\" is not a number; e.g. {option} lognormal:3.5,1");

        void Need(int n)
        {
            if (args.Length != n)
            {
                throw SplitwiseException.Usage($"{option} {text}: {kind.ToLowerInvariant()} takes {n} parameter{(n == 1 ? "" : "s")}; {Forms}");
            }
        }

        switch (kind)
        {
            case "EXPONENTIAL":
                Need(1);
                return new Exponential(Seconds(0));
            case "CONSTANT":
                Need(1);
                return new Constant(Seconds(0));
            case "UNIFORM":
                Need(2);
                double a = Seconds(0), b = Seconds(1);
                return b >= a ? new Uniform(a, b) : throw SplitwiseException.Usage($"{option} {text}: uniform:A,B needs A ≤ B");
            case "LOGNORMAL":
                Need(2);
                double mu = Number(0), sigma = Number(1);
                return sigma >= 0 && mu < 20
                    ? new LogNormal(mu, sigma)
                    : throw SplitwiseException.Usage($"{option} {text}: lognormal:MU,SIGMA needs SIGMA ≥ 0 and MU < 20 (MU is the log of the median in seconds)");
            default:
                throw SplitwiseException.Usage($"{option} {text}: unknown distribution \"{kind.ToLowerInvariant()}\"; {Forms}");
        }
    }

    private static long Ticks(double seconds) => seconds >= 1e11 ? (long)1e18 : (long)Math.Round(seconds * TimeSpan.TicksPerSecond);

    public sealed record Exponential(double Mean) : DurationDistribution
    {
        public override long SampleTicks(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Ticks(Mean * random.NextExponential());
        }

        public override double MeanSeconds => Mean;
    }

    public sealed record Constant(double Seconds) : DurationDistribution
    {
        public override long SampleTicks(RandomStream random) => Ticks(Seconds);

        public override double MeanSeconds => Seconds;
    }

    public sealed record Uniform(double Low, double High) : DurationDistribution
    {
        public override long SampleTicks(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Ticks(Low + ((High - Low) * random.NextDouble()));
        }

        public override double MeanSeconds => (Low + High) / 2;
    }

    public sealed record LogNormal(double Mu, double Sigma) : DurationDistribution
    {
        public override long SampleTicks(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Ticks(Math.Exp(Mu + (Sigma * random.NextNormal())));
        }

        public override double MeanSeconds => Math.Exp(Mu + (Sigma * Sigma / 2));
    }
}
