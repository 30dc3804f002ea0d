using System.Text;

namespace Splitwise.Traces.Internals;

/// <summary>What a data field holds.</summary>
internal enum FieldRole : byte
{
    Ignore,

    /// <summary>An Azure timestamp (<c>yyyy-MM-dd HH:mm:ss[.f{0,7}][±HH:MM]</c>).</summary>
    AzureTime,

    /// <summary>Arrival in (fractional) seconds from the trace start.</summary>
    Seconds,

    Input,
    Output,
}

/// <summary>The header of a trace file resolved once: format, what each column holds, where the data starts.</summary>
internal sealed class TraceLayout
{
    private static readonly (TraceFormat Format, string Time, string Input, string Output)[] s_csvFormats =
    [
        (TraceFormat.Azure2023, "TIMESTAMP", "ContextTokens", "GeneratedTokens"),
        (TraceFormat.SplitwiseSim, "arrival_timestamp", "prompt_size", "token_size"),
        (TraceFormat.Vidur, "arrived_at", "num_prefill_tokens", "num_decode_tokens"),
    ];

    /// <summary>What <see cref="TraceFormat.Auto"/> recognises, for error messages.</summary>
    public const string Expected =
        "expected a header of Azure 2023/2024 \"TIMESTAMP,ContextTokens,GeneratedTokens\", " +
        "SplitwiseSim \"request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\", " +
        "Vidur \"arrived_at,num_prefill_tokens,num_decode_tokens\", " +
        "or Mooncake JSON lines {\"timestamp\": ms, \"input_length\": n, \"output_length\": m}";

    public TraceFormat Format { get; set; }

    public bool IsJsonLines => Format == TraceFormat.Mooncake;

    /// <summary>Role per CSV column (empty for JSON lines).</summary>
    public FieldRole[] Roles { get; init; } = [];

    /// <summary>Column names as written in the header, for error messages.</summary>
    public string[] Columns { get; init; } = [];

    /// <summary>Byte offset (in the decompressed stream) of the first data line.</summary>
    public int DataOffset { get; init; }

    /// <summary>Lines before the data (header and any blank lines before it).</summary>
    public int HeaderLines { get; init; }

    /// <summary>True for formats whose arrivals are seconds from the trace start.</summary>
    public bool IsRelative => Format is TraceFormat.SplitwiseSim or TraceFormat.Vidur or TraceFormat.Mooncake;

