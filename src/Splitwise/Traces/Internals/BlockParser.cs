using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Splitwise.Traces.Internals;

/// <summary>An invalid row found while parsing a block: line relative to the block start, 1-based column.</summary>
internal readonly record struct BlockError(int LocalLine, int Column, string Reason);

/// <summary>The parsed rows of one block of whole lines and what was found on the way.</summary>
internal sealed class BlockResult
{
    public TraceChunk Chunk { get; set; } = null!;

    /// <summary>Newlines in the block: the line number of the next block's first line is this block's plus this.</summary>
    public int Lines { get; set; }

    public int Skipped { get; set; }

    /// <summary>With SkipInvalid the first few errors of the block; without, the one error that stopped it.</summary>
    public List<BlockError> Errors { get; } = [];

    public bool Fatal { get; set; }

    /// <summary>Rows earlier than the row before them, within this block.</summary>
    public int OutOfOrder { get; set; }

    /// <summary>UTC offset in minutes of the first row (Azure 2024 timestamps may carry one).</summary>
    public int FirstOffsetMinutes { get; set; }

    public void Reset()
    {
        Lines = 0;
        Skipped = 0;
        Errors.Clear();
        Fatal = false;
        OutOfOrder = 0;
        FirstOffsetMinutes = 0;
    }
}

/// <summary>
/// Parses blocks of whole lines into columns. Hand-written over bytes rather than through Sep: every format here is
/// unquoted numbers, the Azure timestamps need a fixed-layout parser (no DateTime.Parse) to reach the ~700 MB/s the
/// 27 M-row target asks for, and one code path gives every format the same exact file:line:column errors and the same
/// parallel block pipeline. Canonical fields take the fast path; anything else (spaces, quotes, exponents, errors)
/// falls to a slow path that either accepts the value or says precisely why not.
/// </summary>
/// <remarks>
/// The caller guarantees <c>buffer[to] == '\n'</c> (a sentinel, so scans need no bounds checks) and at least
/// <see cref="Slack"/> readable bytes after <c>to</c> (fixed-layout reads may look past a truncated field; every such
/// byte is validated, and the sentinel fails every validation).
/// </remarks>
internal static unsafe class BlockParser
{
    public const int Slack = 64;

    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private static readonly long s_unixEpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;
    private static readonly long[] s_pow10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

    /// <summary>Largest accepted relative arrival, in seconds (about 3,000 years).</summary>
    private const long MaxSeconds = 100_000_000_000;

    private const uint PlusZeroZero = '+' | ('0' << 8) | ('0' << 16) | (':' << 24);
    private const ushort ZeroZero = '0' | ('0' << 8);

    private struct DateCache
    {
        public ulong Key8;
        public ushort Key2;
        public long DayTicks;
    }

