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

    /// <summary>Chooses the instances of an arriving request that may carry a prefix hash chain (one id per 512-token
    /// block of its prompt); schedulers that ignore prefixes use the overload without it.</summary>
    public virtual void Assign(int inputTokens, int outputTokens, ReadOnlySpan<long> prefixChain, out int promptInstance, out int tokenInstance) =>
        Assign(inputTokens, outputTokens, out promptInstance, out tokenInstance);

    /// <summary>True when the scheduler reads which instance caches which prefix (the vLLM engine's prefix caches).</summary>
    internal virtual bool NeedsPrefixLocator => false;

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

    /// <summary>Creates a colocated scheduler by name: <c>round-robin</c>, <c>jsq</c>, <c>token-jsq</c> or
    /// <c>prefix</c> (optionally with its weights, <c>prefix:3:2:2</c>).</summary>
    public static ClusterScheduler Create(string name, int instances)
    {
        string lower = name.ToLowerInvariant();
        if (lower == "prefix" || lower.StartsWith("prefix:", StringComparison.Ordinal))
        {
            return PrefixAwareScheduler.Parse(name, instances);
        }

        return lower switch
        {
            "round-robin" or "rr" => new RoundRobinScheduler(instances),
            "jsq" => new JsqScheduler(instances),
            "token-jsq" or "tokenjsq" => new TokenJsqScheduler(instances),
            _ => throw SplitwiseException.Usage($"unknown scheduler '{name}'; use round-robin, jsq, token-jsq or prefix"),
        };
    }
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

/// <summary>
/// Prefix-cache-aware routing as llm-d's inference scheduler does it (Gateway API Inference Extension endpoint picker):
/// each instance gets a weighted sum of three scores in [0, 1] and the highest wins — the prefix-cache scorer (the
/// share of the request's prompt chain blocks the instance caches, from the engines' caches as llm-d's precise
/// scorer reads them from vLLM's KV events), the queue scorer ((max − waiting) / (max − min) over the candidates, 1
/// when all are equal) and the KV-cache-utilisation scorer (1 − the share of KV blocks in use). In a phase-split
/// cluster it works as llm-d's <c>pd-profile-handler</c>: the decode profile picks a decode instance among the token
/// (and mixed) instances; when the prompt tokens that instance does not cache are fewer than the threshold, it runs
/// the prefill too, else the prefill profile picks a prefill instance among the prompt (and mixed) ones.
/// </summary>
/// <remarks>
/// Differences from a real deployment: the scores read the engines' state at the arrival instant (the endpoint picker
/// scrapes metrics every few tens of milliseconds); a chain block counts as cached on an instance while any of its
/// 16-token blocks is; ties (the picker breaks them at random) go to the instance with the fewest requests assigned
/// and not finished, then the lowest index, so runs are deterministic; both profiles use the same weights. vLLM
/// engine only.
/// </remarks>
public sealed class PrefixAwareScheduler : ClusterScheduler
{
    private readonly int[] _active;
    private readonly int[] _matched;
    private readonly bool[]? _prefill; // phase-split: the instances each profile may pick
    private readonly bool[]? _decode;
    private ulong[] _keys = new ulong[64];

