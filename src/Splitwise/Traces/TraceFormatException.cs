namespace Splitwise.Traces;

/// <summary>
/// A trace file that cannot be read as asked: a bad header or a bad row. The message is one line,
/// <c>file:line:column: what: why; what to do</c>, e.g.
/// <c>conv.csv:1234:37: GeneratedTokens: "12x" is not a non-negative integer; fix the row or pass --skip-invalid</c>.
/// </summary>
public sealed class TraceFormatException : SplitwiseException
{
    public TraceFormatException(string file, long line, int column, string reason)
        : base(Describe(file, line, column, reason), ExitCodes.Failure)
    {
        File = file;
        Line = line;
        Column = column;
        Reason = reason;
    }

    public TraceFormatException() : this("", 0, 0, "invalid trace") { }

    public TraceFormatException(string message) : this("", 0, 0, message) { }

    public TraceFormatException(string message, Exception inner) : base(message, inner) => Reason = message;

    /// <summary>The file as the user named it.</summary>
    public string File { get; } = "";

    /// <summary>1-based line number; 0 when the error is about the whole file.</summary>
    public long Line { get; }

    /// <summary>1-based column (character in the line); 0 when the error is about a whole line or file.</summary>
    public int Column { get; }

    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; } = "";

    /// <summary>Formats <c>file:line:column: reason</c>, leaving out a zero line or column.</summary>
    public static string Describe(string file, long line, int column, string reason)
    {
        var sb = new System.Text.StringBuilder(file);
        if (line > 0)
        {
            sb.Append(':').Append(line.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (column > 0)
            {
                sb.Append(':').Append(column.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (sb.Length > 0)
        {
            sb.Append(": ");
        }

        return sb.Append(reason).ToString();
    }
}
