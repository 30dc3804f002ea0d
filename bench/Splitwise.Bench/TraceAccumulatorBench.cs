using BenchmarkDotNet.Attributes;
using Splitwise.Reports;

namespace Splitwise.Bench;

/// <summary>
/// analyze's per-row work without the parser: <c>TraceAccumulator.Add</c> over 1 M in-memory rows shaped like
/// the week-long conversation trace (Poisson arrivals at 45 req/s, sizes from a few thousand distinct pairs), in
/// 64 Ki-row chunks as the reader yields them.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class TraceAccumulatorBench
{
    private const int Chunk = 1 << 16;
    private long[] _ticks = [];
    private int[] _inputs = [];
    private int[] _outputs = [];

    [Params(1_000_000)]
    public int Rows { get; set; }

    [Params(0, 20_000)]
    public int Sample { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _ticks = new long[Rows];
        _inputs = new int[Rows];
        _outputs = new int[Rows];
        long t = new DateTimeOffset(2024, 5, 12, 0, 0, 0, TimeSpan.Zero).UtcTicks;
        for (int i = 0; i < Rows; i++)
        {
            t += (long)(-Math.Log(1 - random.NextDouble()) * TimeSpan.TicksPerSecond / 45);
            _ticks[i] = t;
            int k = random.Next(19_366);
            _inputs[i] = 2 + (k * 7 % 14_000);
            _outputs[i] = 7 + (k * 13 % 990);
        }
    }

    [Benchmark]
    public long Accumulate()
    {
        var accumulator = new TraceAccumulator("bench", Sample, 1);
        for (int i = 0; i < Rows; i += Chunk)
        {
            int n = Math.Min(Chunk, Rows - i);
            accumulator.Add(_ticks.AsSpan(i, n), _inputs.AsSpan(i, n), _outputs.AsSpan(i, n));
        }

        return accumulator.Finish().Statistics.Requests;
    }
}
