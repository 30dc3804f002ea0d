using System.Globalization;
using System.Text;

namespace Splitwise.Reports;

/// <summary>
/// Computes the figures of the Azure dataset notebook from trace analyses: per-trace histograms of the three columns
/// (arrivals over time, ContextTokens, GeneratedTokens), CDFs of input and output tokens (all traces on one plot,
/// y in percent), input-vs-output scatter per trace, requests per minute and tokens per minute per trace.
/// </summary>
public static class FigureData
{
    /// <summary>Histograms have at most this many bins.</summary>
    public const int MaxBins = 100;

    /// <summary>CDF curves keep a point wherever the cumulative share grows by at least this many percent.</summary>
    public const double CdfResolutionPercent = 0.02;

    /// <summary>All figures for the given traces, in report order.</summary>
    public static IReadOnlyList<Figure> Build(IReadOnlyList<TraceAnalysis> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        var figures = new List<Figure>
        {
            new("cdf-input-tokens", "CDF of input (context) tokens", "ContextTokens", "% of requests ≤ x",
                traces.Select(t => Cdf(t.Statistics.Name, t.Input)).ToList()) { YIsPercent = true },
            new("cdf-output-tokens", "CDF of output (generated) tokens", "GeneratedTokens", "% of requests ≤ x",
                traces.Select(t => Cdf(t.Statistics.Name, t.Output)).ToList()) { YIsPercent = true },
        };
        var slugs = new HashSet<string>(StringComparer.Ordinal);
        foreach (TraceAnalysis t in traces)
        {
            string name = t.Statistics.Name;
            string slug = Slug(name);
            for (int k = 2; !slugs.Add(slug); k++)
            {
                slug = $"{Slug(name)}-{k}";
            }

            figures.Add(new Figure($"{slug}-arrivals", $"{name}: arrivals over time (TIMESTAMP histogram)", "time (UTC)", "requests per bin",
                [ArrivalHistogram(name, t.PerMinute, MaxBins)])
            { XIsTime = true });
            figures.Add(new Figure($"{slug}-input-tokens", $"{name}: ContextTokens histogram", "ContextTokens", "requests",
                [Histogram(name, t.Input, MaxBins)]));
            figures.Add(new Figure($"{slug}-output-tokens", $"{name}: GeneratedTokens histogram", "GeneratedTokens", "requests",
                [Histogram(name, t.Output, MaxBins)]));
            figures.Add(new Figure($"{slug}-scatter", ScatterTitle(name, t.SampleInputs.Length, t.Statistics.Requests), "ContextTokens", "GeneratedTokens",
                [new FigureSeries(name, SeriesKind.Points, [.. t.SampleInputs.Select(v => (double)v)], [.. t.SampleOutputs.Select(v => (double)v)])]));
            double[] minutes = MinuteAxis(t.PerMinute);
            figures.Add(new Figure($"{slug}-requests-per-minute", $"{name}: invocations per minute", "time (UTC)", "requests per minute",
                [new FigureSeries(name, SeriesKind.Line, minutes, [.. t.PerMinute.Requests.Select(v => (double)v)])])
            { XIsTime = true });
            figures.Add(new Figure($"{slug}-tokens-per-minute", $"{name}: tokens per minute", "time (UTC)", "tokens per minute",
                [
                    new FigureSeries("input (ContextTokens)", SeriesKind.Line, minutes, [.. t.PerMinute.InputTokens.Select(v => (double)v)]),
                    new FigureSeries("output (GeneratedTokens)", SeriesKind.Line, minutes, [.. t.PerMinute.OutputTokens.Select(v => (double)v)]),
                ])
            { XIsTime = true });
        }

        return figures;
    }

