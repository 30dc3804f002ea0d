using System.Text.Json;
using Splitwise.Common;
using Splitwise.Designs;
using Splitwise.Replay;

namespace Splitwise.Tests.Replay;

/// <summary>Replay judges SLOs with the Designs model and evaluator (the one simulate uses).</summary>
public class ReplaySloTests
{
    private static readonly Uri s_endpoint = new("http://127.0.0.1:9");

    [Fact]
    public void Replays_slo_syntax_parses_into_the_shared_model()
    {
        SloSet slo = SloSet.Parse("ttft_p99=2s, tbt_p99=200ms,e2e_p50=1.5m,itl_p99.9=50ms");
        Assert.Equal(
            [
                new SloTarget(SloMetric.Ttft, 99, SloKind.Absolute, 2e9),
                new SloTarget(SloMetric.Tbt, 99, SloKind.Absolute, 200e6),
                new SloTarget(SloMetric.E2E, 50, SloKind.Absolute, 90e9),
                new SloTarget(SloMetric.Itl, 99.9, SloKind.Absolute, 50e6),
            ],
            slo.Targets);
        Assert.Equal("itl_p99.9", slo.Targets[3].Name);
        Assert.Equal(SloSet.Parse("ttft_p99=2s,tpot_p99=200ms"), SloSet.Parse("ttft_p99=2000ms,tbt_p99=0.2s"));
    }

    [Theory]
    [InlineData("speed_p99=2s")]
    [InlineData("ttft_p200=2s")]
    [InlineData("ttft_p99=fast")]
    [InlineData("ttft_p99=-1s")]
    public void Bad_objectives_are_usage_errors(string text)
    {
        SplitwiseException ex = Assert.Throws<SplitwiseException>(() => SloSet.Parse(text));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }

    [Fact]
    public void Latency_stats_use_the_shared_percentile()
    {
        LatencyStats s = LatencyStats.FromNanoseconds(new long[] { 4_000_000, 1_000_000, 3_000_000, 2_000_000 });
        Assert.Equal(2.5, s.P50);
        Assert.Equal(Percentiles.Linear<long>([1_000_000, 2_000_000, 3_000_000, 4_000_000], 99) / 1e6, s.P99, 12);
        Assert.Equal(1, s.Min);
        Assert.Null(s.P999);
    }

    private static RequestResult Ok(int index, long ttftMs, long e2eMs, int output, params long[] gapsMs) => new()
    {
        Index = index,
        InputTokens = 100,
        PromptTokensEncoded = 100,
        OutputTokens = output,
        UsageCompletionTokens = output,
        UsagePromptTokens = 100,
        ContentChunks = output,
        SentNs = index * 1_000_000_000L,
        ScheduledNs = index * 1_000_000_000L,
        TtftNs = ttftMs * 1_000_000,
        E2eNs = e2eMs * 1_000_000,
        ItlNs = [.. gapsMs.Select(g => g * 1_000_000)],
    };

    private static ReplaySummary Build(string slo, params RequestResult?[] rows) =>
        ReplaySummary.Build(ReplayTestData.Options(s_endpoint, "unused") with { Slo = SloSet.Parse(slo) }, "t", rows, interrupted: false, scheduleSeconds: 1);

    [Fact]
    public void Verdicts_count_failed_requests_as_infinitely_slow_and_never_good()
    {
        RequestResult failed = Ok(2, 0, 0, 3);
        failed.Error = "http_500";
        failed.TtftNs = -1;
        failed.E2eNs = -1;
        ReplaySummary s = Build("ttft_p50=200ms,ttft_p99=1s,itl_p50=15ms",
            Ok(0, 100, 300, 3, 100, 100), Ok(1, 150, 250, 3, 10, 90), failed, null);
        Assert.Equal(3, s.RequestsSent);
        Assert.Equal(2, s.Completed);
        SloVerdict p50 = s.SloVerdicts[0];
        Assert.Equal(("ttft_p50", "absolute", "200ms", 200.0, 150.0, 3), (p50.Key, p50.Kind, p50.Target, p50.ThresholdMs, p50.MeasuredMs, p50.Count));
        Assert.True(p50.Met);
        SloVerdict p99 = s.SloVerdicts[1];
        Assert.Null(p99.MeasuredMs);                          // the failed request reaches p99
        Assert.False(p99.Met);
        SloVerdict itl = s.SloVerdicts[2];
        Assert.Equal(("gaps", 5), (itl.Population, itl.Count)); // 4 gaps + the failed request
        Assert.Equal(100, itl.MeasuredMs);                    // {10, 90, 100, 100, inf}
        Assert.Equal(2, s.GoodRequests);                      // TTFT <= 1 s (the loosest); the failed one never
        Assert.Equal("ttft=1s", s.GoodputRule);
        Assert.False(s.SloAllPass);
        Assert.Equal(2.0 / 3, s.SloAttainment!.Value, 12);
    }

