using System.Globalization;
using System.Text;
using Splitwise.Common;

namespace Splitwise.Designs;

/// <summary>The latency an SLO constrains (MISSION.md §5).</summary>
public enum SloMetric
{
    /// <summary>Arrival (or send) → first output token.</summary>
    Ttft,

    /// <summary>Per request: mean time between tokens, TPOT = (E2E − TTFT) / (output tokens − 1); requests with one
    /// output token have no TBT and are left out of TBT SLOs.</summary>
    Tbt,

    /// <summary>Arrival (or send) → last token.</summary>
    E2E,

    /// <summary>Inter-token latency: every gap between consecutive output chunks of every request (a percentile SLO is
    /// over all gaps; a per-request bound applies to the request's largest gap). Where the source records no gaps (the
    /// simulator), each request's mean gap (its TBT) stands in, and the outcome says so.</summary>
    Itl,
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
    public string Name => string.Create(CultureInfo.InvariantCulture, $"{SloSet.MetricName(Metric)}_p{Percentile}");

    /// <summary>The target as written in <c>--slo</c>: <c>6x</c>, <c>200ms</c>.</summary>
    public string TargetText => SloSet.FormatTarget(Kind, Target);

    public override string ToString() => $"{Name}={TargetText}";
}

/// <summary>A per-request bound for goodput: a request is good only if its <see cref="Metric"/> is at most
/// <see cref="Limit"/> (a slowdown ratio, or nanoseconds for <see cref="SloKind.Absolute"/>). Written <c>ttft=2s</c>
/// (a metric without a percentile).</summary>
public readonly record struct SloBound(SloMetric Metric, SloKind Kind, double Limit)
{
    /// <summary>The metric's name: <c>ttft</c>, <c>tbt</c>, <c>e2e</c>, <c>itl</c>.</summary>
    public string Name => SloSet.MetricName(Metric);

    public string LimitText => SloSet.FormatTarget(Kind, Limit);

    public override string ToString() => $"{Name}={LimitText}";
}

/// <summary>
/// A set of SLOs that must all hold, plus the per-request rule for goodput. <see cref="Paper"/> is the paper's nine
/// slowdown SLOs (MISSION.md §3); <see cref="Parse"/> reads <c>--slo</c> text such as <c>ttft_p99=2s,tbt_p99=200ms</c>.
/// The one model for <c>simulate</c>, <c>sweep</c>, <c>provision</c> and <c>replay</c>.
/// </summary>
/// <remarks>
/// Goodput counts the requests that finished and are within, per request, the explicit <see cref="Bounds"/> when the
/// set has any (every bound, like vLLM's <c>--goodput</c>); otherwise the loosest (highest-percentile) target the set
/// gives for each of TTFT, TBT and E2E (for the paper's nine: 6×, 5×, 5×). See <see cref="SloEvaluator"/>.
/// </remarks>
public sealed record SloSet
{
    public SloSet(IReadOnlyList<SloTarget> targets, IReadOnlyList<SloBound>? bounds = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        bounds ??= [];
        if (targets.Count == 0 && bounds.Count == 0)
        {
            throw new ArgumentException("an SLO set needs at least one SLO", nameof(targets));
        }

        foreach (SloTarget t in targets)
        {
            if (!(t.Percentile > 0 && t.Percentile <= 100))
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t.Percentile, $"{t.Name}: percentile must be in (0, 100]");
            }

