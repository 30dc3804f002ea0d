using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Performance;

namespace Splitwise.Tests.Designs;

public class SloTests
{
    /// <summary>Prompt: 100 ns per token; decode: 1000 ns per iteration, whatever the context.</summary>
    private sealed class LinearModel : IPerformanceModel
    {
        public long IterationNanoseconds(in BatchShape batch) =>
            batch.Prompts > 0 ? 100L * batch.PromptTokens : 1000L * Math.Max(1, batch.DecodeRequests);
    }

    private static readonly ISloReference s_reference = new PerformanceModelSloReference(new LinearModel());

    // The nine targets against the lone-request reference (s_reference); SloSet.Paper judges as the notebooks do.
    private static readonly SloSet s_paperLone = SloSet.Parse("paper-lone");

    [Fact]
    public void Ideal_latency_is_one_prompt_iteration_plus_a_decode_iteration_per_later_token()
    {
        IdealLatency ideal = s_reference.For(100, 11);
        Assert.Equal(10_000, ideal.TtftNs);
        Assert.Equal(20_000, ideal.E2ENs);
        Assert.Equal(1000, ideal.TbtNs(11));
        Assert.Equal(0, s_reference.For(100, 1).TbtNs(1));
    }

    [Fact]
    public void Requests_served_at_their_ideal_latency_pass_every_paper_slo()
    {
        var requests = new SloRequests([100, 200], [11, 2], [10_000, 20_000], [20_000, 21_000]);
        SloReport report = SloEvaluator.Evaluate(s_paperLone, requests, s_reference, spanSeconds: 4);
        Assert.True(report.AllPass);
        Assert.All(report.Outcomes, o => Assert.Equal(1.0, o.Value, 12));
        Assert.Equal(2, report.GoodRequests);
        Assert.Equal(0.5, report.Goodput);
        Assert.Equal(1.0, report.Attainment);
    }

    [Fact]
    public void Slowdown_percentiles_interpolate_between_ranks()
    {
        // Ten requests of 100 prompt tokens (ideal TTFT 10 us) with TTFT slowdowns 1..10, E2E at ideal + extra TTFT.
        int n = 10;
        int[] prompts = Enumerable.Repeat(100, n).ToArray();
        int[] outputs = Enumerable.Repeat(11, n).ToArray();
        long[] ttft = Enumerable.Range(1, n).Select(k => 10_000L * k).ToArray();
        long[] e2e = ttft.Select(t => t + 10_000).ToArray();
        SloReport report = SloEvaluator.Evaluate(s_paperLone, new SloRequests(prompts, outputs, ttft, e2e), s_reference, 10);

        SloOutcome p50 = report.Outcomes.Single(o => o.Name == "ttft_p50");
        Assert.Equal(5.5, p50.Value, 12);        // between the 5th and 6th of 1..10
        Assert.Equal(5.5 / 2, p50.Ratio, 12);
        Assert.False(p50.Pass);
        Assert.Equal(9.1, report.Outcomes.Single(o => o.Name == "ttft_p90").Value, 12);
        Assert.Equal(9.91, report.Outcomes.Single(o => o.Name == "ttft_p99").Value, 12);

        // TBT is untouched (10 gaps of 1 us each); E2E slowdown k: (10k + 10) / 20 us.
        Assert.Equal(1.0, report.Outcomes.Single(o => o.Name == "tbt_p99").Value, 12);
        Assert.Equal((55.0 + 10) / 20, report.Outcomes.Single(o => o.Name == "e2e_p50").Value, 12);
        Assert.False(report.AllPass);

        // Good: TTFT slowdown <= 6 and E2E slowdown <= 5 ((10k+10)/20 <= 5 -> k <= 9): k = 1..6.
        Assert.Equal(6, report.GoodRequests);
        Assert.Equal(0.6, report.Goodput, 12);
    }

    [Fact]
    public void Unfinished_requests_count_as_infinitely_slow()
    {
        int n = 100;
        int[] prompts = Enumerable.Repeat(100, n).ToArray();
        int[] outputs = Enumerable.Repeat(11, n).ToArray();
        long[] ttft = Enumerable.Repeat(10_000L, n).ToArray();
        long[] e2e = Enumerable.Repeat(20_000L, n).ToArray();
        ttft[^1] = -1;
        e2e[^1] = -1;
        e2e[^2] = -1;
        SloReport report = SloEvaluator.Evaluate(s_paperLone, new SloRequests(prompts, outputs, ttft, e2e), s_reference, 1);
        SloOutcome e2e99 = report.Outcomes.Single(o => o.Name == "e2e_p99");
        Assert.True(double.IsPositiveInfinity(e2e99.Value));
        Assert.False(e2e99.Pass);
        Assert.True(report.Outcomes.Single(o => o.Name == "ttft_p90").Pass);
        Assert.Equal(98, report.GoodRequests);
    }