    /// <summary>
    /// Integer-aligned histogram with at most <paramref name="maxBins"/> bins of equal integer width; bin i covers
    /// [start + i·width, start + (i+1)·width) and is drawn centred on its range.
    /// </summary>
    public static FigureSeries Histogram(string label, IntDistribution distribution, int maxBins)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBins);
        if (distribution.Values.Length == 0)
        {
            return new FigureSeries(label, SeriesKind.Bars, [], [], 1);
        }

        long min = distribution.Min, max = distribution.Max;
        // Bins start at a multiple of the width (readable edges); widen until they fit in maxBins.
        long width = Math.Max(1, (max - min + maxBins) / maxBins); // ceil((max - min + 1) / maxBins)
        while ((max - (min - (min % width))) / width >= maxBins)
        {
            width++;
        }

        long start = min - (min % width);
        int bins = (int)(((max - start) / width) + 1);
        double[] x = new double[bins], y = new double[bins];
        for (int i = 0; i < bins; i++)
        {
            x[i] = start + (i * width) + ((width - 1) / 2.0);
        }

        for (int i = 0; i < distribution.Values.Length; i++)
        {
            y[(distribution.Values[i] - start) / width] += distribution.Counts[i];
        }

        return new FigureSeries(label, SeriesKind.Bars, x, y, width);
    }

    /// <summary>Arrivals per time bin: whole minutes grouped into at most <paramref name="maxBins"/> bins.</summary>
    public static FigureSeries ArrivalHistogram(string label, MinuteSeries perMinute, int maxBins)
    {
        ArgumentNullException.ThrowIfNull(perMinute);
        int minutes = perMinute.Requests.Length;
        int width = Math.Max(1, (minutes + maxBins - 1) / maxBins);
        int bins = (minutes + width - 1) / width;
        double[] x = new double[bins], y = new double[bins];
        double start = perMinute.Start.UtcDateTime.ToOADate();
        double day = TimeSpan.TicksPerDay;
        for (int i = 0; i < bins; i++)
        {
            x[i] = start + ((i + 0.5) * width * TimeSpan.TicksPerMinute / day);
        }

        for (int m = 0; m < minutes; m++)
        {
            y[m / width] += perMinute.Requests[m];
        }

        return new FigureSeries(label, SeriesKind.Bars, x, y, width * TimeSpan.TicksPerMinute / day);
    }

    /// <summary>
    /// The empirical CDF in percent: at each kept distinct value x, the share of requests ≤ x. Points are thinned so
    /// that consecutive kept points differ by at least <see cref="CdfResolutionPercent"/>; the first and last are kept.
    /// </summary>
    public static FigureSeries Cdf(string label, IntDistribution distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        var x = new List<double>();
        var y = new List<double>();
        long cumulative = 0;
        double lastKept = double.NegativeInfinity;
        int n = distribution.Values.Length;
        for (int i = 0; i < n; i++)
        {
            cumulative += distribution.Counts[i];
            double percent = 100.0 * cumulative / distribution.Total;
            if (i == 0 || i == n - 1 || percent - lastKept >= CdfResolutionPercent)
            {
                x.Add(distribution.Values[i]);
                y.Add(percent);
                lastKept = percent;
            }
        }

        return new FigureSeries(label, SeriesKind.Step, [.. x], [.. y]);
    }

    private static string ScatterTitle(string name, int sampled, long requests) => sampled >= requests
        ? string.Create(CultureInfo.InvariantCulture, $"{name}: input vs output tokens (all {requests:N0} requests)")
        : string.Create(CultureInfo.InvariantCulture, $"{name}: input vs output tokens ({sampled:N0} of {requests:N0} requests, seeded uniform sample)");

    /// <summary>OLE Automation date of the start of each minute.</summary>
    public static double[] MinuteAxis(MinuteSeries perMinute)
    {
        ArgumentNullException.ThrowIfNull(perMinute);
        double start = perMinute.Start.UtcDateTime.ToOADate();
        double[] x = new double[perMinute.Requests.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = start + (i / (double)(24 * 60));
        }

        return x;
    }

    /// <summary>A file-name-safe form of a trace name: letters, digits, '-', '_' and '.'; anything else becomes '-'.</summary>
    public static string Slug(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? char.ToLowerInvariant(c) : '-');
        }

        string s = sb.ToString().Trim('.', '-');
        return s.Length == 0 ? "trace" : s.ToString(CultureInfo.InvariantCulture);
    }
}
