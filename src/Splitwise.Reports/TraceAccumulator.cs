using System.Runtime.CompilerServices;
using Splitwise.Common;

namespace Splitwise.Reports;

/// <summary>
/// Streaming statistics over a trace read in chunks: one pass, memory bounded by the number of distinct
/// (input, output) pairs and the number of minutes spanned, never by the number of rows.
/// </summary>
/// <remarks>
/// Per row it updates the inter-arrival sums (exact: 128-bit sum of squared gaps), the per-clock-minute counts and
/// token sums, and the joint (input, output) count table, from which the marginals, exact percentiles, Pearson and
/// Spearman are derived at the end. An optional reservoir keeps a uniform seeded sample of pairs for the scatter plot
/// (Li's Algorithm L: random numbers are drawn only when a row enters the sample). When arrivals are out of order the
/// gap statistics of file order are meaningless; <see cref="OutOfOrder"/> says so and the caller supplies the gaps
/// of the sorted arrivals with <see cref="SetSortedGaps"/>.
/// </remarks>
public sealed class TraceAccumulator
{
    private const long TicksPerMinute = TimeSpan.TicksPerMinute;

    /// <summary>At most this many minutes (about 32 years) may separate the first and last arrival.</summary>
    public const int MaxMinutes = 1 << 24;

    private readonly PairCountTable _pairs = new();
    private readonly int _sampleSize;
    private readonly RandomStream _random;
    private readonly int[] _sampleInputs;
    private readonly int[] _sampleOutputs;
    private long _nextSample;
    private double _w;

    private long _rows;
    private long _first;
    private long _prev;
    private long _min = long.MaxValue;
    private long _max = long.MinValue;
    private long _outOfOrder;
    private ulong _gapSqLo;
    private ulong _gapSqHi;

    private long _baseMinute;
    private long[] _minuteCounts = new long[256];
    private long[] _minuteInputs = new long[256];
    private long[] _minuteOutputs = new long[256];
    private int _minuteLength;

    /// <param name="name">Display name of the trace.</param>
    /// <param name="sampleSize">Size of the scatter-plot sample (0: none).</param>
    /// <param name="seed">Seed of the sample.</param>
    public TraceAccumulator(string name, int sampleSize = 0, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(sampleSize);
        Name = name;
        _sampleSize = sampleSize;
        _random = RandomStream.Derive(seed, "scatter-sample");
        _sampleInputs = new int[sampleSize];
        _sampleOutputs = new int[sampleSize];
        _nextSample = 0;
        _w = 1;
    }

    public string Name { get; }

    public long Rows => _rows;

    /// <summary>Rows whose arrival is earlier than the row before them.</summary>
    public long OutOfOrder => _outOfOrder;

    /// <summary>Rows skipped as invalid by the reader, reported with the statistics.</summary>
    public long SkippedRows { get; set; }

    /// <summary>The reader's first messages about skipped rows (file:line:column: why).</summary>
    public IReadOnlyList<string> FirstErrors { get; set; } = [];

    private PrefixReuseAccumulator? _prefix;

    /// <summary>
    /// Adds a chunk of rows with their prefix hash chains (offsets: count + 1 into <paramref name="hashIds"/>) in file
    /// order; the statistics then include <see cref="TraceStatistics.Prefix"/>. Its memory grows with the distinct
    /// block ids (see <see cref="PrefixReuseAccumulator"/>).
    /// </summary>
    public void Add(ReadOnlySpan<long> utcTicks, ReadOnlySpan<int> inputs, ReadOnlySpan<int> outputs, ReadOnlySpan<int> hashOffsets, ReadOnlySpan<long> hashIds)
    {
        Add(utcTicks, inputs, outputs);
        (_prefix ??= new PrefixReuseAccumulator()).Add(utcTicks, inputs, hashOffsets, hashIds);
    }

