using System.Globalization;

namespace Splitwise.Common;

/// <summary>
/// Parses durations the way people write them — <c>90s</c>, <c>1.5h</c>, <c>7d</c>, <c>250ms</c>, <c>10m</c>,
/// <c>750us</c>, <c>100000ns</c> or plain seconds — for every flag and config key that takes one (<c>--duration</c>,
/// <c>--horizon</c>, <c>--timeout</c>, SLO targets).
/// </summary>
public static class Durations
{
    /// <summary>Parses a positive duration (at most 100 years) or throws a usage error naming <paramref name="option"/>.</summary>
    public static TimeSpan Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParseNanoseconds(text, out double ns, out _) || !(ns > 0))
        {
            throw SplitwiseException.Usage($"{option} {text}: not a positive duration; use e.g. 90s, 10m, 1.5h, 7d, 250ms");
        }

        if (ns > 100 * 365 * 86400.0 * 1e9)
        {
            throw SplitwiseException.Usage($"{option} {text}: longer than 100 years");
        }

        return TimeSpan.FromTicks((long)Math.Round(ns / 100));
    }

    /// <summary>
    /// Parses <c>NUMBER[UNIT]</c> into nanoseconds. Units (any case): <c>ns</c>, <c>us</c>/<c>µs</c>, <c>ms</c>,
    /// <c>s</c>, <c>m</c>/<c>min</c>, <c>h</c>, <c>d</c>; a bare number is seconds. The number may be negative or zero
    /// (callers decide); false for an unknown unit (<paramref name="unit"/> holds it, lower-cased) or a number that is
    /// not finite.
    /// </summary>
    public static bool TryParseNanoseconds(string text, out double nanoseconds, out string unit)
    {
        ArgumentNullException.ThrowIfNull(text);
        nanoseconds = 0;
        string t = text.Trim();
        int split = t.Length;
        while (split > 0 && (char.IsAsciiLetter(t[split - 1]) || t[split - 1] == 'µ'))
        {
            split--;
        }

        unit = t[split..].ToLowerInvariant();
        double scale = UnitNanoseconds(unit);
        if (double.IsNaN(scale)
            || !double.TryParse(t.AsSpan(0, split).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double amount)
            || !double.IsFinite(amount))
        {
            return false;
        }

        nanoseconds = amount * scale;
        return double.IsFinite(nanoseconds);
    }

    /// <summary>Nanoseconds per <paramref name="unit"/> (lower case; empty = seconds), NaN for an unknown unit.</summary>
    public static double UnitNanoseconds(string unit) => unit switch
    {
        "ns" => 1,
        "us" or "µs" => 1e3,
        "ms" => 1e6,
        "" or "s" => 1e9,
        "m" or "min" => 60e9,
        "h" => 3600e9,
        "d" => 86400e9,
        _ => double.NaN,
    };
}
