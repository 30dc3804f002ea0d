using Splitwise.Traces;

namespace Splitwise.Simulation;

/// <summary>
/// A synthetic open-loop workload streamed straight into the simulator: Poisson arrivals at a fixed rate, each
/// request's (input, output) sizes drawn jointly from a real trace's rows. Two seeded streams derived from one root
/// seed (arrivals, sizes), so the same seed gives the same workload.
/// </summary>
public sealed class PoissonArrivals : ArrivalSource
{
    private readonly int[] _inputs;
    private readonly int[] _outputs;
    private readonly double _meanGapNs;
    private readonly long _count;
    private readonly long _durationNs;
    private readonly Random _arrivals;
    private readonly Random _sizes;
    private double _clockNs;
    private long _emitted;

    /// <param name="sizes">Rows whose (input, output) pairs are sampled with replacement.</param>
    /// <param name="ratePerSecond">Mean arrival rate.</param>
    /// <param name="count">Stop after this many requests (or -1).</param>
    /// <param name="durationNs">Stop at this time (or -1).</param>
    /// <param name="seed">Root seed.</param>
    public PoissonArrivals(Trace sizes, double ratePerSecond, long count, long durationNs, int seed)
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
        _meanGapNs = 1e9 / ratePerSecond;
        _count = count;
        _durationNs = durationNs;
        var root = new Random(seed);
        _arrivals = new Random(root.Next());
        _sizes = new Random(root.Next());
    }

    public override long KnownCount => _count;

    public override int Fill(Span<long> arrivalNs, Span<int> inputTokens, Span<int> outputTokens)
    {
        int n = 0;
        while (n < arrivalNs.Length && (_count < 0 || _emitted < _count))
        {
            long t = (long)_clockNs;
            if (_durationNs >= 0 && t > _durationNs)
            {
                break;
            }

            int row = _sizes.Next(_inputs.Length);
            arrivalNs[n] = t;
            inputTokens[n] = _inputs[row];
            outputTokens[n] = _outputs[row];
            n++;
            _emitted++;
            // Exponential gap: -ln(1 - U) × mean, U in [0, 1).
            _clockNs += -Math.Log(1 - _arrivals.NextDouble()) * _meanGapNs;
        }

        return n;
    }
}
