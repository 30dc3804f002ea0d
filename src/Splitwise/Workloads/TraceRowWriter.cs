using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using Splitwise.Traces;

namespace Splitwise.Workloads;

/// <summary>
/// Streams trace rows out as CSV in one of the writable formats without holding the trace: Azure 2023
/// (<c>2023-11-16 18:17:03.9799600</c>), Azure 2024 (<c>2024-05-10 00:00:00.009930+00:00</c>, or
/// <c>2024-05-12 00:00:00+00:00</c> for a whole-second row), SplitwiseSim and Vidur (seconds from the start), or
/// Mooncake JSON lines (milliseconds from the start, with <c>hash_ids</c> when rows are written with a chain).
/// </summary>
/// <remarks>
/// Arrivals are 100 ns ticks after <c>start</c>; Azure 2024 keeps microseconds (ticks are floored to whole µs, which
/// keeps order). Formatting is by hand into a byte buffer: no per-row strings, invariant by construction.
/// </remarks>
public sealed class TraceRowWriter : IDisposable
{
    private const int BufferSize = 1 << 16;
    private readonly Stream? _stream;
    private readonly TextWriter? _text;
    private readonly TraceFormat _format;
    private readonly long _startTicks;
    private byte[] _buffer = new byte[BufferSize];
    private char[] _chars;
    private int _used;
    private long _rows;
    private long _cachedDay = long.MinValue;
    private readonly byte[] _dayPrefix = new byte[11];

