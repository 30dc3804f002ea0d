using System.Threading.Channels;

namespace Splitwise.Serving;

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

    private volatile bool _done;

    public EmulatedRequest(int promptTokens, int outputTokens, long[]? prefixChain = null)
    {
        PromptTokens = Math.Max(1, promptTokens);
        OutputTokens = Math.Max(1, outputTokens);
        PrefixChain = prefixChain ?? [];
    }

    public int PromptTokens { get; }

    /// <summary>The prompt's prefix hash chain (one id per full 512-token block), for the vLLM engine's prefix cache.</summary>
    public long[] PrefixChain { get; }

    /// <summary>Prompt tokens the engine found in its prefix cache (vLLM's <c>num_cached_tokens</c>), set by the clock
    /// thread before it emits the first token; 0 until then and for engines without a prefix cache.</summary>
    public int CachedTokens { get; set; }

    /// <summary>Tokens to generate (the first comes from the prompt iteration).</summary>
    public int OutputTokens { get; }

    /// <summary>Running totals of generated tokens, one value per token, written when the engine's clock reaches the
    /// iteration that produced it; completes at the end.</summary>
    public ChannelReader<int> Tokens => _tokens.Reader;

    /// <summary>The client went away (set once, by the HTTP side, through <see cref="EmulatedCluster.Cancel"/>).</summary>
    public volatile bool Cancelled;

    /// <summary>True once the request left the engine (finished, dropped or rejected).</summary>
    public bool IsDone => _done;

    // Clock-thread state.

    /// <summary>When the server handed the request to the clock (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long SubmittedTicks;

    /// <summary>The engine's id and slot for it; slot −1 before admission and after it is done.</summary>
    public long Id = -1;
    public int Slot = -1;

    /// <summary>Clock thread: token number <paramref name="generated"/> is out.</summary>
    public void Emit(int generated) => _tokens.Writer.TryWrite(generated);

    /// <summary>Clock thread: no more tokens; <paramref name="error"/> when the request could not run.</summary>
    public void Complete(Exception? error = null)
    {
        _done = true;
        Slot = -1;
        _tokens.Writer.TryComplete(error);
    }
}
