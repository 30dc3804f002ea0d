using CsCheck;
using Splitwise.Reports;
using Splitwise.Traces;

namespace Splitwise.Tests.Reports;

public class TraceAccumulatorTests
{
    private static readonly DateTimeOffset s_start = new(2023, 11, 16, 18, 15, 30, TimeSpan.Zero);

    private static Trace MakeTrace(long[] ticks, int[] inputs, int[] outputs) => new("t", s_start, ticks, inputs, outputs, ticks.Length);

    private static readonly Gen<Trace> s_traces =
        Gen.Int[3, 400].SelectMany(n => Gen.Select(
            Gen.Long[0, 3 * TimeSpan.TicksPerMinute].Array[n],
            Gen.Int[1, 3000].Array[n],
            Gen.Int[1, 60].Array[n],
            (t, i, o) => MakeTrace([.. t.Order()], i, o)));

    [Fact]
    public void Statistics_equal_a_naive_computation()
    {
        s_traces.Sample(trace =>
        {
            TraceStatistics s = TraceAnalyzer.Analyze(trace).Statistics;
            int[] x = trace.Inputs.ToArray(), y = trace.Outputs.ToArray();
            long[] t = trace.Arrivals.ToArray();
            Assert.Equal(trace.Count, s.Requests);
            Assert.Equal(x.Min(), s.Input.Min);
            Assert.Equal(y.Max(), s.Output.Max);
            Assert.Equal(Nearest(x, 50), s.Input.P50);
            Assert.Equal(Nearest(y, 99), s.Output.P99);
            Assert.Equal(x.Average(), s.Input.Mean, 9);
            Assert.Equal(Pearson(x.Select(v => (double)v).ToArray(), y.Select(v => (double)v).ToArray()), s.Pearson, 9);
            Assert.Equal(Pearson(Ranks(x), Ranks(y)), s.Spearman, 9);
            double[] gaps = t.Zip(t.Skip(1), (a, b) => (double)(b - a)).ToArray();
            double mean = gaps.Average();
            double cv = mean > 0 ? Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average()) / mean : double.NaN;
            if (double.IsFinite(cv))
            {
                Assert.Equal(cv, s.InterArrivalCv, 9);
            }

            double span = (t[^1] - t[0]) / (double)TimeSpan.TicksPerSecond;
            if (span > 0)
            {
                Assert.Equal(trace.Count / span, s.MeanRate, 9);
            }
        }, seed: "0N0XIzNsQ0O2", iter: 200);
    }

    [Fact]
    public void Result_does_not_depend_on_how_the_rows_are_chunked()
    {
        s_traces.Select(Gen.Int[1, 50], (t, c) => (t, c)).Sample(p =>
        {
            (Trace trace, int chunk) = p;
            long[] abs = trace.Arrivals.ToArray().Select(v => v + s_start.UtcTicks).ToArray();
            var whole = new TraceAccumulator("t", sampleSize: 10, seed: 3);
            whole.Add(abs, trace.Inputs, trace.Outputs);
            var pieces = new TraceAccumulator("t", sampleSize: 10, seed: 3);
            for (int i = 0; i < abs.Length; i += chunk)
            {
                int n = Math.Min(chunk, abs.Length - i);
                pieces.Add(abs.AsSpan(i, n), trace.Inputs.Slice(i, n), trace.Outputs.Slice(i, n));
            }

            TraceAnalysis a = whole.Finish(), b = pieces.Finish();
            Assert.Equal(a.Statistics, b.Statistics);
            Assert.Equal(a.PerMinute.Requests, b.PerMinute.Requests);
            Assert.Equal(a.SampleInputs, b.SampleInputs);
            Assert.Equal(a.SampleOutputs, b.SampleOutputs);
        }, seed: "0N0XIzNsQ0O2", iter: 100);
    }

    [Fact]
    public void Per_minute_series_conserve_requests_and_tokens()
    {
        s_traces.Sample(trace =>
        {
            TraceAnalysis a = TraceAnalyzer.Analyze(trace);
            Assert.Equal(trace.Count, a.PerMinute.Requests.Sum());
            Assert.Equal(trace.Inputs.ToArray().Sum(v => (long)v), a.PerMinute.InputTokens.Sum());
            Assert.Equal(trace.Outputs.ToArray().Sum(v => (long)v), a.PerMinute.OutputTokens.Sum());
            Assert.Equal(a.PerMinute.Requests.Max() / 60.0, a.Statistics.PeakMinuteRate);
            // The first minute bucket is the clock minute of the first arrival.
            Assert.Equal(0, a.PerMinute.Start.Second);
            Assert.True(a.PerMinute.Requests[0] > 0);
        }, seed: "0N0XIzNsQ0O2", iter: 100);
    }

    [Fact]
    public void Out_of_order_rows_are_counted_and_gaps_taken_in_time_order()
    {
        s_traces.Sample(trace =>
        {
            int n = trace.Count;
            long[] t = trace.Arrivals.ToArray();
            int[] order = Enumerable.Range(0, n).Reverse().ToArray();
            Trace reversed = MakeTrace(order.Select(i => t[i]).ToArray(), order.Select(i => trace.Inputs[i]).ToArray(), order.Select(i => trace.Outputs[i]).ToArray());
            TraceStatistics sorted = TraceAnalyzer.Analyze(trace).Statistics;
            TraceStatistics shuffled = TraceAnalyzer.Analyze(reversed).Statistics;
            Assert.Equal(sorted.InterArrivalCv, shuffled.InterArrivalCv, 9);
            Assert.Equal(sorted.Input, shuffled.Input);
            Assert.Equal(sorted.Spearman, shuffled.Spearman, 9);
            Assert.Equal(t.Distinct().Count() > 1, shuffled.OutOfOrder > 0);
        }, seed: "0N0XIzNsQ0O2", iter: 100);
    }

    [Fact]
    public void Minutes_before_the_first_row_extend_the_series_backwards()
    {
        long m = TimeSpan.TicksPerMinute;
        Trace trace = MakeTrace([5 * m, 0, 2 * m], [1, 2, 3], [4, 5, 6]);
        TraceAnalysis a = TraceAnalyzer.Analyze(trace);
        Assert.Equal(s_start.UtcTicks - (s_start.UtcTicks % m), a.PerMinute.Start.UtcTicks);
        Assert.Equal(6, a.PerMinute.Requests.Length);
        Assert.Equal([1L, 0, 1, 0, 0, 1], a.PerMinute.Requests);
        Assert.Equal(1, a.Statistics.OutOfOrder);
    }

    [Fact]
    public void Scatter_sample_is_a_seeded_subset_of_the_rows()
    {
        int n = 50_000;
        var rng = new Random(5);
        int[] x = Enumerable.Range(0, n).Select(_ => rng.Next(1, 100_000)).ToArray();
        int[] y = x.Select(v => v % 977).ToArray();
        Trace trace = MakeTrace(Enumerable.Range(0, n).Select(i => (long)i * 1000).ToArray(), x, y);
        TraceAnalysis a = TraceAnalyzer.Analyze(trace, sampleSize: 1000, seed: 9);
        TraceAnalysis b = TraceAnalyzer.Analyze(trace, sampleSize: 1000, seed: 9);
        TraceAnalysis c = TraceAnalyzer.Analyze(trace, sampleSize: 1000, seed: 10);
        Assert.Equal(1000, a.SampleInputs.Length);
        Assert.Equal(a.SampleInputs, b.SampleInputs);
        Assert.NotEqual(a.SampleInputs, c.SampleInputs);
        Assert.All(a.SampleInputs.Zip(a.SampleOutputs), p => Assert.Equal(p.First % 977, p.Second));
        // Uniform over the rows: the sampled inputs' mean is close to the population mean (5 standard errors).
        double sd = Math.Sqrt(x.Select(v => (v - x.Average()) * (v - x.Average())).Average());
        Assert.InRange(a.SampleInputs.Average(), x.Average() - (5 * sd / Math.Sqrt(1000)), x.Average() + (5 * sd / Math.Sqrt(1000)));
    }

    [Fact]
    public void Negative_token_counts_are_rejected_with_the_row()
    {
        var ex = Assert.Throws<SplitwiseException>(() => TraceAnalyzer.Analyze(MakeTrace([0, 1], [3, -1], [1, 1])));
        Assert.Contains("request 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_trace_is_an_error_not_a_crash() =>
        Assert.Throws<SplitwiseException>(() => TraceAnalyzer.Analyze(MakeTrace([], [], [])));

    private static int Nearest(int[] data, double p)
    {
        int[] sorted = [.. data.Order()];
        return sorted[Math.Max(1, (int)Math.Ceiling((decimal)p / 100m * sorted.Length)) - 1];
    }

    private static double[] Ranks(int[] v)
    {
        int[] idx = Enumerable.Range(0, v.Length).OrderBy(i => v[i]).ToArray();
        double[] r = new double[v.Length];
        for (int i = 0; i < idx.Length;)
        {
            int j = i;
            while (j + 1 < idx.Length && v[idx[j + 1]] == v[idx[i]])
            {
                j++;
            }

            for (int k = i; k <= j; k++)
            {
                r[idx[k]] = ((i + j) / 2.0) + 1;
            }

            i = j + 1;
        }

        return r;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum();
        double sxx = x.Sum(a => (a - mx) * (a - mx)), syy = y.Sum(b => (b - my) * (b - my));
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }
}
