namespace Splitwise;

/// <summary>
/// An error the user can act on: bad input, a bad flag, an impossible design. The message is one line saying what,
/// where (file:line:column when there is a file), why and what to do. The CLI prints it without a stack trace.
/// </summary>
public class SplitwiseException : Exception
{
    public SplitwiseException(string message, int exitCode = ExitCodes.Failure, Exception? inner = null)
        : base(message, inner) => ExitCode = exitCode;

    public SplitwiseException() : this("splitwise error") { }

    public SplitwiseException(string message) : this(message, ExitCodes.Failure) { }

    public SplitwiseException(string message, Exception inner) : this(message, ExitCodes.Failure, inner) { }

    /// <summary>Process exit code: <see cref="ExitCodes.Usage"/> for usage errors, <see cref="ExitCodes.Failure"/> otherwise.</summary>
    public int ExitCode { get; }

    /// <summary>A usage error (bad flag, bad combination of options): exit code 2.</summary>
    public static SplitwiseException Usage(string message) => new(message, ExitCodes.Usage);
}

/// <summary>Process exit codes used by the <c>splitwise</c> tool.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}
