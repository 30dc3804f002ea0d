using System.Globalization;

namespace Splitwise.Workloads;

/// <summary>Parses durations like <c>90s</c>, <c>1.5h</c>, <c>7d</c>, <c>250ms</c>, <c>10m</c> or plain seconds.</summary>
public static class Durations
{
    public static TimeSpan Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        (string number, double unitSeconds) = t switch
        {
            _ when t.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (t[..^2], 0.001),
            _ when t.EndsWith('s') || t.EndsWith('S') => (t[..^1], 1.0),
            _ when t.EndsWith('m') || t.EndsWith('M') => (t[..^1], 60.0),
            _ when t.EndsWith('h') || t.EndsWith('H') => (t[..^1], 3600.0),
            _ when t.EndsWith('d') || t.EndsWith('D') => (t[..^1], 86400.0),
            _ => (t, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value <= 0)
        {
            throw SplitwiseException.Usage($"{option} {text}: not a positive duration; use e.g. 90s, 10m, 1.5h, 7d");
        }

        double seconds = value * unitSeconds;
        if (seconds > 100 * 365 * 86400.0)
        {
            throw SplitwiseException.Usage($"{option} {text}: longer than 100 years");
        }

        return TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
    }
}