    /// <summary>Adds a chunk of rows in file order. Arrivals are absolute UTC ticks.</summary>
    public void Add(ReadOnlySpan<long> utcTicks, ReadOnlySpan<int> inputs, ReadOnlySpan<int> outputs)
    {
        int n = utcTicks.Length;
        if (inputs.Length != n || outputs.Length != n)
        {
            throw new ArgumentException("columns differ in length", nameof(outputs));
        }

        if (n == 0)
        {
            return;
        }

        long rowBase = _rows;
        if (rowBase == 0)
        {
            _first = utcTicks[0];
            _prev = _first;
            _baseMinute = FloorDiv(_first, TicksPerMinute);
        }

        long prev = _prev, min = _min, max = _max, outOfOrder = _outOfOrder;
        ulong sqLo = _gapSqLo, sqHi = _gapSqHi;
        long baseMinute = _baseMinute;
        long[] counts = _minuteCounts, minuteIn = _minuteInputs, minuteOut = _minuteOutputs;
        for (int i = 0; i < n; i++)
        {
            long t = utcTicks[i];
            int x = inputs[i];
            int y = outputs[i];
            if ((x | y) < 0)
            {
                ThrowNegative(rowBase + i, x, y);
            }

            long gap = t - prev;
            if (gap >= 0)
            {
                ulong hi = Math.BigMul((ulong)gap, (ulong)gap, out ulong lo);
                sqLo += lo;
                sqHi += hi + (sqLo < lo ? 1UL : 0UL);
            }
            else
            {
                outOfOrder++;
            }

            prev = t;
            min = Math.Min(min, t);
            max = Math.Max(max, t);

            long m = (t >= 0 ? t / TicksPerMinute : FloorDiv(t, TicksPerMinute)) - baseMinute;
            if ((ulong)m >= (ulong)counts.Length)
            {
                m = GrowMinutes(m);
                baseMinute = _baseMinute;
                counts = _minuteCounts;
                minuteIn = _minuteInputs;
                minuteOut = _minuteOutputs;
            }

            counts[m]++;
            minuteIn[m] += x;
            minuteOut[m] += y;
        }

        _pairs.AddAll(inputs, outputs);

        _prev = prev;
        _min = min;
        _max = max;
        _outOfOrder = outOfOrder;
        _gapSqLo = sqLo;
        _gapSqHi = sqHi;
        _rows = rowBase + n;
        long used = FloorDiv(max, TicksPerMinute) - _baseMinute + 1;
        _minuteLength = (int)Math.Max(_minuteLength, used);

        if (_sampleSize > 0)
        {
            Sample(rowBase, inputs, outputs);
        }
    }

    /// <summary>Replaces the inter-arrival statistics with those of the arrivals in time order (after a sort).</summary>
    public void SetSortedGaps(ReadOnlySpan<long> sortedUtcTicks)
    {
        ulong sqLo = 0, sqHi = 0;
        for (int i = 1; i < sortedUtcTicks.Length; i++)
        {
            long gap = sortedUtcTicks[i] - sortedUtcTicks[i - 1];
            if (gap < 0)
            {
                throw new ArgumentException("arrivals are not sorted", nameof(sortedUtcTicks));
            }

            ulong hi = Math.BigMul((ulong)gap, (ulong)gap, out ulong lo);
            sqLo += lo;
            sqHi += hi + (sqLo < lo ? 1UL : 0UL);
        }

        _gapSqLo = sqLo;
        _gapSqHi = sqHi;
        _sortedGaps = true;
    }

    private bool _sortedGaps;

    /// <summary>True when the inter-arrival statistics describe time order (no disorder, or sorted gaps supplied).</summary>
    public bool GapsInTimeOrder => _outOfOrder == 0 || _sortedGaps;

    private void Sample(long rowBase, ReadOnlySpan<int> inputs, ReadOnlySpan<int> outputs)
    {
        int k = _sampleSize;
        long end = rowBase + inputs.Length;
        long next = _nextSample;
        while (next < end)
        {
            int i = (int)(next - rowBase);
            if (next < k)
            {
                _sampleInputs[next] = inputs[i];
                _sampleOutputs[next] = outputs[i];
                next++;
                if (next == k)
                {
                    _w = Math.Exp(Math.Log(_random.NextDoubleNonZero()) / k);
                    next += Skip();
                }
            }
            else
            {
                int slot = (int)_random.NextInt64(k);
                _sampleInputs[slot] = inputs[i];
                _sampleOutputs[slot] = outputs[i];
                _w *= Math.Exp(Math.Log(_random.NextDoubleNonZero()) / k);
                next += 1 + Skip();
            }
        }

        _nextSample = next;
    }

