using Splitwise.Replay;

namespace Splitwise.Profiling;

/// <summary>
/// One measurement — one row of the profile: <see cref="BatchSize"/> concurrent requests of
/// <see cref="PromptSize"/> prompt tokens and <see cref="OutputTokens"/> forced output tokens, started together at
/// one iteration boundary of the server.
/// </summary>
/// <param name="PromptSize">Prompt tokens of each request (the server's count).</param>
/// <param name="BatchSize">Concurrent requests.</param>
/// <param name="OutputTokens">Forced output tokens of each request.</param>
/// <param name="Repeat">Which repeat of the point (0-based).</param>
/// <param name="PromptMs">Prefill time of the whole batch: the boundary → the last request's first token.</param>
/// <param name="TokenMs">One decode iteration of the batch: the mean gap between consecutive tokens while every
/// request of the batch is decoding (the steady state; prefills and the tail where some have finished are left out).</param>
/// <param name="E2eMs">The boundary → the batch's last token.</param>
/// <param name="SteadyGaps">Token gaps the decode time is the mean of.</param>
/// <param name="FirstTokenSpreadMs">Last minus first first-token time of the batch: near 0 when the server prefilled
/// the batch in one iteration; large when it split it (token budget, slots) — the prompt time then covers them all.</param>
/// <param name="CompletionTokens">The fewest output tokens any request of the batch got (forced length check).</param>
/// <param name="DecodeContext">Mean context per request over the steady gaps the decode time is the mean of: the
/// prompt plus the tokens generated before the iteration that ended the gap (the KV cache that iteration attends
/// to, as the engine's <c>BatchShape.DecodeContextTokens</c> counts it) — the profile's <c>decode_context</c>.</param>
public sealed record ProfileSample(
    int PromptSize,
    int BatchSize,
    int OutputTokens,
    int Repeat,
    double PromptMs,
    double TokenMs,
    double E2eMs,
    int SteadyGaps,
    double FirstTokenSpreadMs,
    int CompletionTokens,
    double DecodeContext = 0)
{
    /// <summary>
    /// The sample from the requests of one measurement, all sent against the same time zero, or null with the reason
    /// when the measurement cannot be used (the caller measures again). The boundary is the first token of
    /// <paramref name="blocker"/>, a one-token request sent just before the batch: the batch queues behind it and the
    /// server starts it at the iteration that follows, so the batch's timing does not depend on how far apart its
    /// requests reached the server. <paramref name="scale"/> multiplies every time (an emulator's speed-up).
    /// </summary>
    /// <remarks>
    /// A busy client or server thread delays a chunk (never advances it). The decode time is the mean gap over the
    /// steady window, whose sum telescopes, so a stall inside the window cancels out; the prompt time is the difference
    /// of two chunk arrivals (the blocker's and the batch's last first token), late alike, so its error is symmetric
    /// and the median over repeats removes it. Pure: it reads <see cref="RequestResult.SentNs"/>,
    /// <see cref="RequestResult.TtftNs"/>, <see cref="RequestResult.E2eNs"/> and <see cref="RequestResult.ItlNs"/>.
    /// </remarks>
    public static ProfileSample? FromRequests(int promptSize, int outputTokens, int repeat, RequestResult blocker, IReadOnlyList<RequestResult> batch, double scale, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(blocker);
        ArgumentNullException.ThrowIfNull(batch);
        string where = $"prompt size {promptSize}, batch size {batch.Count}, repeat {repeat + 1}";
        if (batch.Count == 0)
        {
            throw new ArgumentException("a measurement needs at least one request", nameof(batch));
        }

        foreach (RequestResult r in batch.Prepend(blocker))
        {
            if (!r.Succeeded)
            {
                throw new SplitwiseException($"{where}: a request failed: {r.Error} ({r.ErrorDetail}); check the server (its context length and slots must fit the grid) or pass smaller --prompt-sizes/--batch-sizes", ExitCodes.Failure);
            }
        }

        long boundary = blocker.SentNs + blocker.TtftNs;
        long firstMin = long.MaxValue, firstMax = long.MinValue, lastMin = long.MaxValue, lastMax = long.MinValue;
        int completion = int.MaxValue;
        foreach (RequestResult r in batch)
        {
            long first = r.SentNs + r.TtftNs, last = r.SentNs + r.E2eNs;
            firstMin = Math.Min(firstMin, first);
            firstMax = Math.Max(firstMax, first);
            lastMin = Math.Min(lastMin, last);
            lastMax = Math.Max(lastMax, last);
            completion = Math.Min(completion, r.CompletionTokens);
        }

        // Steady state: from the last first token (every request is decoding) to the first last token (none finished).
        // Gap j ends at token j + 1, produced by the iteration that had j + 1 tokens of the request generated.
        double sum = 0;
        long generatedSum = 0;
        int gaps = 0;
        foreach (RequestResult r in batch)
        {
            long t = r.SentNs + r.TtftNs;
            for (int j = 0; j < r.ItlNs.Length; j++)
            {
                long gap = r.ItlNs[j];
                long end = t + gap;
                if (t >= firstMax && end <= lastMin)
                {
                    sum += gap;
                    generatedSum += j + 1;
                    gaps++;
                }

                t = end;
            }
        }

        problem = null;
        if (gaps == 0)
        {
            problem = $"{where}: no token gap while the whole batch was decoding (got {completion} output tokens per request); raise --output-tokens or check that the server honours ignore_eos/min_tokens";
            return null;
        }

        double decodeNs = sum / gaps;
        // A batch whose first tokens come (almost) with the blocker's ran beside it, not behind it: the server started
        // them together (the blocker was not yet running when the batch arrived).
        double promptNs = firstMax - boundary;
        if (firstMin <= boundary || promptNs < 0.1 * (blocker.TtftNs))
        {
            problem = $"{where}: the batch did not queue behind the one-token request sent ahead of it (the server started them together, or it runs requests in separate slots without a shared batch); try larger --prompt-sizes";
            return null;
        }

        const double MsPerNs = 1e-6;
        return new ProfileSample(
            promptSize,
            batch.Count,
            outputTokens,
            repeat,
            promptNs * MsPerNs * scale,
            decodeNs * MsPerNs * scale,
            (lastMax - boundary) * MsPerNs * scale,
            gaps,
            (firstMax - firstMin) * MsPerNs * scale,
            completion,
            promptSize + ((double)generatedSum / gaps));
    }
}