    public TraceRowWriter(Stream stream, TraceFormat format, DateTimeOffset start)
        : this(format, start)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _chars = [];
    }

    public TraceRowWriter(TextWriter writer, TraceFormat format, DateTimeOffset start)
        : this(format, start)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _text = writer;
        _chars = new char[BufferSize];
    }

    private TraceRowWriter(TraceFormat format, DateTimeOffset start)
    {
        if (format is not (TraceFormat.Azure2023 or TraceFormat.Azure2024 or TraceFormat.SplitwiseSim or TraceFormat.Vidur or TraceFormat.Mooncake))
        {
            throw SplitwiseException.Usage($"--format {format}: cannot write this format; use azure2023, azure2024, splitwise, vidur or mooncake");
        }

        _format = format;
        _startTicks = start.UtcTicks;
        _chars = [];
    }

    public static bool SupportsWholeSeconds(TraceFormat format) => format == TraceFormat.Azure2024;

    /// <summary>Ticks per unit of the format's timestamp resolution (10 for Azure 2024's microseconds, a millisecond for
    /// Mooncake, whose files have integer milliseconds, else 1).</summary>
    public static long Resolution(TraceFormat format) => format switch
    {
        TraceFormat.Azure2024 => 10,
        TraceFormat.Mooncake => TimeSpan.TicksPerMillisecond,
        _ => 1,
    };

    /// <summary>True for the formats that keep prefix hash chains (Mooncake); the CSV formats drop them.</summary>
    public static bool KeepsHashChains(TraceFormat format) => format == TraceFormat.Mooncake;

    public long Rows => _rows;

    /// <summary>Writes the CSV header (nothing for Mooncake JSON lines, which have none).</summary>
    public void WriteHeader() => Append(_format switch
    {
        TraceFormat.Mooncake => ""u8,
        TraceFormat.SplitwiseSim => "request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\n"u8,
        TraceFormat.Vidur => "arrived_at,num_prefill_tokens,num_decode_tokens\n"u8,
        _ => "TIMESTAMP,ContextTokens,GeneratedTokens\n"u8,
    });

    /// <summary>Writes one row. <paramref name="wholeSecond"/> prints an Azure 2024 timestamp without a fraction (it must be a whole second).</summary>
    public void WriteRow(long ticksFromStart, int input, int output, bool wholeSecond = false)
    {
        if (_used > BufferSize - 128)
        {
            Flush();
        }

        if (_format == TraceFormat.Mooncake)
        {
            _used += Traces.Internals.MooncakeLines.Write(_buffer.AsSpan(_used), ticksFromStart, input, output, [], withIds: false);
            _rows++;
            return;
        }

        Span<byte> b = _buffer.AsSpan(_used);
        int n;
        switch (_format)
        {
            case TraceFormat.Azure2023:
                n = Timestamp(b, _startTicks + ticksFromStart, 7, utcSuffix: false);
                break;
            case TraceFormat.Azure2024:
                n = Timestamp(b, _startTicks + ticksFromStart, wholeSecond ? 0 : 6, utcSuffix: true);
                break;
            case TraceFormat.SplitwiseSim:
                n = Int(b, _rows);
                ",2,0,"u8.CopyTo(b[n..]);
                n += 5;
                n += Seconds(b[n..], ticksFromStart);
                ",1"u8.CopyTo(b[n..]);
                n += 2;
                break;
            default:
                n = Seconds(b, ticksFromStart);
                break;
        }

        b[n++] = (byte)',';
        n += Int(b[n..], input);
        b[n++] = (byte)',';
        n += Int(b[n..], output);
        b[n++] = (byte)'\n';
        _used += n;
        _rows++;
    }

    /// <summary>
    /// Writes one row with its prefix hash chain: Mooncake writes <c>hash_ids</c>, the CSV formats drop the chain
    /// (<see cref="KeepsHashChains"/>).
    /// </summary>
    public void WriteRow(long ticksFromStart, int input, int output, ReadOnlySpan<long> hashIds)
    {
        if (_format != TraceFormat.Mooncake)
        {
            WriteRow(ticksFromStart, input, output);
            return;
        }

        int need = Traces.Internals.MooncakeLines.MaxLength(hashIds.Length);
        if (_used + need > _buffer.Length)
        {
            Flush();
            if (need > _buffer.Length)
            {
                _buffer = new byte[need];
            }
        }

        _used += Traces.Internals.MooncakeLines.Write(_buffer.AsSpan(_used), ticksFromStart, input, output, hashIds, withIds: true);
        _rows++;
    }

    public void Flush()
    {
        if (_used == 0)
        {
            return;
        }

        if (_stream is not null)
        {
            _stream.Write(_buffer, 0, _used);
        }
        else
        {
            if (_chars.Length < _used)
            {
                _chars = new char[_buffer.Length];
            }

            int chars = Encoding.ASCII.GetChars(_buffer, 0, _used, _chars, 0);
            _text!.Write(_chars, 0, chars);
        }

        _used = 0;
    }

    public void Dispose()
    {
        Flush();
        _text?.Flush();
        _stream?.Flush();
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_used + bytes.Length > BufferSize)
        {
            Flush();
        }

        bytes.CopyTo(_buffer.AsSpan(_used));
        _used += bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Int(Span<byte> b, long v)
    {
        Utf8Formatter.TryFormat(v, b, out int n);
        return n;
    }

    /// <summary>Seconds with up to 7 fractional digits, trailing zeros dropped: exact for 100 ns ticks.</summary>
    private static int Seconds(Span<byte> b, long ticks)
    {
        int n = 0;
        if (ticks < 0)
        {
            b[n++] = (byte)'-';
            ticks = -ticks;
        }

        n += Int(b[n..], ticks / TimeSpan.TicksPerSecond);
        return n + Traces.Internals.MooncakeLines.Fraction(b[n..], ticks % TimeSpan.TicksPerSecond, 7);
    }

    private int Timestamp(Span<byte> b, long utcTicks, int fractionDigits, bool utcSuffix)
    {
        long day = utcTicks / TimeSpan.TicksPerDay;
        if (day != _cachedDay)
        {
            _cachedDay = day;
            Encoding.ASCII.GetBytes(new DateTime(day * TimeSpan.TicksPerDay, DateTimeKind.Utc).ToString("yyyy-MM-dd ", System.Globalization.CultureInfo.InvariantCulture), _dayPrefix);
        }

        _dayPrefix.CopyTo(b);
        long inDay = utcTicks - (day * TimeSpan.TicksPerDay);
        long seconds = inDay / TimeSpan.TicksPerSecond;
        Two(b[11..], seconds / 3600);
        b[13] = (byte)':';
        Two(b[14..], seconds / 60 % 60);
        b[16] = (byte)':';
        Two(b[17..], seconds % 60);
        int n = 19;
        if (fractionDigits > 0)
        {
            b[n++] = (byte)'.';
            long frac = inDay % TimeSpan.TicksPerSecond;
            for (int i = 7; i > fractionDigits; i--)
            {
                frac /= 10;
            }

            for (int i = fractionDigits - 1; i >= 0; i--)
            {
                b[n + i] = (byte)('0' + (frac % 10));
                frac /= 10;
            }

            n += fractionDigits;
        }

        if (utcSuffix)
        {
            "+00:00"u8.CopyTo(b[n..]);
            n += 6;
        }

        return n;
    }

    private static void Two(Span<byte> b, long v)
    {
        b[0] = (byte)('0' + (v / 10));
        b[1] = (byte)('0' + (v % 10));
    }
}
