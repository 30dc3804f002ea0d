using System.Globalization;
using System.Text;

namespace Splitwise.Designs;

/// <summary>The latency an SLO constrains (MISSION.md §5).</summary>
public enum SloMetric
{
    /// <summary>Arrival → first output token.</summary>
    Ttft,

    /// <summary>Per request: mean time between tokens, (E2E − TTFT) / (output tokens − 1); requests with one output
    /// token have no TBT and are left out of TBT SLOs.</summary>
    Tbt,

    /// <summary>Arrival → last token.</summary>
    E2E,
}

/// <summary>Whether an SLO bounds the latency itself or its slowdown against the request alone on an idle reference machine.</summary>
public enum SloKind
{
    /// <summary>Latency ÷ the same request's latency alone on an idle DGX-A100 (TP8) — the paper's SLOs.</summary>
    Slowdown,

    /// <summary>Latency in nanoseconds.</summary>
    Absolute,
}

/// <summary>One SLO: the <see cref="Percentile"/>-th percentile over requests of <see cref="Metric"/> must not exceed
/// <see cref="Target"/> (a slowdown ratio, or nanoseconds for <see cref="SloKind.Absolute"/>).</summary>
public readonly record struct SloTarget(SloMetric Metric, double Percentile, SloKind Kind, double Target)
{
    /// <summary>The SLO's name, as in <c>--slo</c> and the outputs: <c>ttft_p99</c>, <c>tbt_p50</c>, <c>e2e_p99.9</c>.</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"{MetricName(Metric)}_p{Percentile}");

    /// <summary>The target as written in <c>--slo</c>: <c>6x</c>, <c>200ms</c>.</summary>
    public string TargetText => Kind == SloKind.Slowdown
        ? string.Create(CultureInfo.InvariantCulture, $"{Target}x")
        : SloSet.FormatDuration(Target);

    public static string MetricName(SloMetric metric) => metric switch
    {
        SloMetric.Ttft => "ttft",
        SloMetric.Tbt => "tbt",
        _ => "e2e",
    };

    public override string ToString() => $"{Name}={TargetText}";
}

/// <summary>
/// A set of SLOs that must all hold. <see cref="Paper"/> is the paper's nine slowdown SLOs (MISSION.md §3);
/// <see cref="Parse"/> reads <c>--slo</c> text such as <c>ttft_p99=2s,tbt_p99=200ms</c>.
/// </summary>
public sealed record SloSet
{
    public SloSet(IReadOnlyList<SloTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
        {
            throw new ArgumentException("an SLO set needs at least one SLO", nameof(targets));
        }

        foreach (SloTarget t in targets)
        {
            if (!(t.Percentile > 0 && t.Percentile <= 100))
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t.Percentile, $"{t.Name}: percentile must be in (0, 100]");
            }

