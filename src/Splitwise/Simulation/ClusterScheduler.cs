namespace Splitwise.Simulation;

/// <summary>
/// The cluster-level scheduler: picks the instance that runs a request's prompt and the one that runs its tokens when
/// the request arrives, and keeps its own bookkeeping through the notifications. One virtual call per arrival and per
/// phase completion; the engine calls it in simulated-time order, single-threaded.
/// </summary>
public abstract class ClusterScheduler
{
    /// <summary>The simulator, set before the first arrival: schedulers may read instance state from it.</summary>
    protected Simulator? Simulator { get; private set; }

    internal void Attach(Simulator simulator) => Simulator = simulator;

    /// <summary>A short name for reports.</summary>
    public abstract string Name { get; }

    /// <summary>Chooses the prompt and token instances of an arriving request.</summary>
    public abstract void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance);

    /// <summary>The request's prompt finished on <paramref name="instance"/>.</summary>
    public virtual void OnPromptDone(int instance, int inputTokens)
    {
    }

    /// <summary>The request finished (its last token was generated on <paramref name="tokenInstance"/>).</summary>
    public virtual void OnRequestDone(int promptInstance, int tokenInstance)
    {
    }

    /// <summary>The request finished; with its sizes, for schedulers that track memory (Splitwise). Calls the
    /// two-argument overload by default.</summary>
    public virtual void OnRequestDone(int promptInstance, int tokenInstance, int inputTokens, int outputTokens) =>
        OnRequestDone(promptInstance, tokenInstance);

    /// <summary>SplitwiseSim rules only: the KV cache of a request left <paramref name="promptInstance"/> (its transfer
    /// completed), freeing the prompt side's memory there.</summary>
    public virtual void OnTransferDone(int promptInstance, int inputTokens)
    {
    }

    /// <summary>SplitwiseSim rules only: <paramref name="instance"/> selected an empty batch and has no requests left
    /// (SplitwiseSim's <c>notify_free_instance</c>).</summary>
    public virtual void OnInstanceIdle(int instance)
    {
    }

    /// <summary>Creates a colocated scheduler by name: <c>round-robin</c>, <c>jsq</c> or <c>token-jsq</c>.</summary>
    public static ClusterScheduler Create(string name, int instances) => name.ToLowerInvariant() switch
    {
        "round-robin" or "rr" => new RoundRobinScheduler(instances),
        "jsq" => new JsqScheduler(instances),
        "token-jsq" or "tokenjsq" => new TokenJsqScheduler(instances),
        _ => throw SplitwiseException.Usage($"unknown scheduler '{name}'; use round-robin, jsq or token-jsq"),
    };
}

/// <summary>Instances in turn.</summary>
public sealed class RoundRobinScheduler(int instances) : ClusterScheduler
{
    private int _next;

    public override string Name => "round-robin";

    public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
    {
        promptInstance = tokenInstance = _next;
        _next = _next + 1 == instances ? 0 : _next + 1;
    }
}

/// <summary>Join the shortest queue: the instance with the fewest unfinished requests (first on ties).</summary>
public sealed class JsqScheduler(int instances) : ClusterScheduler
{
    private readonly int[] _active = new int[instances];

    public override string Name => "jsq";

    public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
    {
        int best = 0;
        int[] active = _active;
        for (int i = 1; i < active.Length; i++)
        {
            if (active[i] < active[best])
            {
                best = i;
            }
        }

        active[best]++;
        promptInstance = tokenInstance = best;
    }

    public override void OnRequestDone(int promptInstance, int tokenInstance) => _active[promptInstance]--;
}

/// <summary>
/// SplitwiseSim's token-JSQ: the instance with the fewest scheduler-tracked pending tokens (first on ties). Assigning
/// adds prompt + 1, the prompt's completion removes the prompt size, the request's completion removes the last 1.
/// </summary>
public sealed class TokenJsqScheduler(int instances) : ClusterScheduler
{
    private readonly long[] _pending = new long[instances];

    public override string Name => "token-jsq";

    /// <summary>Pending tokens per instance as the scheduler sees them.</summary>
    public ReadOnlySpan<long> PendingTokens => _pending;

    public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
    {
        int best = 0;
        long[] pending = _pending;
        long min = pending[0];
        for (int i = 1; i < pending.Length; i++)
        {
            if (pending[i] < min)
            {
                min = pending[i];
                best = i;
            }
        }

        pending[best] += inputTokens + 1;
        promptInstance = tokenInstance = best;
    }

    public override void OnPromptDone(int instance, int inputTokens) => _pending[instance] -= inputTokens;

    public override void OnRequestDone(int promptInstance, int tokenInstance) => _pending[tokenInstance] -= 1;
}
