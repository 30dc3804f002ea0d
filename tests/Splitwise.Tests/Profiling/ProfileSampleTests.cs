using Splitwise.Profiling;
using Splitwise.Replay;

namespace Splitwise.Tests.Profiling;

public class ProfileSampleTests
{
    private const long Ms = 1_000_000;

    /// <summary>A request sent at <paramref name="sentMs"/> whose tokens arrive at the given times (ms from zero).</summary>
    private static RequestResult Request(double sentMs, params double[] tokenMs)
    {
        long sent = (long)(sentMs * Ms);
        long[] at = [.. tokenMs.Select(t => (long)(t * Ms))];
        return new RequestResult
        {
            OutputTokens = tokenMs.Length,
            SentNs = sent,
            TtftNs = at[0] - sent,
            E2eNs = at[^1] - sent,
            ItlNs = [.. at.Skip(1).Select((t, i) => t - at[i])],
            ContentChunks = tokenMs.Length,
        };
    }

    private static double[] Tokens(double firstMs, double gapMs, int count) => [.. Enumerable.Range(0, count).Select(k => firstMs + (k * gapMs))];

    [Fact]
    public void Lockstep_batch_gives_prefill_from_the_blocker_boundary_and_the_decode_gap()
    {
        // Blocker's first token at 100 ms; the batch of 3 prefilled in 250 ms, then 10 ms per decode iteration.
        RequestResult blocker = Request(0, 100);
        RequestResult[] batch = [Request(50, Tokens(350, 10, 8)), Request(50.2, Tokens(350, 10, 8)), Request(50.4, Tokens(350, 10, 8))];
        ProfileSample s = ProfileSample.FromRequests(512, 8, 0, blocker, batch, scale: 1, out string? problem)!;
        Assert.Null(problem);
        Assert.Equal(250, s.PromptMs, 6);
        Assert.Equal(10, s.TokenMs, 6);
        Assert.Equal(250 + 70, s.E2eMs, 6);
        Assert.Equal(3 * 7, s.SteadyGaps);
        Assert.Equal(3, s.BatchSize);
        Assert.Equal(512 + 4, s.DecodeContext, 9); // the 7 gaps end at tokens 1..7: 1..7 generated before them, mean 4
    }

    [Fact]
    public void Decode_time_leaves_out_mixed_iterations_before_the_last_first_token_and_the_tail()
    {
        // The server split the batch: request 0 decodes at 15 ms (mixed with the second prefill) until 400 ms, where
        // request 1 gets its first token; both then decode at 10 ms; request 1 runs 3 tokens longer than request 0.
        double[] r0 = [.. Tokens(355, 15, 3), .. Tokens(400, 10, 6)];
        double[] r1 = Tokens(400, 10, 9);
        ProfileSample s = ProfileSample.FromRequests(512, 9, 0, Request(0, 100), [Request(50, r0), Request(50, r1)], 1, out _)!;
        Assert.Equal(10, s.TokenMs, 6);
        Assert.Equal(300, s.PromptMs, 6);        // the whole batch's prefill: boundary → the last first token
        Assert.Equal(45, s.FirstTokenSpreadMs, 6);
        Assert.Equal(5 + 5, s.SteadyGaps);       // gaps inside [400, 450] ms of both requests
        // Request 0's steady gaps end at its tokens 4..8, request 1's at 1..5: mean context 512 + 4.5.
        Assert.Equal(516.5, s.DecodeContext, 9);
    }

    [Fact]
    public void A_stall_inside_the_steady_window_does_not_change_the_decode_time()
    {
        // Tokens 3 and 4 of the 10-ms stream arrive late together with token 5 (a busy thread): the gaps still sum to 70 ms.
        double[] stalled = [300, 310, 320, 350, 350, 350, 360, 370];
        ProfileSample s = ProfileSample.FromRequests(128, 8, 0, Request(0, 100), [Request(50, stalled)], 1, out _)!;
        Assert.Equal(10, s.TokenMs, 6);
    }

    [Fact]
    public void Speedup_scales_every_time()
    {
        ProfileSample s = ProfileSample.FromRequests(128, 5, 0, Request(0, 10), [Request(5, Tokens(30, 2, 5))], scale: 4, out _)!;
        Assert.Equal(80, s.PromptMs, 6);
        Assert.Equal(8, s.TokenMs, 6);
    }

    [Fact]
    public void A_batch_that_ran_beside_the_blocker_is_rejected_for_another_attempt()
    {
        // First tokens with the blocker's: the server started them in one iteration.
        ProfileSample? s = ProfileSample.FromRequests(256, 4, 2, Request(0, 100), [Request(1, Tokens(100.01, 10, 4))], 1, out string? problem);
        Assert.Null(s);
        Assert.Contains("did not queue behind", problem, StringComparison.Ordinal);
        Assert.Contains("repeat 3", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_without_a_steady_window_is_rejected()
    {
        // Request 0 finishes before request 1's first token: no moment where both decode.
        ProfileSample? s = ProfileSample.FromRequests(256, 3, 0, Request(0, 100), [Request(50, Tokens(200, 10, 3)), Request(50, Tokens(300, 10, 3))], 1, out string? problem);
        Assert.Null(s);
        Assert.Contains("no token gap while the whole batch was decoding", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_request_is_an_error_naming_the_point()
    {
        RequestResult failed = Request(0, 100);
        failed.Error = "http_400";
        failed.ErrorDetail = "too long";
        var ex = Assert.Throws<SplitwiseException>(() => ProfileSample.FromRequests(2048, 4, 0, Request(0, 10), [failed], 1, out _));
        Assert.Contains("prompt size 2048, batch size 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("http_400 (too long)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_split_batch_is_reported_by_the_median_of_its_repeats_not_by_one_late_chunk()
    {
        static ProfileSample S(int p, int b, double spread, int completion = 16) => new(p, b, 16, 0, 100, 10, 250, 15, spread, completion);
        ProfileSample[] once = [S(512, 2, 0.1), S(512, 2, 60), S(512, 2, 0.2)];
        Assert.Empty(ServerProfiler.Diagnose(once, 16));
        ProfileSample[] always = [S(512, 4, 50), S(512, 4, 48), S(512, 4, 0.2), S(256, 4, 0.1)];
        string warning = Assert.Single(ServerProfiler.Diagnose(always, 16));
        Assert.Contains("batches of 512x4 in more than one step", warning, StringComparison.Ordinal);
        Assert.Contains("does not force the output length", Assert.Single(ServerProfiler.Diagnose([S(128, 1, 0, completion: 9)], 16)), StringComparison.Ordinal);
    }
}
