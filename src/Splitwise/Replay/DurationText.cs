using System.Globalization;

namespace Splitwise.Replay;

/// <summary>Parses durations written the way people write them: <c>200ms</c>, <c>2s</c>, <c>1.5m</c>, <c>1h</c>, <c>500us</c>.</summary>
public static class DurationText
{
    /// <summary>Parses a duration; a bare number is seconds. Returns false on anything else.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        (string unit, double scale)[] units = [("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("min", 60), ("h", 3600)];
        double factor = 1;
        string number = text;
        foreach ((string unit, double scale) in units.OrderByDescending(u => u.unit.Length))
        {
            if (text.EndsWith(unit, StringComparison.Ordinal) && text.Length > unit.Length && !char.IsLetter(text[^(unit.Length + 1)]))
            {
                factor = scale;
                number = text[..^unit.Length];
                break;
            }
        }

        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double amount) || double.IsNaN(amount) || double.IsInfinity(amount))
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)Math.Round(amount * factor * TimeSpan.TicksPerSecond));
        return true;
    }

    /// <summary>Parses or throws a usage error naming <paramref name="flag"/>.</summary>
    public static TimeSpan Parse(string text, string flag) =>
        TryParse(text, out TimeSpan value)
            ? value
            : throw SplitwiseException.Usage($"{flag} '{text}': not a duration; write e.g. 200ms, 2s, 1.5m or 1h");
}
