using System.Buffers;
using System.IO.Compression;
using System.Text;
using Splitwise.IO;

namespace Splitwise.Traces;

/// <summary>Writes traces as Azure 2023, Azure 2024, SplitwiseSim or Vidur CSV, or Mooncake JSON lines (LF line ends, UTF-8 without BOM).</summary>
/// <remarks>
/// <para>Every format round-trips through <see cref="TraceReader"/> exactly (arrivals to the 100 ns tick):</para>
/// <list type="bullet">
/// <item><see cref="TraceFormat.Azure2023"/>: UTC timestamps with seven fractional digits, as the 2023 files.</item>
/// <item><see cref="TraceFormat.Azure2024"/>: timestamps in the offset of <see cref="Trace.Start"/> with <c>+HH:MM</c>;
/// whole seconds without a fraction, else six fractional digits (seven when the tick needs it), as the 2024 files.</item>
/// <item><see cref="TraceFormat.SplitwiseSim"/>: <c>request_id</c> = row index, <c>request_type</c> 2 (generative LLM),
/// <c>application_id</c> 0, <c>batch_size</c> 1; <c>arrival_timestamp</c> in seconds after <see cref="Trace.Start"/>.</item>
/// <item><see cref="TraceFormat.Vidur"/>: <c>arrived_at</c> in seconds after <see cref="Trace.Start"/>.</item>
/// <item><see cref="TraceFormat.Mooncake"/>: <c>timestamp</c> in milliseconds after <see cref="Trace.Start"/> (integer when
/// whole, else up to four decimals), and <c>hash_ids</c> when the trace has prefix hash chains: the only format that
/// keeps them. The CSV formats have no place for chains and drop them (<see cref="DropsHashChains"/>).</item>
/// </list>
/// Rows are written in the trace's order. Seconds are written with up to seven decimals, trailing zeros dropped.
/// </remarks>
public static class TraceWriter
{
    /// <summary>
    /// Writes <paramref name="trace"/> to <paramref name="path"/> atomically (temporary name, then rename); a path ending
    /// in <c>.gz</c> is gzip-compressed.
    /// </summary>
    public static void Write(Trace trace, string path, TraceFormat format)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(path);
        CheckWritable(format);
        AtomicFile.Write(path, stream =>
        {
            bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
            Stream target = gzip ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true) : stream;
            try
            {
                using var writer = new StreamWriter(target, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
                Write(trace, writer, format);
            }
            finally
            {
                if (gzip)
                {
                    target.Dispose();
                }
            }
        });
    }

    /// <summary>Writes <paramref name="trace"/> (header and rows) to <paramref name="writer"/>; the writer is not closed.</summary>
    public static void Write(Trace trace, TextWriter writer, TraceFormat format)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(writer);
        CheckWritable(format);
        if (format == TraceFormat.Mooncake)
        {
            WriteMooncake(trace, writer);
            return;
        }

        writer.Write(format switch
        {
            TraceFormat.SplitwiseSim => "request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\n",
            TraceFormat.Vidur => "arrived_at,num_prefill_tokens,num_decode_tokens\n",
            _ => "TIMESTAMP,ContextTokens,GeneratedTokens\n",
        });

        char[] buffer = ArrayPool<char>.Shared.Rent(1 << 16);
        try
        {
            var rows = new RowFormatter(trace, format);
            int pos = 0;
            for (int i = 0; i < trace.Count; i++)
            {
                if (pos > buffer.Length - 160)
                {
                    writer.Write(buffer, 0, pos);
                    pos = 0;
                }

                pos += rows.Format(i, buffer.AsSpan(pos));
            }

            writer.Write(buffer, 0, pos);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>True when writing <paramref name="trace"/> as <paramref name="format"/> loses its prefix hash chains (every format but Mooncake).</summary>
    public static bool DropsHashChains(Trace trace, TraceFormat format)
    {
        ArgumentNullException.ThrowIfNull(trace);
        return trace.HasHashChains && format != TraceFormat.Mooncake;
    }

    private static void CheckWritable(TraceFormat format)
    {
        if (format is not (TraceFormat.Azure2023 or TraceFormat.Azure2024 or TraceFormat.SplitwiseSim or TraceFormat.Vidur or TraceFormat.Mooncake))
        {
            throw SplitwiseException.Usage($"cannot write the {format} format; choose azure2023, azure2024, splitwise, vidur or mooncake");
        }
    }

    private static void WriteMooncake(Trace trace, TextWriter writer)
    {
        byte[] bytes = ArrayPool<byte>.Shared.Rent(1 << 16);
        char[] chars = ArrayPool<char>.Shared.Rent(1 << 16);
        try
        {
            bool chains = trace.HasHashChains;
            int pos = 0;
            for (int i = 0; i < trace.Count; i++)
            {
                ReadOnlySpan<long> chain = trace.HashChain(i);
                int need = Internals.MooncakeLines.MaxLength(chain.Length);
                if (pos + need > bytes.Length)
                {
                    Flush(writer, bytes, ref chars, pos);
                    pos = 0;
                    if (need > bytes.Length)
                    {
                        ArrayPool<byte>.Shared.Return(bytes);
                        bytes = ArrayPool<byte>.Shared.Rent(need);
                    }
                }

                pos += Internals.MooncakeLines.Write(bytes.AsSpan(pos), trace.ArrivalTicks[i], trace.InputTokens[i], trace.OutputTokens[i], chain, chains);
            }

            Flush(writer, bytes, ref chars, pos);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
        }

        static void Flush(TextWriter writer, byte[] bytes, ref char[] chars, int length)
        {
            if (chars.Length < length)
            {
                ArrayPool<char>.Shared.Return(chars);
                chars = ArrayPool<char>.Shared.Rent(length);
            }

            int n = Encoding.ASCII.GetChars(bytes, 0, length, chars, 0);
            writer.Write(chars, 0, n);
        }
    }

    /// <summary>Formats one row at a time into a char span; caches the formatted date (a trace has few).</summary>
    private struct RowFormatter(Trace trace, TraceFormat format)
    {
        private readonly long _origin = trace.Start.UtcTicks;
        private readonly long _offsetTicks = format == TraceFormat.Azure2024 ? trace.Start.Offset.Ticks : 0;
        private long _cachedDay = -1;
        private DateOnly _date;

        public int Format(int i, Span<char> dest)
        {
            long ticks = trace.ArrivalTicks[i];
            int pos = 0;
            if (format is TraceFormat.Azure2023 or TraceFormat.Azure2024)
            {
                pos = Timestamp(_origin + ticks + _offsetTicks, dest);
            }
            else
            {
                if (format == TraceFormat.SplitwiseSim)
                {
                    i.TryFormat(dest, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
                    pos = n;
                    ",2,0,".CopyTo(dest[pos..]);
                    pos += 5;
                }

                pos += Seconds(ticks, dest[pos..]);
                if (format == TraceFormat.SplitwiseSim)
                {
                    ",1".CopyTo(dest[pos..]);
                    pos += 2;
                }
            }

            dest[pos++] = ',';
            pos += Int(trace.InputTokens[i], dest[pos..]);
            dest[pos++] = ',';
            pos += Int(trace.OutputTokens[i], dest[pos..]);
            dest[pos++] = '\n';
            return pos;
        }

        private int Timestamp(long ticks, Span<char> d)
        {
            if (ticks < 0 || ticks > DateTime.MaxValue.Ticks)
            {
                throw new ArgumentOutOfRangeException(nameof(trace), "an arrival is outside the representable dates");
            }

            long day = ticks / TimeSpan.TicksPerDay;
            if (day != _cachedDay)
            {
                _cachedDay = day;
                _date = DateOnly.FromDayNumber((int)day);
            }

            Digits(_date.Year, 4, d);
            d[4] = '-';
            Digits(_date.Month, 2, d[5..]);
            d[7] = '-';
            Digits(_date.Day, 2, d[8..]);
            d[10] = ' ';
            long time = ticks - (day * TimeSpan.TicksPerDay);
            int seconds = (int)(time / TimeSpan.TicksPerSecond);
            int fraction = (int)(time - (seconds * TimeSpan.TicksPerSecond));
            Digits(seconds / 3600, 2, d[11..]);
            d[13] = ':';
            Digits(seconds / 60 % 60, 2, d[14..]);
            d[16] = ':';
            Digits(seconds % 60, 2, d[17..]);
            int pos = 19;
            if (format == TraceFormat.Azure2023)
            {
                d[pos++] = '.';
                Digits(fraction, 7, d[pos..]);
                pos += 7;
                return pos;
            }

            if (fraction != 0)
            {
                d[pos++] = '.';
                if (fraction % 10 == 0)
                {
                    Digits(fraction / 10, 6, d[pos..]);
                    pos += 6;
                }
                else
                {
                    Digits(fraction, 7, d[pos..]);
                    pos += 7;
                }
            }

            int offset = (int)(_offsetTicks / TimeSpan.TicksPerMinute);
            d[pos++] = offset < 0 ? '-' : '+';
            offset = Math.Abs(offset);
            Digits(offset / 60, 2, d[pos..]);
            d[pos + 2] = ':';
            Digits(offset % 60, 2, d[(pos + 3)..]);
            return pos + 5;
        }

        private static int Seconds(long ticks, Span<char> d)
        {
            if (ticks < 0)
            {
                throw new SplitwiseException($"an arrival is before the trace start ({ticks} ticks); relative formats need arrivals >= 0");
            }

            long whole = ticks / TimeSpan.TicksPerSecond;
            int fraction = (int)(ticks - (whole * TimeSpan.TicksPerSecond));
            whole.TryFormat(d, out int pos, default, System.Globalization.CultureInfo.InvariantCulture);
            d[pos++] = '.';
            if (fraction == 0)
            {
                d[pos++] = '0';
                return pos;
            }

            int digits = 7;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }

            Digits(fraction, digits, d[pos..]);
            return pos + digits;
        }

        private static int Int(int value, Span<char> d)
        {
            value.TryFormat(d, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
            return n;
        }

        private static void Digits(int value, int width, Span<char> d)
        {
            for (int i = width - 1; i >= 0; i--)
            {
                d[i] = (char)('0' + (value % 10));
                value /= 10;
            }
        }
    }
}
