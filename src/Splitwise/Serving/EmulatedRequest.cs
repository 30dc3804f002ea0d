using System.Threading.Channels;

namespace Splitwise.Serving;

/// <summary>Where a request is in the emulated instance.</summary>
internal enum EmulatedPhase : byte
{
    QueuedPrompt,
    Prompting,
    WaitingToken,
    Decoding,
    Blocked,
    Done,
}

/// <summary>
/// One request inside the emulated cluster. The clock thread owns every field except <see cref="Cancelled"/> (set by
/// the HTTP side when the client goes away) and the reader of <see cref="Tokens"/>.
/// </summary>
internal sealed class EmulatedRequest
{
    private readonly Channel<int> _tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = true,
        AllowSynchronousContinuations = false,
    });

    public EmulatedRequest(int promptTokens, int outputTokens)
    {
        PromptTokens = Math.Max(1, promptTokens);
        OutputTokens = Math.Max(1, outputTokens);
    }

    public int PromptTokens { get; }

    /// <summary>Tokens to generate (the first comes from the prompt iteration).</summary>
    public int OutputTokens { get; }

    /// <summary>Running totals of generated tokens, one value per iteration that produced a token; completes at the end.</summary>
    public ChannelReader<int> Tokens => _tokens.Reader;

    public volatile bool Cancelled;

    // Clock-thread state.
    public int Instance = -1;

    /// <summary>When the server handed the request to the clock (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long SubmittedTicks;
    public EmulatedPhase Phase;
    public int Generated;
    public int Preemptions;
    public long KvBytes;

    /// <summary>Clock thread: one more token (or the first) is out.</summary>
    public void Emit() => _tokens.Writer.TryWrite(Generated);

    /// <summary>Clock thread: no more tokens; <paramref name="error"/> when the request could not run.</summary>
    public void Complete(Exception? error = null)
    {
        Phase = EmulatedPhase.Done;
        _tokens.Writer.TryComplete(error);
    }
}