    public static void Parse(byte[] buffer, int from, int to, TraceLayout layout, bool skipInvalid, BlockResult result)
    {
        if (layout.IsJsonLines)
        {
            ParseJsonLines(buffer, from, to, skipInvalid, result);
        }
        else
        {
            ParseCsv(buffer, from, to, layout, skipInvalid, result);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ParseCsv(byte[] buffer, int from, int to, TraceLayout layout, bool skipInvalid, BlockResult result)
    {
        FieldRole[] roles = layout.Roles;
        bool standardAzure = roles is [FieldRole.AzureTime, FieldRole.Input, FieldRole.Output];
        int fields = roles.Length;
        int last = fields - 1;
        TraceChunk chunk = result.Chunk;
        long[] arrivals = chunk.ArrivalTicks;
        int[] inputs = chunk.InputTokens;
        int[] outputs = chunk.OutputTokens;
        int capacity = arrivals.Length;
        int count = 0;
        int line = 0;
        int outOfOrder = 0;
        long previous = long.MinValue;
        var cache = default(DateCache);
        bool first = true;

        fixed (byte* b = buffer)
        {
            byte* p = b + from;
            byte* end = b + to;
            while (p < end)
            {
                byte* lineStart = p;
                long arrival = 0;
                int input = 0, output = 0, offset = 0;

                // The hot path: a canonical Azure row "timestamp,int,int" in the standard column order.
                if (standardAzure)
                {
                    byte* q = ParseTime(p, ref cache, out arrival, out offset);
                    if (q != null && *q == ',' && (q = ParseInt(q + 1, out input)) != null && *q == ',' &&
                        (q = ParseInt(q + 1, out output)) != null)
                    {
                        if (*q == '\n')
                        {
                            p = q + 1;
                            goto Store;
                        }

                        if (*q == '\r' && q[1] == '\n')
                        {
                            p = q + 2;
                            goto Store;
                        }
                    }
                }

                if (*p == '\n' || (*p == '\r' && p[1] == '\n'))
                {
                    p += *p == '\n' ? 1 : 2;
                    line++;
                    continue;
                }

                string? error = null;
                int errorColumn = 0;
                for (int f = 0; f < fields; f++)
                {
                    byte* fieldStart = p;
                    byte* q;
                    switch (roles[f])
                    {
                        case FieldRole.AzureTime:
                            q = ParseTime(p, ref cache, out arrival, out offset);
                            break;
                        case FieldRole.Seconds:
                            q = ParseSeconds(p, out arrival);
                            arrival += s_unixEpochTicks;
                            break;
                        case FieldRole.Input:
                            q = ParseInt(p, out input);
                            break;
                        case FieldRole.Output:
                            q = ParseInt(p, out output);
                            break;
                        default:
                            q = p;
                            while (*q != ',' && *q != '\n')
                            {
                                q++;
                            }

                            if (q[-1] == '\r' && *q == '\n' && q > p)
                            {
                                q--;
                            }

                            break;
                    }

                    if (q != null)
                    {
                        byte d = *q;
                        if (f < last ? d == ',' : d == '\n' || (d == '\r' && q[1] == '\n'))
                        {
                            p = f < last ? q + 1 : q;
                            continue;
                        }
                    }

                    // Cold: not the canonical form, or the wrong delimiter after it.
                    p = SlowField(lineStart, fieldStart, f, layout, ref arrival, ref input, ref output, ref offset, out error, out errorColumn);
                    if (error is not null)
                    {
                        break;
                    }
                }

                if (error is not null)
                {
                    result.Skipped++;
                    if (result.Errors.Count < TraceReadReport.MaxErrors)
                    {
                        result.Errors.Add(new BlockError(line, errorColumn, error));
                    }

                    if (!skipInvalid)
                    {
                        result.Fatal = true;
                        break;
                    }

                    p = SkipLine(p);
                    line++;
                    continue;
                }

                // p is at '\r\n' or '\n' (possibly the sentinel).
                p += *p == '\r' ? 2 : 1;

            Store:
                line++;
                if (count == capacity)
                {
                    chunk.Count = count;
                    chunk.Grow(capacity * 2);
                    arrivals = chunk.ArrivalTicks;
                    inputs = chunk.InputTokens;
                    outputs = chunk.OutputTokens;
                    capacity = arrivals.Length;
                }

                if (arrival < previous)
                {
                    outOfOrder++;
                }

                if (first)
                {
                    result.FirstOffsetMinutes = offset;
                    first = false;
                }

                previous = arrival;
                arrivals[count] = arrival;
                inputs[count] = input;
                outputs[count] = output;
                count++;
            }
        }

        chunk.Count = count;
        result.Lines = line;
        result.OutOfOrder = outOfOrder;
    }

    private static byte* SkipLine(byte* p)
    {
        while (*p != '\n')
        {
            p++;
        }

        return p + 1;
    }

    /// <summary>Parses non-negative decimal digits into an int; null when the field does not start with a digit or overflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* ParseInt(byte* p, out int value)
    {
        uint d = (uint)(*p - '0');
        value = 0;
        if (d > 9)
        {
            return null;
        }

        ulong v = d;
        p++;
        while ((d = (uint)(*p - '0')) <= 9)
        {
            v = (v * 10) + d;
            p++;
            if (v > int.MaxValue)
            {
                return null;
            }
        }

        value = (int)v;
        return p;
    }

    /// <summary>Parses <c>digits[.digits]</c> seconds into ticks (rounded to the nearest tick); null for any other form.</summary>
    private static byte* ParseSeconds(byte* p, out long ticks)
    {
        ticks = 0;
        uint d = (uint)(*p - '0');
        if (d > 9)
        {
            return null;
        }

        long whole = 0;
        int digits = 0;
        while ((d = (uint)(*p - '0')) <= 9)
        {
            whole = (whole * 10) + d;
            p++;
            if (++digits > 11)
            {
                return null;
            }
        }

        long fraction = 0;
        if (*p == '.')
        {
            p++;
            int n = 0;
            int round = 0;
            while ((d = (uint)(*p - '0')) <= 9)
            {
                if (n < 7)
                {
                    fraction = (fraction * 10) + d;
                }
                else if (n == 7)
                {
                    round = d >= 5 ? 1 : 0;
                }

                n++;
                p++;
            }

            fraction = (fraction * s_pow10[7 - Math.Min(n, 7)]) + round;
        }

        if (*p is (byte)'e' or (byte)'E' || whole > MaxSeconds)
        {
            return null;
        }

        ticks = (whole * TicksPerSecond) + fraction;
        return p;
    }

    /// <summary>
    /// Parses <c>yyyy-MM-dd HH:mm:ss[.f…][±HH:MM|Z]</c> (or <c>T</c> between date and time) into UTC ticks; fractional
    /// digits beyond the seventh are truncated. Null for anything else. The date's ticks are cached per block: a
    /// trace has one date for hundreds of thousands of rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* ParseTime(byte* s, ref DateCache cache, out long utcTicks, out int offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        ulong key8 = Unsafe.ReadUnaligned<ulong>(s);
        ushort key2 = Unsafe.ReadUnaligned<ushort>(s + 8);
        long day;
        if (key8 == cache.Key8 && key2 == cache.Key2)
        {
            day = cache.DayTicks;
        }
        else
        {
            if (!TryParseDate(s, out day))
            {
                return null;
            }

            cache.Key8 = key8;
            cache.Key2 = key2;
            cache.DayTicks = day;
        }

        uint h1 = (uint)(s[11] - '0'), h2 = (uint)(s[12] - '0');
        uint m1 = (uint)(s[14] - '0'), m2 = (uint)(s[15] - '0');
        uint c1 = (uint)(s[17] - '0'), c2 = (uint)(s[18] - '0');
        if ((s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' ||
            h1 > 9 || h2 > 9 || m1 > 9 || m2 > 9 || c1 > 9 || c2 > 9)
        {
            return null;
        }

        uint hour = (h1 * 10) + h2, minute = (m1 * 10) + m2, second = (c1 * 10) + c2;
        if (hour > 23 || minute > 59 || second > 59)
        {
            return null;
        }

        long t = day + (hour * TimeSpan.TicksPerHour) + (minute * TimeSpan.TicksPerMinute) + (second * TicksPerSecond);
        byte* q = s + 19;
        if (*q == '.')
        {
            q++;
            long fraction = 0;
            int n = 0;
            uint d;
            while ((d = (uint)(*q - '0')) <= 9)
            {
                if (n < 7)
                {
                    fraction = (fraction * 10) + d;
                }

                n++;
                q++;
            }

            if (n == 0)
            {
                return null;
            }

            t += fraction * s_pow10[7 - Math.Min(n, 7)];
        }

        byte sign = *q;
        if (Unsafe.ReadUnaligned<uint>(q) == PlusZeroZero && Unsafe.ReadUnaligned<ushort>(q + 4) == ZeroZero)
        {
            // "+00:00", the only offset in the 2024 traces.
            q += 6;
        }
        else if (sign is (byte)'+' or (byte)'-')
        {
            uint a = (uint)(q[1] - '0'), b = (uint)(q[2] - '0'), c = (uint)(q[4] - '0'), e = (uint)(q[5] - '0');
            if (a > 9 || b > 9 || q[3] != ':' || c > 9 || e > 9)
            {
                return null;
            }

            int hours = (int)((a * 10) + b), minutes = (int)((c * 10) + e);
            if (hours > 14 || minutes > 59)
            {
                return null;
            }

            offsetMinutes = (hours * 60) + minutes;
            if (sign == '-')
            {
                offsetMinutes = -offsetMinutes;
            }

            t -= offsetMinutes * TimeSpan.TicksPerMinute;
            q += 6;
        }
        else if (sign == 'Z')
        {
            q++;
        }

        utcTicks = t;
        return q;
    }

    private static bool TryParseDate(byte* s, out long dayTicks)
    {
        dayTicks = 0;
        for (int i = 0; i < 10; i++)
        {
            if (i is 4 or 7 ? s[i] != '-' : (uint)(s[i] - '0') > 9)
            {
                return false;
            }
        }

        int year = ((s[0] - '0') * 1000) + ((s[1] - '0') * 100) + ((s[2] - '0') * 10) + (s[3] - '0');
        int month = ((s[5] - '0') * 10) + (s[6] - '0');
        int dayOfMonth = ((s[8] - '0') * 10) + (s[9] - '0');
        if (year < 1 || month < 1 || month > 12 || dayOfMonth < 1 || dayOfMonth > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        dayTicks = new DateOnly(year, month, dayOfMonth).DayNumber * TimeSpan.TicksPerDay;
        return true;
    }

    /// <summary>
    /// The slow path for one field: finds its end, trims spaces and quotes, parses leniently (exponents, "12.0",
    /// surrounding quotes) and checks the delimiter. Returns where parsing continues: after the comma, or at the line
    /// end of the last field. On failure sets <paramref name="error"/> and returns the position to skip the line from.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* SlowField(byte* lineStart, byte* fieldStart, int field, TraceLayout layout,
        ref long arrival, ref int input, ref int output, ref int offset, out string? error, out int errorColumn)
    {
        byte* e = fieldStart;
        while (*e != ',' && *e != '\n')
        {
            e++;
        }

        byte* fieldEnd = (*e == '\n' && e > fieldStart && e[-1] == '\r') ? e - 1 : e;
        var raw = new ReadOnlySpan<byte>(fieldStart, (int)(fieldEnd - fieldStart));
        ReadOnlySpan<byte> text = raw.Trim(" \t"u8);
        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            text = text[1..^1].Trim(" \t"u8);
        }

        string column = layout.Columns[field];
        int fieldColumn = (int)(fieldStart - lineStart) + 1;
        FieldRole role = layout.Roles[field];
        int last = layout.Roles.Length - 1;
        error = null;
        errorColumn = fieldColumn;

        if (text.IsEmpty && role != FieldRole.Ignore)
        {
            error = $"{column}: empty value";
            return fieldStart;
        }

        switch (role)
        {
            case FieldRole.AzureTime:
                if (!TryParseTimeSlow(text, out arrival, out offset))
                {
                    error = $"{column}: \"{Show(raw)}\" is not a timestamp like 2023-11-16 18:17:03.9799600 or 2024-05-10 00:00:00.009930+00:00";
                }

                break;
            case FieldRole.Seconds:
                error = TryParseSecondsSlow(text, out arrival);
                if (error is not null)
                {
                    error = $"{column}: \"{Show(raw)}\" {error}";
                }

                arrival += s_unixEpochTicks;
                break;
            case FieldRole.Input:
            case FieldRole.Output:
                error = TryParseIntSlow(text, out int value);
                if (error is not null)
                {
                    error = $"{column}: \"{Show(raw)}\" {error}";
                }
                else if (role == FieldRole.Input)
                {
                    input = value;
                }
                else
                {
                    output = value;
                }

                break;
            default:
                break;
        }

        if (error is not null)
        {
            return fieldStart;
        }

        if (field < last)
        {
            if (*e == ',')
            {
                return e + 1;
            }

            errorColumn = (int)(fieldEnd - lineStart) + 1;
            error = $"{layout.Columns[field + 1]}: missing; the row ends after {field + 1} of {layout.Roles.Length} columns ({string.Join(',', layout.Columns)}); is the line truncated?";
            return fieldEnd;
        }

        if (*e == ',')
        {
            errorColumn = (int)(e - lineStart) + 1;
            error = $"the row has more than the header's {layout.Roles.Length} columns ({string.Join(',', layout.Columns)})";
            return e;
        }

        return fieldEnd;
    }

    private static string? TryParseIntSlow(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
        {
            if (l < 0)
            {
                return "is negative; token counts must be >= 0";
            }

            if (l > int.MaxValue)
            {
                return $"is out of range (more than {int.MaxValue})";
            }

            value = (int)l;
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
        {
            if (v < 0)
            {
                return "is negative; token counts must be >= 0";
            }

            if (v > int.MaxValue)
            {
                return $"is out of range (more than {int.MaxValue})";
            }

            if (v == Math.Floor(v))
            {
                value = (int)v;
                return null;
            }

            return "is not a whole number of tokens";
        }

        bool allDigits = text.Length > 0 && text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
        return allDigits ? $"is out of range (more than {int.MaxValue})" : "is not a non-negative integer";
    }

    private static string? TryParseSecondsSlow(ReadOnlySpan<byte> text, out long ticks)
    {
        ticks = 0;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            // pandas and numpy spell them nan and inf.
            ReadOnlySpan<byte> unsigned = text.TrimStart("+-"u8);
            bool nonFinite = Ascii.EqualsIgnoreCase(unsigned, "nan"u8) || Ascii.EqualsIgnoreCase(unsigned, "inf"u8) || Ascii.EqualsIgnoreCase(unsigned, "infinity"u8);
            return nonFinite ? "is not a finite number of seconds" : "is not a number of seconds";
        }

        if (!double.IsFinite(v))
        {
            return "is not a finite number of seconds";
        }

        if (v < 0)
        {
            return "is negative; arrivals must be >= 0 seconds from the trace start";
        }

        if (v > MaxSeconds)
        {
            return $"is out of range (more than {MaxSeconds} seconds)";
        }

        ticks = (long)Math.Round(v * TicksPerSecond, MidpointRounding.AwayFromZero);
        return null;
    }

    private static bool TryParseTimeSlow(ReadOnlySpan<byte> text, out long utcTicks, out int offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        if (text.Length < 19 || text.Length > 40)
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[text.Length + Slack];
        copy.Fill((byte)'\n');
        text.CopyTo(copy);
        fixed (byte* s = copy)
        {
            var cache = default(DateCache);
            byte* q = ParseTime(s, ref cache, out utcTicks, out offsetMinutes);
            return q == s + text.Length;
        }
    }

    private static string Show(ReadOnlySpan<byte> raw)
    {
        string s = Encoding.UTF8.GetString(raw.Length > 60 ? raw[..60] : raw);
        return raw.Length > 60 ? s + "..." : s;
    }

    private static void ParseJsonLines(byte[] buffer, int from, int to, bool skipInvalid, BlockResult result)
    {
        TraceChunk chunk = result.Chunk;
        int count = 0;
        int line = 0;
        int outOfOrder = 0;
        int ids = 0;
        bool chains = false;
        chunk.HashOffsets[0] = 0;
        long previous = long.MinValue;
        ReadOnlySpan<byte> data = buffer.AsSpan(from, to - from);
        while (!data.IsEmpty)
        {
            int nl = data.IndexOf((byte)'\n');
            ReadOnlySpan<byte> text = nl < 0 ? data : data[..nl];
            data = nl < 0 ? [] : data[(nl + 1)..];
            int localLine = line++;
            if (text.EndsWith("\r"u8))
            {
                text = text[..^1];
            }

            if (text.Trim(" \t"u8).IsEmpty)
            {
                continue;
            }

            int idsBefore = ids;
            string? error = null;
            int column = 1;
            if (!TryParseJsonLineFast(text, chunk, ref ids, ref chains, out long arrival, out int input, out int output))
            {
                ids = idsBefore; // read again by the JSON reader, which says what is wrong
                error = ParseJsonLine(text, chunk, ref ids, ref chains, out arrival, out input, out output, out column);
            }

            if (error is not null)
            {
                result.Skipped++;
                if (result.Errors.Count < TraceReadReport.MaxErrors)
                {
                    result.Errors.Add(new BlockError(localLine, column, error));
                }

                if (!skipInvalid)
                {
                    result.Fatal = true;
                    break;
                }

                ids = idsBefore;
                continue;
            }

            if (count == chunk.Capacity)
            {
                chunk.Count = count;
                chunk.Grow(count * 2);
            }

            if (arrival < previous)
            {
                outOfOrder++;
            }

            previous = arrival;
            chunk.ArrivalTicks[count] = arrival;
            chunk.InputTokens[count] = input;
            chunk.OutputTokens[count] = output;
            count++;
            chunk.HashOffsets[count] = ids;
        }

        chunk.Count = count;
        chunk.HasHashChains = chains;
        result.Lines = line - (data.IsEmpty && to > from && buffer[to - 1] != '\n' ? 1 : 0);
        result.OutOfOrder = outOfOrder;
    }

    /// <summary>
    /// The common Mooncake line in one pass: an object of the four known keys (any order, each at most once) with plain
    /// non-negative integers, <c>hash_ids</c> an array of them, no escapes. False on anything else — another key, a
    /// fraction or exponent, a sign, a leading zero, a value out of range, malformed JSON — and then
    /// <see cref="ParseJsonLine"/> reads the line again and says what is wrong; what this accepts it reads as that does.
    /// </summary>
    private static bool TryParseJsonLineFast(ReadOnlySpan<byte> text, TraceChunk chunk, ref int ids, ref bool chains,
        out long arrival, out int input, out int output)
    {
        arrival = 0;
        input = 0;
        output = 0;
        int seen = 0, i = SkipSpace(text, 0);
        bool hasChain = false;
        if (i >= text.Length || text[i] != '{')
        {
            return false;
        }

        i = SkipSpace(text, i + 1);
        while (true)
        {
            if (i >= text.Length || text[i] != '"')
            {
                return false;
            }

            ReadOnlySpan<byte> rest = text[(i + 1)..];
            int which, length;
            if (rest.StartsWith("timestamp\""u8))
            {
                (which, length) = (0, 10);
            }
            else if (rest.StartsWith("input_length\""u8))
            {
                (which, length) = (1, 13);
            }
            else if (rest.StartsWith("output_length\""u8))
            {
                (which, length) = (2, 14);
            }
            else if (rest.StartsWith("hash_ids\""u8))
            {
                (which, length) = (3, 9);
            }
            else
            {
                return false;
            }

            if ((seen & (1 << which)) != 0)
            {
                return false;
            }

            seen |= 1 << which;
            i = SkipSpace(text, i + 1 + length);
            if (i >= text.Length || text[i] != ':')
            {
                return false;
            }

            i = SkipSpace(text, i + 1);
            if (which == 3)
            {
                if (i >= text.Length || text[i] != '[')
                {
                    return false;
                }

                i = SkipSpace(text, i + 1);
                if (i < text.Length && text[i] == ']')
                {
                    i++;
                }
                else
                {
                    while (true)
                    {
                        if (!TryReadWhole(text, ref i, long.MaxValue, out long id))
                        {
                            return false;
                        }

                        if (ids == chunk.HashIds.Length)
                        {
                            chunk.GrowHashIds(ids + 1, ids);
                        }

                        chunk.HashIds[ids++] = id;
                        i = SkipSpace(text, i);
                        if (i < text.Length && text[i] == ',')
                        {
                            i = SkipSpace(text, i + 1);
                            continue;
                        }

                        if (i < text.Length && text[i] == ']')
                        {
                            i++;
                            break;
                        }

                        return false;
                    }
                }

                hasChain = true;
            }
            else
            {
                if (!TryReadWhole(text, ref i, which == 0 ? MaxSeconds : int.MaxValue, out long v))
                {
                    return false;
                }

                switch (which)
                {
                    case 0:
                        arrival = s_unixEpochTicks + (v * TimeSpan.TicksPerMillisecond);
                        break;
                    case 1:
                        input = (int)v;
                        break;
                    default:
                        output = (int)v;
                        break;
                }
            }

            i = SkipSpace(text, i);
            if (i < text.Length && text[i] == ',')
            {
                i = SkipSpace(text, i + 1);
                continue;
            }

            if (i < text.Length && text[i] == '}')
            {
                break;
            }

            return false;
        }

        if (SkipSpace(text, i + 1) != text.Length || (seen & 7) != 7)
        {
            return false;
        }

        chains |= hasChain;
        return true;
    }

    /// <summary>JSON whitespace from <paramref name="i"/> on.</summary>
    private static int SkipSpace(ReadOnlySpan<byte> text, int i)
    {
        while (i < text.Length && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        {
            i++;
        }

        return i;
    }

    /// <summary>A plain JSON integer (digits, no leading zero, no sign, fraction or exponent) at most
    /// <paramref name="max"/>, followed by a delimiter.</summary>
    private static bool TryReadWhole(ReadOnlySpan<byte> text, ref int i, long max, out long value)
    {
        value = 0;
        int start = i;
        while (i < text.Length && (uint)(text[i] - '0') <= 9)
        {
            if (i - start == 18)
            {
                return false; // 19 digits or more: the slow path decides
            }

            value = (value * 10) + (text[i] - '0');
            i++;
        }

        int digits = i - start;
        if (digits == 0 || (digits > 1 && text[start] == '0') || value > max)
        {
            return false;
        }

        // A number ends at whitespace or a structural character; anything else (".", "e", letters) is not plain.
        return i == text.Length || text[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)',' or (byte)']' or (byte)'}';
    }

    /// <summary>
    /// Parses one Mooncake line. Block ids of <c>hash_ids</c> are appended to <paramref name="chunk"/>'s
    /// <see cref="TraceChunk.HashIds"/> at <paramref name="ids"/> (the caller rolls back on error); a line without
    /// <c>hash_ids</c> has an empty chain. <paramref name="chains"/> turns true at the first line that has the key.
    /// </summary>
    private static string? ParseJsonLine(ReadOnlySpan<byte> text, TraceChunk chunk, ref int ids, ref bool chains,
        out long arrival, out int input, out int output, out int column)
    {
        arrival = 0;
        input = 0;
        output = 0;
        column = 1;
        bool hasTime = false, hasInput = false, hasOutput = false, complete = false;
        var reader = new Utf8JsonReader(text, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "not a JSON object; expected {\"timestamp\": ms, \"input_length\": n, \"output_length\": m}";
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int which = reader.ValueTextEquals("timestamp"u8) ? 0 : reader.ValueTextEquals("input_length"u8) ? 1 : reader.ValueTextEquals("output_length"u8) ? 2
                    : reader.ValueTextEquals("hash_ids"u8) ? 3 : -1;
                string name = which switch { 0 => "timestamp", 1 => "input_length", 2 => "output_length", _ => "" };
                reader.Read();
                column = (int)reader.TokenStartIndex + 1;
                if (which < 0)
                {
                    reader.Skip();
                    continue;
                }

                if (which == 3)
                {
                    string? chainError = ReadHashIds(ref reader, chunk, ref ids, ref column);
                    if (chainError is not null)
                    {
                        return chainError;
                    }

                    chains = true;
                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number)
                {
                    string shown = reader.TokenType == JsonTokenType.String ? $"\"{Show(reader.ValueSpan)}\"" : reader.TokenType.ToString();
                    return $"{name}: {shown} is not a number";
                }

                string raw = Encoding.UTF8.GetString(reader.ValueSpan);
                if (which == 0)
                {
                    string? e = TryParseSecondsSlow(reader.ValueSpan, out long ms);
                    if (e is not null)
                    {
                        return $"timestamp: {raw} {e.Replace("seconds", "milliseconds", StringComparison.Ordinal)}";
                    }

                    // ms was parsed as "seconds" into ticks of 1e-7 units: convert to milliseconds' ticks exactly.
                    arrival = s_unixEpochTicks + (reader.TryGetInt64(out long whole) ? whole * TimeSpan.TicksPerMillisecond : (long)Math.Round(ms / 1e7 * TimeSpan.TicksPerMillisecond));
                    hasTime = true;
                }
                else
                {
                    string? e = TryParseIntSlow(reader.ValueSpan, out int v);
                    if (e is not null)
                    {
                        return $"{name}: {raw} {e}";
                    }

                    if (which == 1)
                    {
                        input = v;
                        hasInput = true;
                    }
                    else
                    {
                        output = v;
                        hasOutput = true;
                    }
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return "not a complete JSON object";
            }

            column = (int)reader.TokenStartIndex + 2;
            complete = true;
            if (reader.Read())
            {
                return "more than one JSON value on the line";
            }
        }
        catch (JsonException) when (complete)
        {
            return "more than one JSON value on the line";
        }
        catch (JsonException ex)
        {
            column = (int)(ex.BytePositionInLine ?? 0) + 1;
            return $"not valid JSON ({ex.Message.Split(" LineNumber", 2)[0].TrimEnd('.')})";
        }

        column = 1;
        string missing = !hasTime ? "timestamp" : !hasInput ? "input_length" : !hasOutput ? "output_length" : "";
        return missing.Length > 0 ? $"{missing}: missing; expected {{\"timestamp\": ms, \"input_length\": n, \"output_length\": m}}" : null;
    }

    /// <summary>Reads the <c>hash_ids</c> array (the reader is on its first token) into the chunk's ids.</summary>
    private static string? ReadHashIds(ref Utf8JsonReader reader, TraceChunk chunk, ref int ids, ref int column)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return $"hash_ids: {Shown(ref reader)} is not an array of block ids; expected \"hash_ids\": [0, 1, 2]";
        }

        int element = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            column = (int)reader.TokenStartIndex + 1;
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long id))
            {
                string why = reader.TokenType == JsonTokenType.Number ? "is not an integer block id (whole number within 64 bits)" : "is not a block id (an integer)";
                return $"hash_ids: element {element} {Shown(ref reader)} {why}";
            }

            if (ids == chunk.HashIds.Length)
            {
                chunk.GrowHashIds(ids + 1, ids);
            }

            chunk.HashIds[ids++] = id;
            element++;
        }

        return null;
    }

    private static string Shown(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"\"{Show(reader.ValueSpan)}\"",
        JsonTokenType.Number => Show(reader.ValueSpan),
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString(),
    };
}
