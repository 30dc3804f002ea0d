using System.Globalization;
using Splitwise.Common;

namespace Splitwise.Workloads;

/// <summary>
/// A distribution of token counts for <c>generate</c>: <c>constant:N</c>, <c>uniform:A,B</c> (integers, inclusive),
/// <c>normal:MU,SIGMA</c>, <c>lognormal:MU,SIGMA</c> (MU and SIGMA of the underlying normal, as numpy's
/// <c>lognormal</c>). Draws are rounded to the nearest integer and clamped to at least 1.
/// </summary>
public abstract record SizeDistribution
{
    /// <summary>Draws one token count (≥ 1).</summary>
    public abstract int Sample(RandomStream random);

    /// <summary>The mean of the distribution before rounding and clamping.</summary>
    public abstract double Mean { get; }

    /// <summary>Parses <c>kind:params</c>; errors are usage errors naming <paramref name="option"/>.</summary>
    public static SizeDistribution Parse(string text, string option)
    {
        (string kind, string[] args) = SplitKind(text);
        double[] p = new double[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            if (!double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out p[i]) || !double.IsFinite(p[i]))
            {
                throw SplitwiseException.Usage($"{option} {text}: \"{args[i]}\" is not a number; e.g. {option} lognormal:6.5,1.0");
            }
        }

        SizeDistribution Need(int n, Func<SizeDistribution> make) => p.Length == n
            ? make()
            : throw SplitwiseException.Usage($"{option} {text}: {kind.ToLowerInvariant()} takes {n} parameter{(n == 1 ? "" : "s")}; use constant:N, uniform:A,B, normal:MU,SIGMA or lognormal:MU,SIGMA");

        return kind switch
        {
            "CONSTANT" => Need(1, () => p[0] >= 1 && p[0] <= int.MaxValue && p[0] == Math.Floor(p[0])
                ? new Constant((int)p[0])
                : throw SplitwiseException.Usage($"{option} {text}: the constant must be a whole number ≥ 1")),
            "UNIFORM" => Need(2, () => p[0] >= 1 && p[1] >= p[0] && p[1] <= int.MaxValue && p[0] == Math.Floor(p[0]) && p[1] == Math.Floor(p[1])
                ? new Uniform((int)p[0], (int)p[1])
                : throw SplitwiseException.Usage($"{option} {text}: uniform:A,B needs whole numbers 1 ≤ A ≤ B")),
            "NORMAL" => Need(2, () => p[1] >= 0
                ? new Normal(p[0], p[1])
                : throw SplitwiseException.Usage($"{option} {text}: SIGMA must be ≥ 0")),
            "LOGNORMAL" => Need(2, () => p[1] >= 0 && p[0] < 30
                ? new LogNormal(p[0], p[1])
                : throw SplitwiseException.Usage($"{option} {text}: lognormal:MU,SIGMA needs SIGMA ≥ 0 and MU < 30 (MU is the log of the median)")),
            _ => throw SplitwiseException.Usage($"{option} {text}: unknown distribution \"{kind.ToLowerInvariant()}\"; use constant:N, uniform:A,B, normal:MU,SIGMA or lognormal:MU,SIGMA"),
        };
    }

    /// <summary>Splits <c>kind:a,b</c> into the upper-cased kind and its trimmed parameters (shared with <see cref="DurationDistribution"/>).</summary>
    internal static (string Kind, string[] Args) SplitKind(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? text : text[..colon]).Trim().ToUpperInvariant();
        return (kind, colon < 0 ? [] : text[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries));
    }

    private static int Clamp(double v) => v >= int.MaxValue ? int.MaxValue : Math.Max(1, (int)Math.Round(v, MidpointRounding.AwayFromZero));

    public sealed record Constant(int Value) : SizeDistribution
    {
        public override int Sample(RandomStream random) => Value;

        public override double Mean => Value;
    }

    public sealed record Uniform(int Low, int High) : SizeDistribution
    {
        public override int Sample(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Low + (int)random.NextInt64((long)High - Low + 1);
        }

        public override double Mean => (Low + (double)High) / 2;
    }

    public sealed record Normal(double Mu, double Sigma) : SizeDistribution
    {
        public override int Sample(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Clamp(Mu + (Sigma * random.NextNormal()));
        }

        public override double Mean => Mu;
    }

    public sealed record LogNormal(double Mu, double Sigma) : SizeDistribution
    {
        public override int Sample(RandomStream random)
        {
            ArgumentNullException.ThrowIfNull(random);
            return Clamp(Math.Exp(Mu + (Sigma * random.NextNormal())));
        }

        public override double Mean => Math.Exp(Mu + (Sigma * Sigma / 2));
    }
}
