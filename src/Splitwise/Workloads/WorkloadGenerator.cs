using Splitwise.Common;

namespace Splitwise.Workloads;

/// <summary>What a generation run produced.</summary>
public sealed record WorkloadSummary(long Requests, long FirstTicks, long LastTicks)
{
    /// <summary>Sessions started (<c>--sessions</c>), else 0.</summary>
    public long Sessions { get; init; }

    /// <summary>Most sessions in flight at once (<c>--sessions</c>), else 0.</summary>
    public int PeakSessions { get; init; }

    public double SpanSeconds => (LastTicks - FirstTicks) / (double)TimeSpan.TicksPerSecond;

    public double MeanRate => SpanSeconds > 0 ? Requests / SpanSeconds : double.NaN;
}

/// <summary>
/// Generates a workload row by row into a <see cref="TraceRowWriter"/>: memory is constant in the number of rows.
/// </summary>
/// <remarks>
/// Determinism: one seeded stream per purpose (<c>arrivals</c>, <c>sizes</c>, <c>whole-seconds</c>) derived from
/// <see cref="WorkloadSpec.Seed"/>, integer 100 ns time (each gap rounded to a tick, summed as integers), so the same
/// spec gives byte-identical output. A renewal process starts at <see cref="WorkloadSpec.Start"/>: the first request
/// arrives one gap after it. Whole-second rows (Azure 2024) are printed at the floor of their second; a small reorder
/// buffer (the last second of rows) keeps the file sorted by the printed time.
/// </remarks>
public static class WorkloadGenerator
{
    public static WorkloadSummary Generate(WorkloadSpec spec, TraceRowWriter writer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(writer);
        spec.Validate();
        if (spec.Sessions is not null)
        {
            return SessionGenerator.Generate(spec, writer);
        }

        RandomStream arrivals = RandomStream.Derive(spec.Seed, "arrivals");
        RandomStream sizes = RandomStream.Derive(spec.Seed, "sizes");
        RandomStream whole = RandomStream.Derive(spec.Seed, "whole-seconds");
        var emitter = new OrderedEmitter(writer, spec.WholeSecondFraction, whole, TraceRowWriter.Resolution(spec.Format), spec.Start.UtcTicks);
        writer.WriteHeader();

        if (spec.ScaleTo is { } target)
        {
            long[] source = spec.LikeArrivals!;
            long first = source[0];
            double span = source[^1] - first;
            // requests / span' = target  ⇒  span' = n / target.
            double factor = span > 0 ? source.Length / target * TimeSpan.TicksPerSecond / span : 0;
            for (int i = 0; i < source.Length; i++)
            {
                emitter.Add((long)Math.Round((source[i] - first) * factor), spec.LikeInputs![i], spec.LikeOutputs![i]);
            }
        }
        else
        {
            double meanGapTicks = TimeSpan.TicksPerSecond / spec.Rate;
            double shape = 1 / (spec.Cv * spec.Cv);
            bool gamma = spec.Arrival == ArrivalKind.Gamma;
            long limit = spec.Duration is { } d ? d.Ticks : long.MaxValue;
            long count = spec.Count ?? long.MaxValue;
            int[]? likeIn = spec.LikeInputs, likeOut = spec.LikeOutputs;
            long t = 0;
            for (long i = 0; i < count; i++)
            {
                double gap = gamma ? arrivals.NextGamma(shape) / shape : arrivals.NextExponential();
                t += (long)Math.Round(gap * meanGapTicks);
                if (t > limit)
                {
                    break;
                }

                int input, output;
                if (likeIn is not null)
                {
                    int k = (int)sizes.NextInt64(likeIn.Length);
                    input = likeIn[k];
                    output = likeOut![k];
                }
                else
                {
                    input = spec.Input!.Sample(sizes);
                    output = spec.Output!.Sample(sizes);
                }

                emitter.Add(t, input, output);
            }
        }

        emitter.Finish();
        writer.Flush();
        return emitter.Summary();
    }

    /// <summary>Quantises to the format's resolution, marks whole-second rows and emits rows in printed-time order.</summary>
    private sealed class OrderedEmitter(TraceRowWriter writer, double wholeFraction, RandomStream random, long resolution, long startUtcTicks)
    {
        private readonly List<(long Ticks, int Input, int Output, bool Whole)> _pending = [];
        private int _head;
        private long _rows;
        private long _first = long.MaxValue;
        private long _last = long.MinValue;

        public void Add(long ticks, int input, int output)
        {
            // Quantise on the absolute clock so a whole second is a whole second of the printed time.
            long abs = startUtcTicks + ticks;
            abs -= abs % resolution;
            bool whole = wholeFraction > 0 && random.NextDouble() < wholeFraction;
            if (whole)
            {
                abs -= abs % TimeSpan.TicksPerSecond;
            }

            long printed = abs - startUtcTicks;
            _first = Math.Min(_first, printed);
            _last = Math.Max(_last, printed);
            _rows++;
            if (wholeFraction == 0)
            {
                writer.WriteRow(printed, input, output);
                return;
            }

            // Everything printed at or before (this row's true time − 1 s) can no longer be overtaken.
            long safe = ticks - TimeSpan.TicksPerSecond;
            while (_head < _pending.Count && _pending[_head].Ticks <= safe)
            {
                var row = _pending[_head++];
                writer.WriteRow(row.Ticks, row.Input, row.Output, row.Whole);
            }

            if (_head > 4096 && _head * 2 > _pending.Count)
            {
                _pending.RemoveRange(0, _head);
                _head = 0;
            }

            // Insert after every pending row printed at or before this one (stable for equal times).
            int at = _pending.Count;
            while (at > _head && _pending[at - 1].Ticks > printed)
            {
                at--;
            }

            _pending.Insert(at, (printed, input, output, whole));
        }

        public void Finish()
        {
            for (int i = _head; i < _pending.Count; i++)
            {
                var row = _pending[i];
                writer.WriteRow(row.Ticks, row.Input, row.Output, row.Whole);
            }

            _pending.Clear();
            _head = 0;
        }

        public WorkloadSummary Summary() => new(_rows, _rows == 0 ? 0 : _first, _rows == 0 ? 0 : _last);
    }
}
