namespace Splitwise.Reports;

/// <summary>
/// An exact distribution of non-negative integers: distinct values in ascending order with their counts. Percentiles
/// are exact (nearest rank, so always an observed value); mean and sums are exact integers until the final division.
/// </summary>
public sealed class IntDistribution
{
    public IntDistribution(int[] values, long[] counts)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(counts);
        if (values.Length != counts.Length)
        {
            throw new ArgumentException("values and counts differ in length", nameof(counts));
        }

        Values = values;
        Counts = counts;
        long total = 0;
        long sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0 && values[i] <= values[i - 1])
            {
                throw new ArgumentException("values must be strictly ascending", nameof(values));
            }

            total += counts[i];
            sum += values[i] * counts[i];
        }

        Total = total;
        Sum = sum;
    }

    /// <summary>Distinct values, ascending.</summary>
    public int[] Values { get; }

    /// <summary>How many times each of <see cref="Values"/> occurs.</summary>
    public long[] Counts { get; }

    /// <summary>Number of observations.</summary>
    public long Total { get; }

    /// <summary>Sum of all observations.</summary>
    public long Sum { get; }

    public double Mean => Total == 0 ? double.NaN : (double)Sum / Total;

    public int Min => Values.Length == 0 ? 0 : Values[0];

    public int Max => Values.Length == 0 ? 0 : Values[^1];

    /// <summary>Builds the distribution of a list of values (counting sort by <see cref="Array.Sort(Array)"/>).</summary>
    public static IntDistribution Of(ReadOnlySpan<int> data)
    {
        int[] sorted = data.ToArray();
        Array.Sort(sorted);
        var values = new List<int>();
        var counts = new List<long>();
        foreach (int v in sorted)
        {
            if (values.Count > 0 && values[^1] == v)
            {
                counts[^1]++;
            }
            else
            {
                values.Add(v);
                counts.Add(1);
            }
        }

        return new IntDistribution([.. values], [.. counts]);
    }

    /// <summary>
    /// The nearest-rank percentile: the smallest observed value v such that at least <paramref name="percent"/>% of
    /// the observations are ≤ v. <c>Percentile(50)</c> of 1..4 is 2; <c>Percentile(100)</c> is the maximum.
    /// </summary>
    public int Percentile(double percent)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "percent must be within [0, 100]");
        }

        if (Total == 0)
        {
            return 0;
        }

        // rank = ceil(p/100 * n), at least 1. Computed in decimal so p99.9 of 1000 is exactly rank 999.
        long rank = (long)Math.Ceiling((decimal)percent / 100m * Total);
        rank = Math.Max(rank, 1);
        long seen = 0;
        for (int i = 0; i < Values.Length; i++)
        {
            seen += Counts[i];
            if (seen >= rank)
            {
                return Values[i];
            }
        }

        return Values[^1];
    }

    /// <summary>Mid-ranks (1-based; ties share the mean of their ranks) of each distinct value, for Spearman's rho.</summary>
    public double[] MidRanks()
    {
        double[] ranks = new double[Values.Length];
        long before = 0;
        for (int i = 0; i < Values.Length; i++)
        {
            ranks[i] = before + ((Counts[i] + 1) / 2.0);
            before += Counts[i];
        }

        return ranks;
    }

    /// <summary>Index of <paramref name="value"/> in <see cref="Values"/> (binary search), or a negative number.</summary>
    public int IndexOf(int value) => Array.BinarySearch(Values, value);

    public TokenStatistics ToStatistics() => new(
        Mean, Min, Percentile(50), Percentile(90), Percentile(99), Percentile(99.9), Max, Sum);
}