    /// <param name="instances">Instances of the cluster.</param>
    /// <param name="prefixWeight">Weight of the prefix-cache score.</param>
    /// <param name="queueWeight">Weight of the queue score.</param>
    /// <param name="kvWeight">Weight of the KV-cache-utilisation score.</param>
    /// <param name="roles">Phase-split clusters: each instance's roles (null or all mixed: colocated routing).</param>
    /// <param name="threshold">Phase-split clusters: prompts with fewer tokens than this not cached on the chosen decode
    /// instance run there entirely (llm-d's P/D threshold; 0: always split).</param>
    public PrefixAwareScheduler(int instances, double prefixWeight = 3, double queueWeight = 2, double kvWeight = 2, IReadOnlyList<InstanceRoles>? roles = null, int threshold = 0)
    {
        if (!(prefixWeight >= 0 && queueWeight >= 0 && kvWeight >= 0) || prefixWeight + queueWeight + kvWeight <= 0)
        {
            throw SplitwiseException.Usage("prefix scheduler weights must be non-negative numbers, not all 0, e.g. prefix:3:2:2");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        _active = new int[instances];
        _matched = new int[instances];
        PrefixWeight = prefixWeight;
        QueueWeight = queueWeight;
        KvWeight = kvWeight;
        Threshold = threshold;
        if (roles is not null && roles.Any(r => r != InstanceRoles.Mixed))
        {
            _prefill = [.. roles.Select(r => (r & InstanceRoles.Prompt) != 0)];
            _decode = [.. roles.Select(r => (r & InstanceRoles.Token) != 0)];
        }
    }

    public double PrefixWeight { get; }

    public double QueueWeight { get; }

    public double KvWeight { get; }

    /// <summary>Phase-split clusters: llm-d's P/D threshold in uncached prompt tokens.</summary>
    public int Threshold { get; }

    public override string Name => Threshold == 0
        ? FormattableString.Invariant($"prefix:{PrefixWeight:G}:{QueueWeight:G}:{KvWeight:G}")
        : FormattableString.Invariant($"prefix:{PrefixWeight:G}:{QueueWeight:G}:{KvWeight:G}:{Threshold}");

    internal override bool NeedsPrefixLocator => true;

    /// <summary><c>prefix</c>, <c>prefix:P:Q:K</c> (the prefix, queue and KV-utilisation weights) or, for a phase-split
    /// cluster (<paramref name="roles"/>), <c>prefix:P:Q:K:T</c> with the P/D threshold.</summary>
    public static PrefixAwareScheduler Parse(string text, int instances, IReadOnlyList<InstanceRoles>? roles = null)
    {
        string[] parts = text.Split(':');
        if (parts.Length == 1)
        {
            return new PrefixAwareScheduler(instances, roles: roles);
        }

        double[] w = new double[4];
        bool numbers = parts.Skip(1).Select((p, i) => double.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out w[i])).All(ok => ok);
        if (!numbers || parts.Length < 4 || parts.Length > 5 || (parts.Length == 5 && (w[3] < 0 || w[3] != Math.Floor(w[3]) || w[3] > int.MaxValue)))
        {
            throw SplitwiseException.Usage($"bad scheduler '{text}': use prefix or prefix:P:Q:K with the prefix-cache, queue and KV-utilisation weights, e.g. prefix:3:2:2 (a phase-split design may add the P/D threshold in uncached prompt tokens: prefix:3:2:2:256)");
        }

        return new PrefixAwareScheduler(instances, w[0], w[1], w[2], roles, (int)w[3]);
    }

    public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance) =>
        Assign(inputTokens, outputTokens, default, out promptInstance, out tokenInstance);

    public override void Assign(int inputTokens, int outputTokens, ReadOnlySpan<long> prefixChain, out int promptInstance, out int tokenInstance)
    {
        Simulator sim = Simulator ?? throw new InvalidOperationException("the scheduler is not attached to a simulator");
        int[] matched = _matched;
        if (prefixChain.Length > 0 && sim.Locator is { } locator)
        {
            if (_keys.Length < prefixChain.Length)
            {
                _keys = new ulong[Math.Max(prefixChain.Length, _keys.Length * 2)];
            }

            Span<ulong> keys = _keys.AsSpan(0, prefixChain.Length);
            Paging.BlockTables.ChainKeys(prefixChain, keys);
            locator.Match(keys, matched);
        }
        else
        {
            matched.AsSpan().Clear();
        }

        if (_decode is null)
        {
            int best = Best(sim, prefixChain.Length, null);
            _active[best]++;
            promptInstance = tokenInstance = best;
            return;
        }

        int decode = Best(sim, prefixChain.Length, _decode);
        long uncached = inputTokens - Math.Min(inputTokens, (long)matched[decode] * Paging.BlockTables.ChainBlockTokens);
        int prefill = uncached < Threshold ? decode : Best(sim, prefixChain.Length, _prefill);
        _active[decode]++;
        if (prefill != decode)
        {
            _active[prefill]++;
        }

        promptInstance = prefill;
        tokenInstance = decode;
    }

    /// <summary>The candidate with the highest score (ties: fewest requests assigned, then the lowest index).</summary>
    private int Best(Simulator sim, int chainLength, bool[]? candidates)
    {
        int n = _active.Length;
        int minQueue = int.MaxValue, maxQueue = int.MinValue;
        for (int i = 0; i < n; i++)
        {
            if (candidates is null || candidates[i])
            {
                int q = sim.WaitingRequests(i);
                minQueue = Math.Min(minQueue, q);
                maxQueue = Math.Max(maxQueue, q);
            }
        }

        int best = -1;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            if (candidates is not null && !candidates[i])
            {
                continue;
            }

            double prefix = chainLength == 0 ? 0 : (double)_matched[i] / chainLength;
            double queue = maxQueue == minQueue ? 1 : (double)(maxQueue - sim.WaitingRequests(i)) / (maxQueue - minQueue);
            double kv = 1 - sim.KvUsage(i);
            double score = (PrefixWeight * prefix) + (QueueWeight * queue) + (KvWeight * kv);
            if (score > bestScore || (score == bestScore && _active[i] < _active[best]))
            {
                best = i;
                bestScore = score;
            }
        }

        return best;
    }

    public override void OnRequestDone(int promptInstance, int tokenInstance)
    {
        _active[tokenInstance]--;
        if (promptInstance != tokenInstance)
        {
            _active[promptInstance]--;
        }
    }
}
