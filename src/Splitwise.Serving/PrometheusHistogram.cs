using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Splitwise.Serving;

/// <summary>A Prometheus histogram of durations with fixed upper bounds (seconds), fed with <see cref="Stopwatch"/>
/// tick intervals.</summary>
/// <remarks>Thread-safe and lock-free: one interlocked add per observation and bucket.</remarks>
internal sealed class PrometheusHistogram(double[] bounds)
{
    private readonly long[] _counts = new long[bounds.Length + 1];
    private long _sumTicks;

    public void Observe(long ticks)
    {
        double seconds = ticks / (double)Stopwatch.Frequency;
        int bucket = 0;
        while (bucket < bounds.Length && seconds > bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    /// <summary>Appends the histogram in the text exposition format: cumulative buckets, +Inf, sum, count.</summary>
    public void Write(StringBuilder sb, string name, string help, string model)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        sb.Append(ic, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        long cumulative = 0;
        for (int i = 0; i <= bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            string le = i < bounds.Length ? bounds[i].ToString("R", ic) : "+Inf";
            sb.Append(ic, $"{name}_bucket{{le=\"{le}\",model_name=\"{model}\"}} {cumulative}\n");
        }

        sb.Append(ic, $"{name}_sum{{model_name=\"{model}\"}} {(Interlocked.Read(ref _sumTicks) / (double)Stopwatch.Frequency).ToString("R", ic)}\n");
        sb.Append(ic, $"{name}_count{{model_name=\"{model}\"}} {cumulative}\n");
    }
}
