using System.Buffers.Text;

namespace Splitwise.Traces.Internals;

/// <summary>
/// Formats Mooncake JSON lines, <c>{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]}</c>,
/// as Mooncake's own trace files spell them: one owner for <see cref="TraceWriter"/> and the streaming generator.
/// </summary>
/// <remarks>
/// <c>timestamp</c> is milliseconds from the trace start: whole milliseconds as an integer, otherwise with up to four
/// decimals (exact for 100 ns ticks), so a line reads back to the tick. <c>hash_ids</c> is written only when the row
/// has a chain.
/// </remarks>
internal static class MooncakeLines
{
    /// <summary>Bytes a line may need: the fixed part plus 21 per id (an int64 and a separator).</summary>
    public static int MaxLength(int ids) => 128 + (ids * 22);

    /// <summary>Writes one line (with its newline) into <paramref name="d"/>, which holds at least <see cref="MaxLength"/> bytes.</summary>
    public static int Write(Span<byte> d, long ticksFromStart, int input, int output, ReadOnlySpan<long> hashIds, bool withIds)
    {
        if (ticksFromStart < 0)
        {
            throw new SplitwiseException($"an arrival is before the trace start ({ticksFromStart} ticks); Mooncake timestamps need arrivals >= 0");
        }

        int n = Copy(d, "{\"timestamp\": "u8);
        long ms = ticksFromStart / TimeSpan.TicksPerMillisecond;
        long fraction = ticksFromStart % TimeSpan.TicksPerMillisecond;
        n += Int(d[n..], ms);
        n += Fraction(d[n..], fraction, 4);

        n += Copy(d[n..], ", \"input_length\": "u8);
        n += Int(d[n..], input);
        n += Copy(d[n..], ", \"output_length\": "u8);
        n += Int(d[n..], output);
        if (withIds)
        {
            n += Copy(d[n..], ", \"hash_ids\": ["u8);
            for (int i = 0; i < hashIds.Length; i++)
            {
                if (i > 0)
                {
                    d[n++] = (byte)',';
                    d[n++] = (byte)' ';
                }

                n += Int(d[n..], hashIds[i]);
            }

            d[n++] = (byte)']';
        }

        d[n++] = (byte)'}';
        d[n++] = (byte)'\n';
        return n;
    }

    /// <summary>
    /// Writes <c>.</c> and the <paramref name="digits"/>-digit decimal <paramref name="fraction"/> with trailing zeros
    /// dropped (nothing when it is 0): 2500 of 4 digits is <c>.25</c>.
    /// </summary>
    public static int Fraction(Span<byte> d, long fraction, int digits)
    {
        if (fraction == 0)
        {
            return 0;
        }

        while (fraction % 10 == 0)
        {
            fraction /= 10;
            digits--;
        }

        d[0] = (byte)'.';
        for (int i = digits; i >= 1; i--)
        {
            d[i] = (byte)('0' + (fraction % 10));
            fraction /= 10;
        }

        return digits + 1;
    }

    private static int Copy(Span<byte> d, ReadOnlySpan<byte> s)
    {
        s.CopyTo(d);
        return s.Length;
    }

    private static int Int(Span<byte> d, long v)
    {
        Utf8Formatter.TryFormat(v, d, out int n);
        return n;
    }
}