    [Fact]
    public void Absolute_slos_compare_nanoseconds_and_need_no_reference()
    {
        SloSet slos = SloSet.Parse("ttft_p99=2s,tbt_p50=200ms");
        long[] ttft = [1_000_000_000, 3_000_000_000];
        long[] e2e = [2_000_000_000, 3_300_000_000];
        SloReport report = SloEvaluator.Evaluate(slos, new SloRequests([10, 10], [6, 2], ttft, e2e), reference: null, 10);
        // TTFT p99 of {1 s, 3 s} = 1 + 2 x 0.99 = 2.98 s: fails. TBT {200 ms, 300 ms}: p50 = 250 ms: fails.
        Assert.Equal(2.98e9, report.Outcomes[0].Value, 3);
        Assert.False(report.Outcomes[0].Pass);
        Assert.Equal(250e6, report.Outcomes[1].Value, 3);
        Assert.Equal(1.25, report.Outcomes[1].Ratio, 12);
        // Per request: the first meets TTFT <= 2 s and TBT <= 200 ms; the second meets neither.
        Assert.Equal(1, report.GoodRequests);
    }

    [Fact]
    public void Parse_reads_units_slowdowns_aliases_and_the_paper_set()
    {
        SloSet s = SloSet.Parse("ttft_p99=2s, tbt_p99=200ms,e2e_p50=1.25x,tpot_p90=750us,ttft_p999=3000000ns");
        Assert.Equal(
            [
                new SloTarget(SloMetric.Ttft, 99, SloKind.Absolute, 2e9),
                new SloTarget(SloMetric.Tbt, 99, SloKind.Absolute, 200e6),
                new SloTarget(SloMetric.E2E, 50, SloKind.Slowdown, 1.25),
                new SloTarget(SloMetric.Tbt, 90, SloKind.Absolute, 750e3),
                new SloTarget(SloMetric.Ttft, 99.9, SloKind.Absolute, 3e6),
            ],
            s.Targets);
        Assert.Equal("ttft_p99=2s,tbt_p99=200ms,e2e_p50=1.25x,tbt_p90=750us,ttft_p99.9=3ms", s.ToString());

        SloSet paper = SloSet.Parse("paper,ttft_p99=10x");
        Assert.Equal(9, paper.Targets.Count);
        Assert.Equal(10, paper.Targets.Single(t => t.Name == "ttft_p99").Target);
        Assert.Equal(SloSet.Paper, SloSet.Parse(SloSet.Paper.ToString()));
    }

