using Splitwise.Common;
using Splitwise.Traces;

namespace Splitwise.Simulation;

/// <summary>
/// A synthetic open-loop workload streamed straight into the simulator: Poisson arrivals at a fixed rate, each
/// request's (input, output) sizes drawn jointly from a real trace's rows. It draws exactly what
/// <c>splitwise generate --like T --rate R --seed S</c> writes (the same derived streams <c>arrivals</c> and
/// <c>sizes</c>, the same 100 ns tick arithmetic), without the file: simulating it equals simulating that file.
/// </summary>
public sealed class PoissonArrivals : ArrivalSource
{
    private readonly int[] _inputs;
    private readonly int[] _outputs;
    private readonly double _meanGapTicks;
    private readonly long _count;
    private readonly long _durationTicks;
    private readonly RandomStream _arrivals;
    private readonly RandomStream _sizes;
    private long _ticks;
    private long _origin = -1;
    private long _emitted;
    private bool _done;

    /// <param name="sizes">Rows whose (input, output) pairs are sampled with replacement.</param>
    /// <param name="ratePerSecond">Mean arrival rate.</param>
    /// <param name="count">Stop after this many requests (or -1).</param>
    /// <param name="durationNs">Stop at this time (or -1).</param>
    /// <param name="seed">Root seed.</param>
    public PoissonArrivals(Trace sizes, double ratePerSecond, long count, long durationNs, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count == 0)
        {
            throw SplitwiseException.Usage($"trace '{sizes.Name}' has no requests to draw sizes from");
        }

        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw SplitwiseException.Usage($"--rate must be a positive number of requests per second (got {ratePerSecond})");
        }

        if (count < 0 && durationNs < 0)
        {
            throw SplitwiseException.Usage("a generated workload needs --requests or --duration");
        }

        _inputs = sizes.Inputs.ToArray();
        _outputs = sizes.Outputs.ToArray();
        _meanGapTicks = TimeSpan.TicksPerSecond / ratePerSecond;
        _count = count;
        _durationTicks = durationNs < 0 ? long.MaxValue : durationNs / 100;
        _arrivals = RandomStream.Derive(seed, "arrivals");
        _sizes = RandomStream.Derive(seed, "sizes");
    }

    public override long KnownCount => _count;

    public override int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens)
    {
        int n = 0;
        while (n < arrivalNs.Length && !_done && (_count < 0 || _emitted < _count))
        {
            // The first request arrives one gap after time zero; the simulation clock starts at the first request.
            long t = _ticks + (long)Math.Round(_arrivals.NextExponential() * _meanGapTicks);
            if (t > _durationTicks)
            {
                _done = true;
                break;
            }

            _ticks = t;
            if (_origin < 0)
            {
                _origin = t;
            }

            int row = (int)_sizes.NextInt64(_inputs.Length);
            arrivalNs[n] = (t - _origin) * 100;
            inputTokens[n] = _inputs[row];
            outputTokens[n] = _outputs[row];
            n++;
            _emitted++;
        }

        return n;
    }
}
