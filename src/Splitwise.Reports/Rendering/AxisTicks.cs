using System.Globalization;

namespace Splitwise.Reports.Rendering;

/// <summary>Tick positions and labels for a linear axis (1, 2 or 5 × 10^k apart) or a time axis (OLE Automation dates).</summary>
public static class AxisTicks
{
    /// <summary>Ticks inside [min, max], about <paramref name="target"/> of them, at multiples of a 1-2-5 step.</summary>
    public static (double[] Values, string[] Labels) Linear(double min, double max, int target)
    {
        if (!(max > min) || target < 1)
        {
            return ([min], [Format(min, 0)]);
        }

        double raw = (max - min) / target;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        double step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        long first = (long)Math.Ceiling((min / step) - 1e-9);
        long last = (long)Math.Floor((max / step) + 1e-9);
        var values = new List<double>();
        var labels = new List<string>();
        for (long k = first; k <= last && values.Count < 1000; k++)
        {
            double v = k * step;
            values.Add(v);
            labels.Add(Format(v, decimals));
        }

        return ([.. values], [.. labels]);
    }

    /// <summary>Time ticks on an axis of OLE Automation dates (days since 1899-12-30, UTC), at whole seconds, minutes,
    /// hours or days; labels <c>HH:mm</c>, <c>HH:mm:ss</c>, <c>MM-dd HH:mm</c> or <c>yyyy-MM-dd</c> as the span needs.</summary>
    public static (double[] Values, string[] Labels) Time(double minDays, double maxDays, int target)
    {
        ReadOnlySpan<long> steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];
        double span = (maxDays - minDays) * 86400;
        long step = steps[^1];
        foreach (long s in steps)
        {
            if (span / s <= Math.Max(1, target))
            {
                step = s;
                break;
            }
        }

        string format = step >= 86400 ? "yyyy-MM-dd" : span > 86400 ? "MM-dd HH:mm" : step < 60 ? "HH:mm:ss" : "HH:mm";
        var epoch = new DateTime(1899, 12, 30, 0, 0, 0, DateTimeKind.Utc);
        long first = (long)Math.Ceiling((minDays * 86400 / step) - 1e-6);
        long last = (long)Math.Floor((maxDays * 86400 / step) + 1e-6);
        var values = new List<double>();
        var labels = new List<string>();
        for (long k = first; k <= last && values.Count < 1000; k++)
        {
            long seconds = k * step;
            values.Add(seconds / 86400.0);
            labels.Add(epoch.AddSeconds(seconds).ToString(format, CultureInfo.InvariantCulture));
        }

        return ([.. values], [.. labels]);
    }

    private static string Format(double v, int decimals)
    {
        string s = v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return s.StartsWith('-') && s.AsSpan(1).TrimStart("0.").IsEmpty ? s[1..] : s; // no "-0"
    }
}
