using System.Globalization;

namespace Splitwise.Performance;

/// <summary>
/// A decode iteration's time by batch size and context, from a profile's <c>decode_context</c> column: for each
/// profiled batch size, the median token time at each measured mean context (one point per profiled prompt size),
/// interpolated piecewise-linearly in context; between batch sizes, linearly in the batch size. Beyond the measured
/// range both are extrapolated linearly from the end segments (decode time grows about linearly in the batch and in
/// the KV cache it reads), as <see cref="ProfileCurve.Interpolate"/> does.
/// </summary>
/// <remarks>
/// At a measured (batch size, context) the prediction is that point's median exactly. A batch size with one
/// measured context is constant in context; a profile with one batch size is constant in batch size. The query is
/// the mean context of the decoding requests (Σ context / n): attention reads every request's KV, so a decode step's
/// cost is linear in Σ context at a fixed n, and the mean is the exact reduction for a linear surface. A query scans the batch sizes and one batch size's contexts (a
/// profile has a handful of each).
/// </remarks>
public sealed class DecodeSurface
{
    private readonly int[] _batches;
    private readonly double[][] _contexts;
    private readonly double[][] _tokenMs;

    private DecodeSurface(int[] batches, double[][] contexts, double[][] tokenMs)
    {
        _batches = batches;
        _contexts = contexts;
        _tokenMs = tokenMs;
    }

    /// <summary>Profiled batch sizes, ascending.</summary>
    public IReadOnlyList<int> BatchSizes => _batches;

    /// <summary>Measured points: (batch size, mean context tokens, median token time in ms).</summary>
    public int Points => _contexts.Sum(c => c.Length);

    /// <summary>The measured mean contexts (ascending) of batch size <see cref="BatchSizes"/>[<paramref name="i"/>].</summary>
    public IReadOnlyList<double> Contexts(int i) => _contexts[i];

    /// <summary>The surface from measured points (batch size, mean context tokens, token time in ms); points with the
    /// same batch size and context are averaged.</summary>
    public static DecodeSurface FromPoints(ProfileKey key, IEnumerable<(int Batch, double Context, double TokenMs)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var byBatch = points.GroupBy(p => p.Batch).OrderBy(g => g.Key).ToArray();
        if (byBatch.Length == 0)
        {
            throw SplitwiseException.Usage($"profile curve {key}: the {ProfileTable.DecodeContextColumn} column has no rows");
        }

        int[] batches = new int[byBatch.Length];
        double[][] contexts = new double[byBatch.Length][], times = new double[byBatch.Length][];
        for (int i = 0; i < byBatch.Length; i++)
        {
            batches[i] = byBatch[i].Key;
            var merged = byBatch[i].GroupBy(p => p.Context).OrderBy(g => g.Key).ToArray();
            contexts[i] = [.. merged.Select(g => g.Key)];
            times[i] = [.. merged.Select(g => g.Average(p => p.TokenMs))];
        }

        return new DecodeSurface(batches, contexts, times);
    }

    /// <summary>One decode iteration of <paramref name="batch"/> requests whose mean context is
    /// <paramref name="meanContext"/> tokens, in milliseconds (may be below zero far outside the measured range; the
    /// performance model clamps).</summary>
    public double PredictMs(double batch, double meanContext)
    {
        int n = _batches.Length;
        if (n == 1)
        {
            return AtBatch(0, meanContext);
        }

        // The segment of batch sizes holding (or nearest to) the query, as ProfileCurve.Interpolate picks it.
        int i = 1;
        while (i < n - 1 && _batches[i] < batch)
        {
            i++;
        }

        double b0 = _batches[i - 1], y0 = AtBatch(i - 1, meanContext), y1 = AtBatch(i, meanContext);
        return y0 + ((y1 - y0) / (_batches[i] - b0) * (batch - b0));
    }

    private double AtBatch(int i, double context)
    {
        double[] x = _contexts[i], y = _tokenMs[i];
        if (x.Length == 1)
        {
            return y[0];
        }

        int j = 1;
        while (j < x.Length - 1 && x[j] < context)
        {
            j++;
        }

        return y[j - 1] + ((y[j] - y[j - 1]) / (x[j] - x[j - 1]) * (context - x[j - 1]));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"decode by batch × context: {Points} points, batch sizes {string.Join(",", _batches)}");
}