    [Theory]
    [InlineData("ttft_p99=2q", "column 1: unknown unit 'q' in '2q'")]
    [InlineData("ttft_p99=2s,latency_p50=1s", "column 13: unknown metric 'latency'")]
    [InlineData("ttft_p99", "has no '='")]
    [InlineData("ttft_p99=1.2.3s", "'1.2.3s' is not a duration")]
    [InlineData("ttft_p150=1s", "outside (0, 100]")]
    [InlineData("ttft_pxx=1s", "'pxx' is not a number")]
    [InlineData("e2e_p50=-1x", "not a positive factor")]
    [InlineData(" , ", "no SLO given")]
    [InlineData("ttft_p99=0ms", "not a positive duration")]
    [InlineData("speed=2s", "unknown metric 'speed'")]
    public void Parse_errors_are_one_line_usage_errors_naming_the_item(string text, string expected)
    {
        var ex = Assert.Throws<SplitwiseException>(() => SloSet.Parse(text));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Percentile_matches_numpy_linear_interpolation_for_doubles_and_integers()
    {
        double[] v = [1, 2, 3, 4];
        Assert.Equal(2.5, Percentiles.Linear<double>(v, 50));
        Assert.Equal(3.7, Percentiles.Linear<double>(v, 90), 12);
        Assert.Equal(4, Percentiles.Linear<double>(v, 100));
        Assert.Equal(1, Percentiles.Linear<double>(v, 0));
        Assert.True(double.IsNaN(Percentiles.Linear<double>([], 50)));
        Assert.True(double.IsPositiveInfinity(Percentiles.Linear<double>([1, double.PositiveInfinity], 50)));
        long[] ns = [1, 2, 3, 4];
        Assert.Equal(3.97, Percentiles.Linear<long>(ns, 99), 12);
        Assert.Equal(Percentiles.Linear<double>(v, 37.5), Percentiles.Linear<long>(ns, 37.5));
    }

    [Fact]
    public void Parse_keeps_itl_apart_from_tbt_and_reads_bare_metrics_as_goodput_bounds()
    {
        SloSet s = SloSet.Parse("itl_p99=50ms, ttft=2s,tbt=100ms,e2e_p90=1.5m,ttft_p50=0.5,,tbt=6x");
        Assert.Equal(
            [
                new SloTarget(SloMetric.Itl, 99, SloKind.Absolute, 50e6),
                new SloTarget(SloMetric.E2E, 90, SloKind.Absolute, 90e9),
                new SloTarget(SloMetric.Ttft, 50, SloKind.Absolute, 0.5e9),
            ],
            s.Targets);
        Assert.Equal([new SloBound(SloMetric.Ttft, SloKind.Absolute, 2e9), new SloBound(SloMetric.Tbt, SloKind.Slowdown, 6)], s.Bounds);
        Assert.True(s.NeedsIdealLatency);
        Assert.True(s.HasItl);
        Assert.Equal("itl_p99=50ms,e2e_p90=90s,ttft_p50=500ms,ttft=2s,tbt=6x", s.ToString());
        Assert.Equal(s, SloSet.Parse(s.ToString()));
    }

    [Theory]
    [InlineData("ttft_p99=2", 2e9)]
    [InlineData("ttft_p99=1.5m", 90e9)]
    [InlineData("ttft_p99=1h", 3600e9)]
    [InlineData("ttft_p99=250µs", 250e3)]
    [InlineData("ttft_p99=7MS", 7e6)]
    public void Targets_take_every_duration_unit_and_bare_seconds(string text, double ns) =>
        Assert.Equal(ns, SloSet.Parse(text).Targets[0].Target, 6);

    [Fact]
    public void Itl_percentiles_are_over_every_gap_with_one_infinite_gap_per_unfinished_request()
    {
        // Request 0: gaps 10, 20, 30 ns; request 1: one gap of 40 ns; request 2 did not finish.
        var requests = new SloRequests([10, 10, 10], [4, 2, 4], [100, 100, -1], [160, 140, -1])
        {
            GapNs = [10, 20, 30, 40],
            GapStart = [0, 3, 4, 4],
        };
        SloReport report = SloEvaluator.Evaluate(SloSet.Parse("itl_p50=25ns,itl_p90=1s,itl=35ns"), requests, null, 1);
        SloOutcome p50 = report.Outcomes[0];
        Assert.Equal(SloPopulation.Gaps, p50.Population);
        Assert.Equal(5, p50.Requests);          // 4 gaps + the unfinished request
        Assert.Equal(30, p50.Value);            // {10, 20, 30, 40, inf}
        Assert.False(p50.Pass);
        Assert.True(double.IsPositiveInfinity(report.Outcomes[1].Value));
        // The bound itl=35ns is on each request's largest gap: request 0 (30) is good, request 1 (40) is not.
        Assert.Equal(1, report.GoodRequests);
        Assert.Equal("itl=35ns", report.GoodputRule);
    }

    [Fact]
    public void Without_gap_data_itl_falls_back_to_each_requests_mean_gap_and_says_so()
    {
        var requests = new SloRequests([10, 10], [4, 2], [100, 100], [160, 140]); // mean gaps 20 and 40 ns
        SloReport report = SloEvaluator.Evaluate(SloSet.Parse("itl_p50=1s"), requests, null, 1);
        Assert.Equal(SloPopulation.RequestMeanGaps, report.Outcomes[0].Population);
        Assert.Equal(30, report.Outcomes[0].Value);
        Assert.Contains("no per-gap data", SloJson.ToText(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Itl_slowdown_divides_each_gap_by_its_requests_ideal_tbt()
    {
        // Ideal TBT is 1000 ns (LinearModel); gaps of 1000 and 3000 ns are slowdowns 1 and 3.
        var requests = new SloRequests([100], [3], [10_000], [14_000]) { GapNs = [1000, 3000], GapStart = [0, 2] };
        SloReport report = SloEvaluator.Evaluate(SloSet.Parse("itl_p100=2x"), requests, s_reference, 1);
        Assert.Equal(3, report.Outcomes[0].Value, 12);
        Assert.False(report.AllPass);
    }

    [Fact]
    public void Goodput_uses_the_loosest_target_unless_explicit_bounds_are_given_then_every_bound()
    {
        long[] ttft = [500_000_000, 1_500_000_000, 2_500_000_000];
        long[] e2e = [600_000_000, 1_600_000_000, 2_600_000_000];
        var requests = new SloRequests([1, 1, 1], [2, 2, 2], ttft, e2e);

        SloReport loose = SloEvaluator.Evaluate(SloSet.Parse("ttft_p50=1s,ttft_p99=2s"), requests, null, 1);
        Assert.Equal(2, loose.GoodRequests);                  // TTFT <= 2 s, the p99 target
        Assert.Equal("ttft=2s", loose.GoodputRule);
        Assert.False(loose.ExplicitBounds);
        Assert.Contains("loosest target of every metric", SloJson.ToText(loose), StringComparison.Ordinal);

        SloReport strict = SloEvaluator.Evaluate(SloSet.Parse("ttft_p50=1s,ttft_p99=2s,ttft=1s,e2e=2s"), requests, null, 1);
        Assert.Equal(1, strict.GoodRequests);                 // TTFT <= 1 s and E2E <= 2 s
        Assert.Equal("ttft=1s,e2e=2s", strict.GoodputRule);
        Assert.Equal(2, strict.Outcomes.Count);               // bounds judge goodput only
        Assert.Contains("every bound ttft=1s,e2e=2s", SloJson.ToText(strict), StringComparison.Ordinal);
    }
}