    [Fact]
    public void Explicit_bounds_give_replays_every_threshold_goodput()
    {
        ReplaySummary s = Build("ttft_p50=120ms,ttft_p99=1s,ttft=120ms,tbt=120ms", Ok(0, 100, 300, 3, 100, 100), Ok(1, 110, 500, 3, 190, 200));
        Assert.Equal(1, s.GoodRequests);                      // request 1 has TPOT 195 ms
        Assert.Equal("ttft=120ms,tbt=120ms", s.GoodputRule);
        Assert.Contains("1 of 2 requests within ttft=120ms,tbt=120ms", s.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_json_from_the_source_generated_writer_equals_the_reflection_serializer_bytes()
    {
        // ToJson is reflection-free for the Native AOT tool; it must write what JsonOptions always wrote.
        ReplaySummary s = Build("ttft_p99=1s,itl_p99=150ms", Ok(0, 100, 300, 3, 100, 100), Ok(1, 110, 500, 3, 190, 200));
        Assert.Equal(JsonSerializer.Serialize(s, ReplaySummary.JsonOptions), s.ToJson());
    }

    [Fact]
    public void Summary_json_keeps_the_slo_fields_and_says_what_each_verdict_was_taken_over()
    {
        ReplaySummary s = Build("ttft_p99=1s,itl_p99=150ms", Ok(0, 100, 300, 3, 100, 100));
        JsonElement json = JsonDocument.Parse(s.ToJson()).RootElement;
        Assert.Equal("ttft_p99=1s,itl_p99=150ms", json.GetProperty("slo").GetString());
        Assert.True(json.GetProperty("slo_all_pass").GetBoolean());
        Assert.Equal(1, json.GetProperty("good_requests").GetInt32());
        Assert.True(json.GetProperty("goodput_rps").GetDouble() > 0);
        JsonElement v = json.GetProperty("slo_verdicts")[1];
        Assert.Equal("itl_p99", v.GetProperty("key").GetString());
        Assert.Equal(150, v.GetProperty("threshold_ms").GetDouble());
        Assert.Equal(100, v.GetProperty("measured_ms").GetDouble());
        Assert.True(v.GetProperty("met").GetBoolean());
        Assert.Equal("gaps", v.GetProperty("population").GetString());
    }

    [Fact]
    public void Slowdown_slos_need_a_reference_and_use_it_on_the_replays_clock()
    {
        var options = ReplayTestData.Options(s_endpoint, "unused") with { Slo = SloSet.Parse("ttft_p50=2.5x") };
        Assert.Equal(ExitCodes.Usage, Assert.Throws<SplitwiseException>(options.Validate).ExitCode);

        // Ideal TTFT 50 ms on the reference; the server runs 1x, so 100 ms measured is a slowdown of 2.
        var judged = options with { SloReference = new FixedReference(50_000_000, 250_000_000) };
        ReplaySummary s = ReplaySummary.Build(judged, "t", [Ok(0, 100, 300, 3)], interrupted: false, scheduleSeconds: 1);
        SloVerdict v = s.SloVerdicts[0];
        Assert.Equal(("slowdown", "2.5x", (double?)null), (v.Kind, v.Target, v.ThresholdMs));
        Assert.Equal(2, v.Value!.Value, 12);
        Assert.True(v.Met);
    }

    private sealed class FixedReference(long ttftNs, long e2eNs) : ISloReference
    {
        public IdealLatency For(int promptTokens, int outputTokens) => new(ttftNs, e2eNs);
    }
}
