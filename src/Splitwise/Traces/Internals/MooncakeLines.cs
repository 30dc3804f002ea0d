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
        if (fraction != 0)
        {
            d[n++] = (byte)'.';
            int digits = 4;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }

            for (int i = digits - 1; i >= 0; i--)
            {
                d[n + i] = (byte)('0' + (fraction % 10));
                fraction /= 10;
            }

            n += digits;
        }

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
