using System.Runtime.CompilerServices;

namespace Splitwise.Common;

/// <summary>
/// A small, fast, seeded pseudo-random stream (xoshiro256**, seeded through SplitMix64). Its sequence is fixed by this
/// code, not by the runtime version, so the same seed gives the same workload on every machine and .NET release.
/// </summary>
/// <remarks>Use one stream per purpose (arrivals, sizes, sampling) derived from a root seed with <see cref="Derive"/>.</remarks>
public sealed class RandomStream
{
    private ulong _s0, _s1, _s2, _s3;

    public RandomStream(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>An independent stream for one purpose, e.g. <c>Derive(seed, "arrivals")</c>.</summary>
    public static RandomStream Derive(ulong rootSeed, string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        // FNV-1a of the purpose name: stable across runs and runtimes (string.GetHashCode is randomised per process).
        ulong h = 14695981039346656037UL;
        foreach (char c in purpose)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return new RandomStream(rootSeed ^ h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in (0, 1]: safe to take the logarithm of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDoubleNonZero() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's method).</summary>
    public long NextInt64(long bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong b = (ulong)bound;
        ulong hi = Math.BigMul(NextUInt64(), b, out ulong lo);
        if (lo < b)
        {
            ulong threshold = (0 - b) % b;
            while (lo < threshold)
            {
                hi = Math.BigMul(NextUInt64(), b, out lo);
            }
        }

        return (long)hi;
    }

    /// <summary>Standard normal (Marsaglia polar method, one value per call; the spare is discarded for simplicity of state).</summary>
    public double NextNormal()
    {
        double u, v, s;
        do
        {
            u = (2 * NextDouble()) - 1;
            v = (2 * NextDouble()) - 1;
            s = (u * u) + (v * v);
        }
        while (s >= 1 || s == 0);

        return u * Math.Sqrt(-2 * Math.Log(s) / s);
    }

    /// <summary>Exponential with mean 1.</summary>
    public double NextExponential() => -Math.Log(NextDoubleNonZero());

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000); shape &lt; 1 via the boost U^(1/shape).</summary>
    public double NextGamma(double shape)
    {
        if (shape < 1)
        {
            return NextGamma(shape + 1) * Math.Pow(NextDoubleNonZero(), 1 / shape);
        }

        double d = shape - (1.0 / 3), c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextNormal();
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            double u = NextDoubleNonZero();
            if (u < 1 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
