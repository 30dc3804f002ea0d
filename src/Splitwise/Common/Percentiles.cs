using System.Numerics;

namespace Splitwise.Common;

/// <summary>
/// The one percentile definition of the project's latency reports and SLOs (simulate's SLO evaluation, sweep CDFs,
/// replay's summary): linear interpolation between the two closest ranks, NumPy's and pandas' default, which
/// SplitwiseSim's summaries use. Exact for the data: no sketch, no binning.
/// </summary>
public static class Percentiles
{
    /// <summary>
    /// The <paramref name="percentile"/>-th percentile (0–100) of <paramref name="sorted"/> (ascending): for values
    /// v[0..n-1], v[i] + (v[i+1] − v[i]) × f with i + f = p/100 × (n − 1). NaN for no values; +∞ when an infinite
    /// value takes part in the interpolation (an unfinished request in an SLO population).
    /// </summary>
    public static double Linear<T>(ReadOnlySpan<T> sorted, double percentile)
        where T : INumber<T>
    {
        if (sorted.IsEmpty)
        {
            return double.NaN;
        }

        double pos = percentile / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        double frac = pos - lo;
        double low = double.CreateChecked(sorted[lo]);
        if (frac == 0 || lo == hi)
        {
            return low;
        }

        double high = double.CreateChecked(sorted[hi]);
        return double.IsPositiveInfinity(high) ? double.PositiveInfinity : low + ((high - low) * frac);
    }
}
