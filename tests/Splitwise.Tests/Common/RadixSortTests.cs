using CsCheck;
using Splitwise.Common;

namespace Splitwise.Tests.Common;

public sealed class RadixSortTests
{
    /// <summary>Doubles of every kind: latencies (positive, many equal), any bit pattern, and the special values.</summary>
    private static readonly Gen<double> s_value = Gen.Frequency(
        (6, Gen.Double[0, 1e4]),
        (2, Gen.Int[0, 50].Select(i => i * 0.25)),
        (2, Gen.Double),
        (1, Gen.OneOfConst(0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue)));

    [Fact]
    public void Sorts_as_the_comparison_sort_does()
    {
        Gen.OneOf(s_value.Array[0, 300], s_value.Array[256, 5000]).Sample(values =>
        {
            double[] expected = (double[])values.Clone();
            Array.Sort(expected);
            double[] actual = (double[])values.Clone();
            RadixSort.Sort(actual);

            // Equal under CompareTo position by position (−0 and +0 may trade places, as in any unstable sort), and the
            // same multiset of bit patterns otherwise (NaNs come back canonical).
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(expected[i].CompareTo(actual[i]) == 0, $"at {i}: expected {expected[i]}, got {actual[i]}");
            }

            Assert.Equal(
                values.Where(v => !double.IsNaN(v)).Select(BitConverter.DoubleToInt64Bits).Order(),
                actual.Where(v => !double.IsNaN(v)).Select(BitConverter.DoubleToInt64Bits).Order());
        }, iter: 300);
    }

    [Fact]
    public void Sorts_a_million_latencies_in_order()
    {
        var random = new Random(7);
        double[] values = Enumerable.Range(0, 1 << 20).Select(_ => Math.Round(random.NextDouble() * 3, 3)).ToArray();
        double[] expected = values.Order().ToArray();
        RadixSort.Sort(values);
        Assert.Equal(expected, values);
    }
}
