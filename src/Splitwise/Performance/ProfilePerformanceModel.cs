namespace Splitwise.Performance;

/// <summary>
/// SplitwiseSim's <c>DatabasePerformanceModel</c>: the iteration time of a batch from the profile curves.
/// A prompt-only batch costs the prompt curve at x = Σ prompt sizes; a decode-only batch the token curve at
/// x = number of decoding requests; a mixed batch the prompt curve at x = Σ prompt sizes + decoding requests, × 1.1.
/// A profile measured by <c>splitwise profile</c> (with a decode surface) prices decodes by batch and context, and a
/// mixed batch as the prompt curve over all its tokens plus the decodes' context cost read off the surface.
/// </summary>
/// <remarks>
/// Both curves are indexed by prompt_size × batch_size of the profile rows, so a decode batch of n requests reads the
/// token curve at x = n, usually below its first point, and is extrapolated from the first segment. That quirk is
/// SplitwiseSim's and is reproduced on purpose (see docs/simulation.md). Times are rounded to whole nanoseconds.
/// </remarks>
public sealed class ProfilePerformanceModel : IPerformanceModel
{
    /// <summary>SplitwiseSim's factor for a batch mixing prompts and decodes.</summary>
    public const double MixedBatchFactor = 1.1;

    public ProfilePerformanceModel(ProfileCurve curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        Curve = curve;
    }

    public ProfileCurve Curve { get; }

    /// <summary>The iteration time in milliseconds as SplitwiseSim computes it (a double, before rounding).</summary>
    public double IterationMilliseconds(in BatchShape batch)
    {
        if (batch.Prompts > 0 && batch.DecodeRequests == 0)
        {
            return Curve.PredictPromptMs(batch.PromptTokens) + ContextMs(batch);
        }

        if (batch.Prompts == 0)
        {
            return Curve.Decode is { } decode
                ? decode.PredictMs(batch.DecodeRequests, (double)batch.DecodeContextTokens / batch.DecodeRequests)
                : Curve.PredictTokenMs(batch.DecodeRequests);
        }

        if (Curve.Decode is { } surface)
        {
            // A measured profile: the prompt curve over every token of the step (one weight read, the tokens'
            // compute), plus what the decodes' context costs them (their KV reads: the decode surface at their mean
            // context less the same batch at none), instead of SplitwiseSim's factor.
            double n = batch.DecodeRequests, mean = (double)batch.DecodeContextTokens / batch.DecodeRequests;
            double kv = Math.Max(0, surface.PredictMs(n, mean) - surface.PredictMs(n, 0));
            return Curve.PredictPromptMs(batch.PromptTokens + batch.DecodeRequests) + kv + ContextMs(batch);
        }

        return (Curve.PredictPromptMs(batch.PromptTokens + batch.DecodeRequests) * MixedBatchFactor) + ContextMs(batch);
    }

    /// <summary>
    /// What the cached context adds to prompt chunks (chunked prefill, prefix-cache hits). The profile has whole prompts
    /// only, so a chunk of c tokens after k cached ones is priced as its own prompt time T(c) plus the part of the
    /// prompt curve's growth that is super-linear: max(0, T(k + c) − T(k) − T(c)), with k the chunks' token-weighted
    /// mean context. Over a prompt cut into chunks this approximates the attention a whole prompt does (for a linear
    /// curve it adds nothing); it cannot see how the context's KV reads cost at small chunks, which the roofline model prices.
    /// </summary>
    private double ContextMs(in BatchShape batch)
    {
        if (batch.PromptContextPairs <= 0 || batch.PromptTokens <= 0)
        {
            return 0;
        }

        double c = batch.PromptTokens, k = batch.PromptContextPairs / batch.PromptTokens;
        double extra = Curve.PredictPromptMs(k + c) - Curve.PredictPromptMs(k) - Curve.PredictPromptMs(c);
        return Math.Max(0, extra);
    }

    public long IterationNanoseconds(in BatchShape batch)
    {
        if (batch.IsEmpty)
        {
            return 0;
        }

        double ns = Math.Round(IterationMilliseconds(batch) * 1e6);
        // SplitwiseSim asserts a positive time; extrapolating far outside the profile could reach zero or below.
        return ns >= 1 ? (long)ns : 1;
    }
}