    private long Skip()
    {
        double s = Math.Floor(Math.Log(_random.NextDoubleNonZero()) / Math.Log(1 - _w));
        return double.IsFinite(s) && s < long.MaxValue / 4 ? (long)s : long.MaxValue / 4;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long GrowMinutes(long m)
    {
        long low = Math.Min(0, m);
        long high = Math.Max(_minuteCounts.Length - 1, m);
        if (high - low + 1 > MaxMinutes)
        {
            throw new SplitwiseException(
                $"{Name}: arrivals span more than {MaxMinutes} minutes (~32 years); check the timestamps (a row far from the rest?)");
        }

        int shift = (int)-low;
        int length = (int)Math.Min(MaxMinutes, Math.Max(System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)(high - low + 1)), (ulong)_minuteCounts.Length * 2));
        _minuteCounts = Regrow(_minuteCounts, length, shift);
        _minuteInputs = Regrow(_minuteInputs, length, shift);
        _minuteOutputs = Regrow(_minuteOutputs, length, shift);
        _baseMinute -= shift;
        _minuteLength += shift;
        return m + shift;
    }

    private static long[] Regrow(long[] old, int length, int shift)
    {
        long[] a = new long[length];
        old.AsSpan(0, Math.Min(old.Length, length - shift)).CopyTo(a.AsSpan(shift));
        return a;
    }

    private void ThrowNegative(long row, int x, int y) =>
        throw new SplitwiseException($"{Name}: request {row + 1}: negative token count (input {x}, output {y}); token counts must be ≥ 0");

    private static long FloorDiv(long a, long b) => (a / b) - (((a % b) != 0 && ((a < 0) ^ (b < 0))) ? 1 : 0);

    /// <summary>Computes the statistics and the data behind the figures.</summary>
    public TraceAnalysis Finish()
    {
        if (_rows == 0)
        {
            throw new SplitwiseException($"{Name}: the trace has no requests; nothing to analyse");
        }

        (int[] pairIn, int[] pairOut, long[] pairCount) = _pairs.ToSortedArrays();
        IntDistribution input = Marginal(pairIn, pairCount);
        IntDistribution output = MarginalOfOutputs(pairOut, pairCount);

        long spanTicks = _max - _min;
        double span = spanTicks / (double)TimeSpan.TicksPerSecond;
        double meanRate = span > 0 ? _rows / span : double.NaN;

        double cv = double.NaN;
        if (_rows > 2 && spanTicks > 0)
        {
            double gaps = _rows - 1;
            double sumSq = (double)(((UInt128)_gapSqHi << 64) | _gapSqLo);
            double mean = spanTicks / gaps;
            double variance = Math.Max(0, (sumSq / gaps) - (mean * mean));
            cv = _outOfOrder == 0 || _sortedGaps ? Math.Sqrt(variance) / mean : double.NaN;
        }

        int minutes = _minuteLength;
        long peak = 0;
        int peakIndex = 0;
        for (int i = 0; i < minutes; i++)
        {
            if (_minuteCounts[i] > peak)
            {
                peak = _minuteCounts[i];
                peakIndex = i;
            }
        }

        (double pearson, double spearman) = Correlations(pairIn, pairOut, pairCount, input, output);

        var stats = new TraceStatistics
        {
            Name = Name,
            Requests = _rows,
            Start = new DateTimeOffset(_min, TimeSpan.Zero),
            End = new DateTimeOffset(_max, TimeSpan.Zero),
            MeanRate = meanRate,
            PeakMinuteRate = peak / 60.0,
            PeakMinute = new DateTimeOffset((_baseMinute + peakIndex) * TicksPerMinute, TimeSpan.Zero),
            InterArrivalCv = cv,
            Input = input.ToStatistics(),
            Output = output.ToStatistics(),
            Pearson = pearson,
            Spearman = spearman,
            InputTokensPerSecond = span > 0 ? input.Sum / span : double.NaN,
            OutputTokensPerSecond = span > 0 ? output.Sum / span : double.NaN,
            OutOfOrder = _outOfOrder,
            SkippedRows = SkippedRows,
            FirstSkipped = FirstErrors,
            DistinctPairs = pairIn.Length,
            Prefix = _prefix?.Finish(),
        };

        int sampled = (int)Math.Min(_sampleSize, _rows);
        return new TraceAnalysis(
            stats,
            input,
            output,
            new MinuteSeries(
                new DateTimeOffset(_baseMinute * TicksPerMinute, TimeSpan.Zero),
                _minuteCounts.AsSpan(0, minutes).ToArray(),
                _minuteInputs.AsSpan(0, minutes).ToArray(),
                _minuteOutputs.AsSpan(0, minutes).ToArray()),
            _sampleInputs.AsSpan(0, sampled).ToArray(),
            _sampleOutputs.AsSpan(0, sampled).ToArray());
    }

    private static IntDistribution Marginal(int[] sortedValues, long[] counts)
    {
        var values = new List<int>();
        var sums = new List<long>();
        for (int i = 0; i < sortedValues.Length; i++)
        {
            if (values.Count > 0 && values[^1] == sortedValues[i])
            {
                sums[^1] += counts[i];
            }
            else
            {
                values.Add(sortedValues[i]);
                sums.Add(counts[i]);
            }
        }

        return new IntDistribution([.. values], [.. sums]);
    }

    private static IntDistribution MarginalOfOutputs(int[] outputs, long[] counts)
    {
        int[] keys = (int[])outputs.Clone();
        long[] c = (long[])counts.Clone();
        Array.Sort(keys, c);
        return Marginal(keys, c);
    }

    /// <summary>Pearson's r of the raw values and Spearman's rho (Pearson of mid-ranks), both over all rows.</summary>
    internal static (double Pearson, double Spearman) Correlations(int[] pairIn, int[] pairOut, long[] pairCount, IntDistribution input, IntDistribution output)
    {
        double n = input.Total;
        double mx = input.Mean, my = output.Mean;
        double[] rx = input.MidRanks(), ry = output.MidRanks();
        double mr = (n + 1) / 2;
        double sxy = 0, sxx = 0, syy = 0, rxy = 0, rxx = 0, ryy = 0;
        for (int i = 0; i < pairIn.Length; i++)
        {
            double c = pairCount[i];
            double dx = pairIn[i] - mx, dy = pairOut[i] - my;
            sxy += c * dx * dy;
            double ax = rx[input.IndexOf(pairIn[i])] - mr, ay = ry[output.IndexOf(pairOut[i])] - mr;
            rxy += c * ax * ay;
        }

        for (int i = 0; i < input.Values.Length; i++)
        {
            double dx = input.Values[i] - mx, ax = rx[i] - mr;
            sxx += input.Counts[i] * dx * dx;
            rxx += input.Counts[i] * ax * ax;
        }

        for (int i = 0; i < output.Values.Length; i++)
        {
            double dy = output.Values[i] - my, ay = ry[i] - mr;
            syy += output.Counts[i] * dy * dy;
            ryy += output.Counts[i] * ay * ay;
        }

        double pearson = sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
        double spearman = rxx > 0 && ryy > 0 ? rxy / Math.Sqrt(rxx * ryy) : double.NaN;
        return (pearson, spearman);
    }
}

/// <summary>Requests and token sums per clock minute, from the minute containing the first arrival.</summary>
public sealed record MinuteSeries(DateTimeOffset Start, long[] Requests, long[] InputTokens, long[] OutputTokens);

/// <summary>The statistics of one trace and the data its figures are drawn from.</summary>
public sealed record TraceAnalysis(
    TraceStatistics Statistics,
    IntDistribution Input,
    IntDistribution Output,
    MinuteSeries PerMinute,
    int[] SampleInputs,
    int[] SampleOutputs);