            if (!(t.Target > 0) || double.IsInfinity(t.Target))
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t.Target, $"{t.Name}: target must be positive and finite");
            }
        }

        Targets = targets;
    }

    public IReadOnlyList<SloTarget> Targets { get; }

    /// <summary>True when some SLO is a slowdown and so needs the idle-machine reference latencies.</summary>
    public bool NeedsIdealLatency => Targets.Any(t => t.Kind == SloKind.Slowdown);

    /// <summary>The paper's nine SLOs: slowdown of TTFT / TBT / E2E at p50 ≤ 2 / 1.25 / 1.25, p90 ≤ 3 / 1.5 / 1.5,
    /// p99 ≤ 6 / 5 / 5 against the request alone on an idle DGX-A100.</summary>
    public static SloSet Paper { get; } = new(
    [
        new(SloMetric.Ttft, 50, SloKind.Slowdown, 2),
        new(SloMetric.Ttft, 90, SloKind.Slowdown, 3),
        new(SloMetric.Ttft, 99, SloKind.Slowdown, 6),
        new(SloMetric.Tbt, 50, SloKind.Slowdown, 1.25),
        new(SloMetric.Tbt, 90, SloKind.Slowdown, 1.5),
        new(SloMetric.Tbt, 99, SloKind.Slowdown, 5),
        new(SloMetric.E2E, 50, SloKind.Slowdown, 1.25),
        new(SloMetric.E2E, 90, SloKind.Slowdown, 1.5),
        new(SloMetric.E2E, 99, SloKind.Slowdown, 5),
    ]);

    /// <summary>
    /// Parses comma-separated <c>metric_pNN=target</c> items: metric <c>ttft</c>, <c>tbt</c> (alias <c>tpot</c>) or
    /// <c>e2e</c>; percentile like <c>p50</c>, <c>p99</c>, <c>p99.9</c> (or <c>p999</c>); target a duration with unit
    /// <c>ns</c>, <c>us</c>, <c>ms</c> or <c>s</c> (absolute) or a factor ending in <c>x</c> (slowdown vs the idle
    /// DGX-A100). The item <c>paper</c> stands for the paper's nine; a later item replaces an earlier one of the same
    /// name. Errors are one line naming the item and what to write instead.
    /// </summary>
    public static SloSet Parse(string text, string source = "--slo")
    {
        ArgumentNullException.ThrowIfNull(text);
        var items = new List<SloTarget>();
        string[] parts = text.Split(',');
        int column = 1;
        foreach (string raw in parts)
        {
            string item = raw.Trim();
            int at = column + (raw.Length - raw.TrimStart().Length);
            column += raw.Length + 1;
            if (item.Length == 0)
            {
                throw SplitwiseException.Usage($"{source} '{text}' column {at}: empty SLO item; write items like ttft_p99=2s separated by commas");
            }

            if (item.Equals("paper", StringComparison.OrdinalIgnoreCase))
            {
                foreach (SloTarget t in Paper.Targets)
                {
                    Upsert(items, t);
                }

                continue;
            }

            Upsert(items, ParseItem(item, text, source, at));
        }

        return new SloSet(items);
    }

    private static void Upsert(List<SloTarget> items, SloTarget target)
    {
        int i = items.FindIndex(t => t.Metric == target.Metric && t.Percentile == target.Percentile);
        if (i >= 0)
        {
            items[i] = target;
        }
        else
        {
            items.Add(target);
        }
    }

    private static SloTarget ParseItem(string item, string text, string source, int column)
    {
        string where = $"{source} '{text}' column {column}";
        int eq = item.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            throw SplitwiseException.Usage($"{where}: '{item}' has no '='; write metric_pNN=target, e.g. ttft_p99=2s or e2e_p50=1.25x");
        }

        string name = item[..eq].Trim().ToLowerInvariant();
        string value = item[(eq + 1)..].Trim();
        int us = name.LastIndexOf("_p", StringComparison.Ordinal);
        if (us < 0)
        {
            throw SplitwiseException.Usage($"{where}: '{name}' is not metric_pNN; write e.g. ttft_p99, tbt_p50 or e2e_p90");
        }

        SloMetric metric = name[..us] switch
        {
            "ttft" => SloMetric.Ttft,
            "tbt" or "tpot" or "itl" => SloMetric.Tbt,
            "e2e" => SloMetric.E2E,
            string other => throw SplitwiseException.Usage($"{where}: unknown metric '{other}'; use ttft, tbt or e2e"),
        };

        string pText = name[(us + 2)..];
        if (!double.TryParse(pText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double percentile))
        {
            throw SplitwiseException.Usage($"{where}: percentile 'p{pText}' is not a number; write p50, p90, p99 or p99.9");
        }

        if (pText.Length >= 3 && !pText.Contains('.', StringComparison.Ordinal) && pText.StartsWith("99", StringComparison.Ordinal))
        {
            percentile = double.Parse("99." + pText[2..], CultureInfo.InvariantCulture); // p999 = p99.9
        }

        if (!(percentile > 0 && percentile <= 100))
        {
            throw SplitwiseException.Usage($"{where}: percentile p{pText} is outside (0, 100]");
        }

        if (value.EndsWith('x') || value.EndsWith('X'))
        {
            if (!double.TryParse(value[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double factor) || !(factor > 0) || double.IsInfinity(factor))
            {
                throw SplitwiseException.Usage($"{where}: slowdown '{value}' is not a positive factor; write e.g. 1.25x");
            }

            return new SloTarget(metric, percentile, SloKind.Slowdown, factor);
        }

        return new SloTarget(metric, percentile, SloKind.Absolute, ParseDuration(value, where));
    }

    /// <summary>Parses <c>200ms</c>, <c>1.5s</c>, <c>750us</c>, <c>100000ns</c> into nanoseconds.</summary>
    public static double ParseDuration(string value, string where)
    {
        ArgumentNullException.ThrowIfNull(value);
        int split = value.Length;
        while (split > 0 && char.IsAsciiLetter(value[split - 1]))
        {
            split--;
        }

        string number = value[..split].Trim(), unit = value[split..].ToLowerInvariant();
        double scale = unit switch
        {
            "ns" => 1,
            "us" or "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "" => throw SplitwiseException.Usage($"{where}: '{value}' has no unit; write ns, us, ms or s (e.g. 200ms), or x for a slowdown"),
            _ => throw SplitwiseException.Usage($"{where}: unknown unit '{unit}' in '{value}'; use ns, us, ms or s, or x for a slowdown"),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double amount) || !(amount > 0) || double.IsInfinity(amount))
        {
            throw SplitwiseException.Usage($"{where}: '{value}' is not a positive duration; write e.g. 200ms or 2s");
        }

        return amount * scale;
    }

    /// <summary>Formats nanoseconds in the largest unit that keeps it readable: <c>2s</c>, <c>200ms</c>, <c>750us</c>.</summary>
    public static string FormatDuration(double nanoseconds) => nanoseconds switch
    {
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e9}s"),
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6}ms"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e3}us"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds}ns"),
    };

    /// <summary>The set as <c>--slo</c> text.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (SloTarget t in Targets)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(t.ToString());
        }

        return sb.ToString();
    }

    public bool Equals(SloSet? other) => other is not null && Targets.SequenceEqual(other.Targets);

    public override int GetHashCode() => Targets.Count;
}