    /// <summary>
    /// Resolves the layout from the first bytes of the (decompressed) file. <paramref name="head"/> holds the start of
    /// the file; <paramref name="complete"/> says it is the whole file.
    /// </summary>
    public static TraceLayout Resolve(ReadOnlySpan<byte> head, bool complete, TraceFormat requested, string file)
    {
        int pos = 0;
        if (head.StartsWith("\uFEFF"u8))
        {
            pos = 3;
        }

        // Skip blank lines before the header.
        int lines = 0;
        while (true)
        {
            int p = pos;
            while (p < head.Length && head[p] is (byte)' ' or (byte)'\t' or (byte)'\r')
            {
                p++;
            }

            if (p < head.Length && head[p] == '\n')
            {
                pos = p + 1;
                lines++;
                continue;
            }

            if (p == head.Length)
            {
                if (!complete)
                {
                    throw new TraceFormatException(file, lines + 1, 0, "the first line is blank and longer than 1 MiB; is this a trace file?");
                }

                if (requested == TraceFormat.Mooncake)
                {
                    return new TraceLayout { Format = TraceFormat.Mooncake, DataOffset = head.Length, HeaderLines = lines };
                }

                throw new TraceFormatException(file, 0, 0, $"the file is empty (no header); {Expected}");
            }

            if (head[p] == '{')
            {
                if (requested is not (TraceFormat.Auto or TraceFormat.Mooncake))
                {
                    throw new TraceFormatException(file, lines + 1, p - pos + 1,
                        $"found a JSON line where a {requested} CSV header was expected; pass --format mooncake or the right file");
                }

                return new TraceLayout { Format = TraceFormat.Mooncake, DataOffset = pos, HeaderLines = lines };
            }

            break;
        }

        int nl = head[pos..].IndexOf((byte)'\n');
        if (nl < 0 && !complete)
        {
            throw new TraceFormatException(file, lines + 1, 0, "the header line is longer than 1 MiB; is this a trace file?");
        }

        int headerEnd = nl < 0 ? head.Length : pos + nl;
        int dataOffset = nl < 0 ? head.Length : headerEnd + 1;
        ReadOnlySpan<byte> header = head[pos..headerEnd];
        if (header.EndsWith("\r"u8))
        {
            header = header[..^1];
        }

        string headerText = Encoding.UTF8.GetString(header);
        if (requested == TraceFormat.Mooncake)
        {
            throw new TraceFormatException(file, lines + 1, 1,
                $"expected Mooncake JSON lines starting with '{{' but found \"{Shorten(headerText)}\"; pass the right --format or file");
        }

        string[] columns = headerText.Split(',');
        string[] names = new string[columns.Length];
        for (int i = 0; i < columns.Length; i++)
        {
            names[i] = columns[i].Trim().Trim('"').Trim();
        }

        (TraceFormat Format, string Time, string Input, string Output) best = s_csvFormats[0];
        int bestMatches = -1;
        foreach (var f in s_csvFormats)
        {
            bool wanted = requested == TraceFormat.Auto || requested == f.Format ||
                (requested == TraceFormat.Azure2024 && f.Format == TraceFormat.Azure2023);
            if (!wanted)
            {
                continue;
            }

            int matches = (IndexOf(names, f.Time) >= 0 ? 1 : 0) + (IndexOf(names, f.Input) >= 0 ? 1 : 0) + (IndexOf(names, f.Output) >= 0 ? 1 : 0);
            if (matches > bestMatches)
            {
                best = f;
                bestMatches = matches;
            }
        }

        if (bestMatches <= 0 && requested == TraceFormat.Auto)
        {
            throw new TraceFormatException(file, lines + 1, 1, $"unknown header \"{Shorten(headerText)}\"; {Expected}; or pass --format");
        }

        if (bestMatches < 3)
        {
            var missing = new List<string>();
            foreach (string c in (string[])[best.Time, best.Input, best.Output])
            {
                if (IndexOf(names, c) < 0)
                {
                    missing.Add($"\"{c}\"");
                }
            }

            string formatName = requested == TraceFormat.Auto ? best.Format.ToString() : requested.ToString();
            throw new TraceFormatException(file, lines + 1, 1,
                $"missing column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} for the {formatName} format " +
                $"(header \"{Shorten(headerText)}\"; needs \"{best.Time},{best.Input},{best.Output}\")");
        }

        var roles = new FieldRole[names.Length];
        roles[IndexOf(names, best.Time)] = best.Format == TraceFormat.Azure2023 ? FieldRole.AzureTime : FieldRole.Seconds;
        roles[IndexOf(names, best.Input)] = FieldRole.Input;
        roles[IndexOf(names, best.Output)] = FieldRole.Output;
        TraceFormat format = requested == TraceFormat.Auto ? best.Format : requested;
        if (format is TraceFormat.Azure2023 or TraceFormat.Azure2024 && requested == TraceFormat.Auto)
        {
            format = LooksLike2024(head[dataOffset..], roles) ? TraceFormat.Azure2024 : TraceFormat.Azure2023;
        }

        return new TraceLayout { Format = format, Roles = roles, Columns = names, DataOffset = dataOffset, HeaderLines = lines + 1 };
    }

    /// <summary>True when any of the first data rows has a timestamp other than the 2023 form (seven fractional digits, no offset).</summary>
    private static bool LooksLike2024(ReadOnlySpan<byte> data, FieldRole[] roles)
    {
        int timeColumn = Array.IndexOf(roles, FieldRole.AzureTime);
        for (int row = 0; row < 100 && data.Length > 0; row++)
        {
            int nl = data.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? data : data[..nl];
            data = nl < 0 ? [] : data[(nl + 1)..];
            if (line.IsEmpty || nl < 0)
            {
                continue;
            }

            int column = 0;
            foreach (Range r in line.Split((byte)','))
            {
                if (column++ == timeColumn)
                {
                    // Only rows that look like timestamps count; a bad row is the parser's business.
                    ReadOnlySpan<byte> t = line[r].TrimEnd("\r"u8);
                    bool timestamp = t.Length >= 19 && t[4] == '-' && t[13] == ':';
                    bool form2023 = t.Length == 27 && t[19] == '.' && t[20..].IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
                    if (timestamp && !form2023)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static int IndexOf(string[] names, string name)
    {
        for (int i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Shorten(string s) => s.Length <= 120 ? s : s[..117] + "...";
}