            CheckValue(t.Name, t.Target, nameof(targets));
        }

        foreach (SloBound b in bounds)
        {
            CheckValue(b.Name, b.Limit, nameof(bounds));
        }

        Targets = targets;
        Bounds = bounds;
    }

    /// <summary>The percentile SLOs, each judged pass/fail.</summary>
    public IReadOnlyList<SloTarget> Targets { get; }

    /// <summary>Explicit per-request goodput bounds (<c>ttft=2s</c>); empty when goodput uses the loosest targets.</summary>
    public IReadOnlyList<SloBound> Bounds { get; }

    /// <summary>True when some SLO or bound is a slowdown and so needs the idle-machine reference latencies.</summary>
    public bool NeedsIdealLatency => Targets.Any(t => t.Kind == SloKind.Slowdown) || Bounds.Any(b => b.Kind == SloKind.Slowdown);

    /// <summary>What slowdowns divide by: the paper's definition (default) or the request alone token by token.</summary>
    public SlowdownReference Reference { get; init; } = SlowdownReference.Paper;

    /// <summary>True when some SLO or bound is on <see cref="SloMetric.Itl"/>.</summary>
    public bool HasItl => Targets.Any(t => t.Metric == SloMetric.Itl) || Bounds.Any(b => b.Metric == SloMetric.Itl);

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
    /// Parses comma-separated items:
    /// <list type="bullet">
    /// <item><c>metric_pNN=target</c>, a percentile SLO: metric <c>ttft</c>, <c>tbt</c> (alias <c>tpot</c>),
    /// <c>e2e</c> or <c>itl</c>; percentile like <c>p50</c>, <c>p99</c>, <c>p99.9</c> (or <c>p999</c>);</item>
    /// <item><c>metric=target</c>, a per-request goodput bound (<see cref="SloBound"/>);</item>
    /// <item><c>paper</c>, the paper's nine, judged as SplitwiseSim's notebooks do (<see cref="SlowdownReference.Paper"/>);</item>
    /// <item><c>paper-lone</c>, the same nine against the request simulated alone token by token
    /// (<see cref="SlowdownReference.Lone"/>); <c>slowdown=lone</c> or <c>slowdown=paper</c> picks the reference alone.</item>
    /// </list>
    /// A target is a duration (<c>ns</c>, <c>us</c>, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>; a bare number is seconds)
    /// or a slowdown factor ending in <c>x</c> (vs the idle DGX-A100). A later item replaces an earlier one of the same
    /// name; empty items are skipped. Errors are one line naming the item and what to write instead.
    /// </summary>
    public static SloSet Parse(string text, string source = "--slo")
    {
        ArgumentNullException.ThrowIfNull(text);
        var targets = new List<SloTarget>();
        var bounds = new List<SloBound>();
        SlowdownReference reference = SlowdownReference.Paper;
        int column = 1;
        foreach (string raw in text.Split(','))
        {
            string item = raw.Trim();
            int at = column + (raw.Length - raw.TrimStart().Length);
            column += raw.Length + 1;
            if (item.Length == 0)
            {
                continue;
            }

            if (item.Equals("slowdown=lone", StringComparison.OrdinalIgnoreCase) || item.Equals("slowdown=paper", StringComparison.OrdinalIgnoreCase))
            {
                reference = item.EndsWith("lone", StringComparison.OrdinalIgnoreCase) ? SlowdownReference.Lone : SlowdownReference.Paper;
                continue;
            }

            if (item.Equals("paper-lone", StringComparison.OrdinalIgnoreCase))
            {
                reference = SlowdownReference.Lone;
                foreach (SloTarget t in Paper.Targets)
                {
                    Upsert(targets, t);
                }

                continue;
            }

            if (item.Equals("paper", StringComparison.OrdinalIgnoreCase))
            {
                foreach (SloTarget t in Paper.Targets)
                {
                    Upsert(targets, t);
                }

                continue;
            }

            ParseItem(item, text, source, at, targets, bounds);
        }

        if (targets.Count == 0 && bounds.Count == 0)
        {
            throw SplitwiseException.Usage($"{source} '{text}': no SLO given; write items like ttft_p99=2s,tbt_p99=200ms separated by commas, or paper");
        }

        return new SloSet(targets, bounds) { Reference = reference };
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

    private static void ParseItem(string item, string text, string source, int column, List<SloTarget> targets, List<SloBound> bounds)
    {
        string where = $"{source} '{text}' column {column}";
        int eq = item.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            throw SplitwiseException.Usage($"{where}: '{item}' has no '='; write metric_pNN=target, e.g. ttft_p99=2s or e2e_p50=1.25x (or metric=target for a per-request goodput bound)");
        }

        string name = item[..eq].Trim().ToLowerInvariant();
        string value = item[(eq + 1)..].Trim();
        int us = name.LastIndexOf("_p", StringComparison.Ordinal);
        SloMetric metric = ParseMetric(us < 0 ? name : name[..us], where);
        (SloKind kind, double target) = ParseTarget(value, where);
        if (us < 0)
        {
            int i = bounds.FindIndex(b => b.Metric == metric);
            var bound = new SloBound(metric, kind, target);
            if (i >= 0)
            {
                bounds[i] = bound;
            }
            else
            {
                bounds.Add(bound);
            }

            return;
        }

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

        Upsert(targets, new SloTarget(metric, percentile, kind, target));
    }

    private static SloMetric ParseMetric(string name, string where) => name switch
    {
        "ttft" => SloMetric.Ttft,
        "tbt" or "tpot" => SloMetric.Tbt,
        "e2e" => SloMetric.E2E,
        "itl" => SloMetric.Itl,
        _ => throw SplitwiseException.Usage($"{where}: unknown metric '{name}'; use ttft, tbt (or tpot), e2e or itl"),
    };

    private static (SloKind Kind, double Target) ParseTarget(string value, string where)
    {
        if (value.EndsWith('x') || value.EndsWith('X'))
        {
            if (!double.TryParse(value[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double factor) || !(factor > 0) || double.IsInfinity(factor))
            {
                throw SplitwiseException.Usage($"{where}: slowdown '{value}' is not a positive factor; write e.g. 1.25x");
            }

            return (SloKind.Slowdown, factor);
        }

        return (SloKind.Absolute, ParseDuration(value, where));
    }

    /// <summary>Parses <c>200ms</c>, <c>1.5s</c>, <c>750us</c>, <c>100000ns</c>, <c>2m</c> or <c>2</c> (seconds) into
    /// nanoseconds (through <see cref="Durations"/>); a usage error starting with <paramref name="where"/> otherwise.</summary>
    public static double ParseDuration(string value, string where)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Durations.TryParseNanoseconds(value, out double ns, out string unit))
        {
            throw double.IsNaN(Durations.UnitNanoseconds(unit))
                ? SplitwiseException.Usage($"{where}: unknown unit '{unit}' in '{value}'; use ns, us, ms, s, m or h, or x for a slowdown")
                : SplitwiseException.Usage($"{where}: '{value}' is not a duration; write e.g. 200ms or 2s, or 1.25x for a slowdown");
        }

        if (!(ns > 0))
        {
            throw SplitwiseException.Usage($"{where}: '{value}' is not a positive duration; write e.g. 200ms or 2s");
        }

        return ns;
    }

    /// <summary>The metric's name in <c>--slo</c> and the outputs: <c>ttft</c>, <c>tbt</c>, <c>e2e</c>, <c>itl</c>.</summary>
    public static string MetricName(SloMetric metric) => metric switch
    {
        SloMetric.Ttft => "ttft",
        SloMetric.Tbt => "tbt",
        SloMetric.Itl => "itl",
        _ => "e2e",
    };

    /// <summary>A target as written in <c>--slo</c>: <c>6x</c> for a slowdown, <c>200ms</c> for nanoseconds.</summary>
    public static string FormatTarget(SloKind kind, double target) => kind == SloKind.Slowdown
        ? string.Create(CultureInfo.InvariantCulture, $"{target}x")
        : FormatDuration(target);

    /// <summary>Formats nanoseconds in the largest unit that keeps it readable: <c>2s</c>, <c>200ms</c>, <c>750us</c>.</summary>
    public static string FormatDuration(double nanoseconds) => nanoseconds switch
    {
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e9}s"),
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6}ms"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e3}us"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds}ns"),
    };

    /// <summary>The set as <c>--slo</c> text (parses back to an equal set).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Reference == SlowdownReference.Lone)
        {
            Item("slowdown=lone");
        }

        foreach (SloTarget t in Targets)
        {
            Item(t.ToString());
        }

        foreach (SloBound b in Bounds)
        {
            Item(b.ToString());
        }

        return sb.ToString();

        void Item(string s) => (sb.Length > 0 ? sb.Append(',') : sb).Append(s);
    }

    public bool Equals(SloSet? other) => other is not null && Reference == other.Reference && Targets.SequenceEqual(other.Targets) && Bounds.SequenceEqual(other.Bounds);

    public override int GetHashCode() => HashCode.Combine(Targets.Count, Bounds.Count);

    private static void CheckValue(string name, double value, string param)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(param, value, $"{name}: target must be positive and finite");
        }
    }
}
