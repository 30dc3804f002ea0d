using System.Text;
using Splitwise.Common;
using Splitwise.Reports;
using Splitwise.Traces;
using Splitwise.Workloads;

namespace Splitwise.Tests.Workloads;

public class WorkloadGeneratorTests
{
    private static string Generate(WorkloadSpec spec, out WorkloadSummary summary)
    {
        var text = new StringWriter();
        using (var writer = new TraceRowWriter(text, spec.Format, spec.Start))
        {
            summary = WorkloadGenerator.Generate(spec, writer);
        }

        return text.ToString();
    }

    private static Trace Parse(string csv, TraceFormat format = TraceFormat.Auto)
    {
        string path = Path.Combine(Path.GetTempPath(), "splitwise-gen-" + Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllText(path, csv);
        try
        {
            return TraceReader.Read(path, new TraceReadOptions { Format = format, Sort = false });
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly WorkloadSpec s_poisson = new()
    {
        Rate = 20,
        Count = 100_000,
        Seed = 42,
        Input = new SizeDistribution.Constant(100),
        Output = new SizeDistribution.Constant(10),
    };

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_does_not()
    {
        WorkloadSpec spec = s_poisson with { Count = 5000, WholeSecondFraction = 0.05, Input = new SizeDistribution.LogNormal(6, 1) };
        string a = Generate(spec, out _), b = Generate(spec, out _), c = Generate(spec with { Seed = 43 }, out _);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Poisson_hits_the_requested_rate_and_cv()
    {
        // 100,000 exponential gaps: the span's relative standard deviation is 1/sqrt(n) = 0.32%; allow 5 sd = 1.6%.
        Trace trace = Parse(Generate(s_poisson, out WorkloadSummary summary));
        TraceStatistics s = TraceAnalyzer.Analyze(trace).Statistics;
        Assert.Equal(100_000, s.Requests);
        Assert.Equal(summary.Requests, s.Requests);
        Assert.InRange(s.MeanRate, 20 * (1 - 0.016), 20 * (1 + 0.016));
        // The sample CV of n exponential gaps has sd ≈ 1/sqrt(n) (kurtosis 9): ±5 sd = ±1.6%.
        Assert.InRange(s.InterArrivalCv, 0.984, 1.016);
        Assert.True(trace.IsSorted);
    }

    [Fact]
    public void Gamma_arrivals_hit_the_requested_cv_and_rate()
    {
        // Gamma with CV 3 (shape 1/9): the sample variance's relative sd is sqrt((excess kurtosis 6/k + 2)/n) = sqrt(56/n),
        // so the CV's is about half that: 1.2% at n = 100,000; allow ~4 sd = 5%. The rate's relative sd is CV/sqrt(n) ≈ 1%; allow 5%.
        WorkloadSpec spec = s_poisson with { Arrival = ArrivalKind.Gamma, Cv = 3 };
        TraceStatistics s = TraceAnalyzer.Analyze(Parse(Generate(spec, out _))).Statistics;
        Assert.InRange(s.InterArrivalCv, 3 * 0.95, 3 * 1.05);
        Assert.InRange(s.MeanRate, 20 * 0.95, 20 * 1.05);
    }

    [Fact]
    public void Duration_bounds_the_arrivals_and_the_count_follows_the_rate()
    {
        WorkloadSpec spec = s_poisson with { Count = null, Duration = TimeSpan.FromHours(1) };
        Trace trace = Parse(Generate(spec, out WorkloadSummary summary));
        // Poisson count over 3600 s at 20/s: mean 72,000, sd 268; allow 5 sd.
        Assert.InRange(trace.Count, 72_000 - 1340, 72_000 + 1340);
        Assert.True(trace.Start.UtcTicks + trace.Arrivals[^1] <= spec.Start.UtcTicks + TimeSpan.FromHours(1).Ticks);
        Assert.True(trace.Start >= spec.Start);
        Assert.Equal(trace.Count, summary.Requests);
    }

    [Theory]
    [InlineData("uniform:10,30", 20.0, 0.01)]
    [InlineData("normal:500,50", 500.0, 0.01)]
    [InlineData("lognormal:5,0.5", 168.17, 0.02)]
    [InlineData("constant:7", 7.0, 0.0)]
    public void Size_distributions_have_their_means(string distribution, double mean, double tolerance)
    {
        // 100,000 draws: the relative standard error is at most 0.2% (lognormal sigma 0.5: sd/mean = 0.53 → 0.17%).
        WorkloadSpec spec = s_poisson with { Input = SizeDistribution.Parse(distribution, "--input"), Output = SizeDistribution.Parse(distribution, "--output") };
        TraceStatistics s = TraceAnalyzer.Analyze(Parse(Generate(spec, out _))).Statistics;
        Assert.InRange(s.Input.Mean, mean * (1 - tolerance), mean * (1 + tolerance));
        Assert.InRange(s.Output.Mean, mean * (1 - tolerance), mean * (1 + tolerance));
        Assert.True(s.Input.Min >= 1);
        // Input and output are drawn independently.
        if (tolerance > 0)
        {
            Assert.InRange(s.Pearson, -0.02, 0.02);
        }
    }

    [Fact]
    public void Like_draws_existing_pairs_jointly_and_keeps_the_correlation()
    {
        var rng = new Random(1);
        int n = 3000;
        int[] x = [.. Enumerable.Range(0, n).Select(_ => rng.Next(1, 5000))];
        int[] y = [.. x.Select(v => (v / 10) + rng.Next(0, 20))];
        var pairs = new HashSet<(int, int)>(x.Zip(y));
        WorkloadSpec spec = s_poisson with { Input = null, Output = null, LikeInputs = x, LikeOutputs = y, Count = 50_000 };
        Trace trace = Parse(Generate(spec, out _));
        for (int i = 0; i < trace.Count; i++)
        {
            Assert.Contains((trace.Inputs[i], trace.Outputs[i]), pairs);
        }

        var source = new Trace("s", DateTimeOffset.UnixEpoch, new long[n], x, y, n);
        double sourceR = TraceAnalyzer.Analyze(source).Statistics.Pearson;
        Assert.InRange(TraceAnalyzer.Analyze(trace).Statistics.Pearson, sourceR - 0.02, sourceR + 0.02);
    }

    [Fact]
    public void Scale_to_hits_the_rate_and_keeps_the_shape_of_the_arrivals()
    {
        long[] t = [0, 10, 11, 12, 40, 100, 101, 150];
        long[] ticks = [.. t.Select(v => v * TimeSpan.TicksPerSecond)];
        int[] x = [1, 2, 3, 4, 5, 6, 7, 8], y = [8, 7, 6, 5, 4, 3, 2, 1];
        WorkloadSpec spec = new()
        {
            LikeInputs = x,
            LikeOutputs = y,
            LikeArrivals = ticks,
            ScaleTo = 0.5,
            Format = TraceFormat.Azure2023,
            Start = new DateTimeOffset(2023, 11, 16, 18, 0, 0, TimeSpan.Zero),
        };
        Trace trace = Parse(Generate(spec, out _));
        TraceStatistics s = TraceAnalyzer.Analyze(trace).Statistics;
        Assert.Equal(0.5, s.MeanRate, 6);
        // 8 requests at 0.5/s: span 16 s, factor 16/150; every arrival scales by it and the sizes stay with their rows.
        Assert.Equal([.. t.Select(v => (long)Math.Round(v * TimeSpan.TicksPerSecond * 16.0 / 150))], trace.Arrivals.ToArray());
        Assert.Equal(x, trace.Inputs.ToArray());
        Assert.Equal(y, trace.Outputs.ToArray());
        double sourceCv = TraceAnalyzer.Analyze(new Trace("s", spec.Start, ticks, x, y, 8)).Statistics.InterArrivalCv;
        Assert.Equal(sourceCv, s.InterArrivalCv, 4);
    }

    [Fact]
    public void Whole_second_rows_are_about_the_requested_share_and_the_file_stays_sorted()
    {
        WorkloadSpec spec = s_poisson with { WholeSecondFraction = 0.01, Count = 100_000 };
        string csv = Generate(spec, out _);
        string[] lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        int whole = lines.Count(l => l.IndexOf('+') == 19);
        // Binomial(100,000, 1%): mean 1000, sd 31.5; allow 5 sd.
        Assert.InRange(whole, 1000 - 158, 1000 + 158);
        Assert.Contains(lines, l => l.IndexOf('+') == 26); // microsecond rows: "yyyy-MM-dd HH:mm:ss.ffffff+00:00"
        Trace trace = Parse(csv);
        Assert.True(trace.IsSorted);
        Assert.Equal(100_000, trace.Count);
    }

    [Fact]
    public void Every_writable_format_round_trips_through_the_reader()
    {
        foreach (TraceFormat format in new[] { TraceFormat.Azure2023, TraceFormat.Azure2024, TraceFormat.SplitwiseSim, TraceFormat.Vidur })
        {
            WorkloadSpec spec = s_poisson with { Count = 500, Format = format, Input = new SizeDistribution.Uniform(1, 9000), Output = new SizeDistribution.Uniform(1, 900) };
            string csv = Generate(spec, out _);
            Trace trace = Parse(csv);
            Assert.Equal(500, trace.Count);
            Trace again = Parse(csv, format);
            Assert.Equal(trace.Inputs.ToArray(), again.Inputs.ToArray());
            TraceStatistics s = TraceAnalyzer.Analyze(trace).Statistics;
            Assert.InRange(s.Input.Max, 1, 9000);
        }
    }

    [Fact]
    public void Splitwise_and_vidur_rows_have_their_columns()
    {
        WorkloadSpec spec = s_poisson with { Count = 2, Format = TraceFormat.SplitwiseSim };
        string[] lines = Generate(spec, out _).Split('\n');
        Assert.Equal("request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size", lines[0]);
        Assert.StartsWith("0,2,0,", lines[1], StringComparison.Ordinal);
        Assert.EndsWith(",1,100,10", lines[1], StringComparison.Ordinal);
        lines = Generate(spec with { Format = TraceFormat.Vidur }, out _).Split('\n');
        Assert.Equal("arrived_at,num_prefill_tokens,num_decode_tokens", lines[0]);
        Assert.EndsWith(",100,10", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Byte_stream_and_text_writer_give_the_same_output()
    {
        WorkloadSpec spec = s_poisson with { Count = 3000, WholeSecondFraction = 0.1 };
        using var stream = new MemoryStream();
        using (var writer = new TraceRowWriter(stream, spec.Format, spec.Start))
        {
            WorkloadGenerator.Generate(spec, writer);
        }

        Assert.Equal(Generate(spec, out _), Encoding.ASCII.GetString(stream.ToArray()));
    }

    [Theory]
    [InlineData("gauss:1,2")]
    [InlineData("uniform:5")]
    [InlineData("uniform:9,3")]
    [InlineData("normal:10,x")]
    [InlineData("constant:0")]
    [InlineData("lognormal:5,-1")]
    public void Bad_distributions_are_usage_errors_naming_the_flag(string text)
    {
        var ex = Assert.Throws<SplitwiseException>(() => SizeDistribution.Parse(text, "--input"));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains("--input", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("1h", 3600)]
    [InlineData("7d", 604800)]
    [InlineData("1.5m", 90)]
    [InlineData("250ms", 0.25)]
    [InlineData("12", 12)]
    public void Durations_parse(string text, double seconds) =>
        Assert.Equal(seconds, Durations.Parse(text, "--duration").TotalSeconds, 9);

    [Theory]
    [InlineData("-1h")]
    [InlineData("soon")]
    [InlineData("0s")]
    public void Bad_durations_are_usage_errors(string text) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<SplitwiseException>(() => Durations.Parse(text, "--duration")).ExitCode);
}
