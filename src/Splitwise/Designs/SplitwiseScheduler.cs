using Splitwise.Simulation;

namespace Splitwise.Designs;

/// <summary>How a Splitwise cluster-level scheduler picks token machines.</summary>
public enum TokenMachinePolicy
{
    /// <summary>The token machine with the least scheduled KV memory (SplitwiseSim's <c>MixedPoolScheduler</c>).</summary>
    LeastMemory,

    /// <summary>The token machine with the fewest pending decode tokens (output tokens still to generate).</summary>
    PendingTokens,
}

/// <summary>Thresholds of the Splitwise cluster-level scheduler; the defaults are SplitwiseSim's.</summary>
/// <param name="PromptMaxPendingTokens">A prompt machine is overloaded when it has queued prompts and its pending prompt
/// tokens plus the new prompt exceed this (SplitwiseSim: 8192).</param>
/// <param name="TokenPolicy">How token machines are ranked.</param>
public sealed record SplitwiseSchedulerOptions(long PromptMaxPendingTokens = 8192, TokenMachinePolicy TokenPolicy = TokenMachinePolicy.LeastMemory)
{
    public static SplitwiseSchedulerOptions Default { get; } = new();
}

/// <summary>
/// The Splitwise cluster-level scheduler (MISSION.md §3): prompt, token and mixed pools. Each arriving request gets its
/// prompt machine and its token machine at arrival — the prompt machine by join-the-shortest-queue on pending tokens,
/// the token machine by scheduled KV memory (or pending tokens). When the prompt pool is overloaded (every candidate has
/// a queue and would exceed <see cref="SplitwiseSchedulerOptions.PromptMaxPendingTokens"/>) the least-loaded token
/// machine is borrowed into the mixed pool; when the token pool's memory would overflow, the prompt machine with the
/// least scheduled memory is borrowed. A borrowed machine returns to its pool when its queue drains (no pending tokens).
/// If neither pool nor the mixed pool can take the request, it runs both phases on the least-loaded machine.
/// </summary>
/// <remarks>Follows SplitwiseSim's <c>MixedPoolScheduler.schedule</c>. Deterministic: ties go to the lowest index.
/// O(instances) per arrival. Instances whose spec says <see cref="InstanceRoles.Mixed"/> start in the mixed pool.</remarks>
public sealed class SplitwiseScheduler : ClusterScheduler
{
    private const byte PromptPool = 0, TokenPool = 1, MixedPool = 2;

    private readonly SplitwiseSchedulerOptions _options;
    private readonly byte[] _home;
    private readonly byte[] _pool;
    private readonly long[] _pendingTokens;
    private readonly long[] _decodePending;
    private readonly int[] _queuedPrompts;
    private readonly long[] _schedMemory;
    private readonly long[] _capacity;
    private readonly long[] _kvPerToken;

    public SplitwiseScheduler(IReadOnlyList<InstanceSpec> instances, SplitwiseSchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        _options = options ?? SplitwiseSchedulerOptions.Default;
        int n = instances.Count;
        _home = new byte[n];
        _pool = new byte[n];
        _pendingTokens = new long[n];
        _decodePending = new long[n];
        _queuedPrompts = new int[n];
        _schedMemory = new long[n];
        _capacity = new long[n];
        _kvPerToken = new long[n];
        for (int i = 0; i < n; i++)
        {
            _home[i] = _pool[i] = instances[i].Roles switch
            {
                InstanceRoles.Prompt => PromptPool,
                InstanceRoles.Token => TokenPool,
                _ => MixedPool,
            };
            _capacity[i] = instances[i].KvCapacityBytes;
            _kvPerToken[i] = instances[i].KvBytesPerToken;
        }
    }

    public override string Name => "splitwise";

    /// <summary>Times a machine was borrowed into the mixed pool.</summary>
    public long Borrows { get; private set; }

    /// <summary>Times a borrowed machine went back to its pool.</summary>
    public long Returns { get; private set; }

    /// <summary>Requests that ran both phases on one machine because no pool could take them.</summary>
    public long Fallbacks { get; private set; }

    /// <summary>Machines currently in the mixed pool (borrowed or mixed by design).</summary>
    public int MixedCount
    {
        get
        {
            int c = 0;
            foreach (byte p in _pool)
            {
                c += p == MixedPool ? 1 : 0;
            }

            return c;
        }
    }

    /// <summary>True when instance <paramref name="i"/> is in the mixed pool now.</summary>
    public bool IsMixed(int i) => _pool[i] == MixedPool;

    /// <summary>Pending (scheduler-tracked) tokens of an instance: queued prompt tokens plus one per decoding request.</summary>
    public long PendingTokens(int i) => _pendingTokens[i];

    public override void Assign(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
    {
        int p = BestPrompt(PromptPool, inputTokens);
        if (p < 0)
        {
            p = BestPrompt(MixedPool, inputTokens);
        }

        int t = BestToken(TokenPool, inputTokens, outputTokens);
        if (t < 0)
        {
            t = BestToken(MixedPool, inputTokens, outputTokens);
        }

        if (p < 0)
        {
            p = Borrow(TokenPool, byMemory: false); // prompt pool overloaded: a token machine helps with prompts
        }

        if (t < 0)
        {
            t = Borrow(PromptPool, byMemory: true); // token memory would overflow: a prompt machine helps with tokens
        }

        if (p < 0 || t < 0)
        {
            // Nothing fits: both phases on the least-loaded machine (baseline behaviour).
            Fallbacks++;
            p = 0;
            for (int i = 1; i < _pendingTokens.Length; i++)
            {
                if (_pendingTokens[i] < _pendingTokens[p])
                {
                    p = i;
                }
            }

            t = p;
        }

        if (p != t)
        {
            _schedMemory[p] += (long)(inputTokens + 1) * _kvPerToken[p];
            _schedMemory[t] += (long)(inputTokens + outputTokens) * _kvPerToken[t];
        }
        else
        {
            _schedMemory[p] += (long)(inputTokens + outputTokens) * _kvPerToken[p];
        }

        _pendingTokens[p] += inputTokens;
        _pendingTokens[t] += 1;
        _decodePending[t] += outputTokens;
        _queuedPrompts[p]++;
        promptInstance = p;
        tokenInstance = t;
    }

    public override void OnPromptDone(int instance, int inputTokens)
    {
        _pendingTokens[instance] -= inputTokens;
        _queuedPrompts[instance]--;
        MaybeReturn(instance);
    }

    public override void OnRequestDone(int promptInstance, int tokenInstance, int inputTokens, int outputTokens)
    {
        _pendingTokens[tokenInstance] -= 1;
        _decodePending[tokenInstance] -= outputTokens;
        if (promptInstance != tokenInstance)
        {
            _schedMemory[promptInstance] -= (long)(inputTokens + 1) * _kvPerToken[promptInstance];
            _schedMemory[tokenInstance] -= (long)(inputTokens + outputTokens) * _kvPerToken[tokenInstance];
        }
        else
        {
            _schedMemory[promptInstance] -= (long)(inputTokens + outputTokens) * _kvPerToken[promptInstance];
        }

        MaybeReturn(promptInstance);
        MaybeReturn(tokenInstance);
    }

    /// <summary>JSQ on pending tokens within a pool; -1 when the pool is empty or its best machine is overloaded.</summary>
    private int BestPrompt(byte pool, int inputTokens)
    {
        int best = -1;
        for (int i = 0; i < _pool.Length; i++)
        {
            if (_pool[i] == pool && (best < 0 || _pendingTokens[i] < _pendingTokens[best]))
            {
                best = i;
            }
        }

        if (best >= 0 && _queuedPrompts[best] > 0 && _pendingTokens[best] + inputTokens > _options.PromptMaxPendingTokens)
        {
            return -1;
        }

        return best;
    }

    /// <summary>The token machine of a pool (least memory, or fewest pending decode tokens); -1 when the pool is empty
    /// or the request's KV would overflow the chosen machine.</summary>
    private int BestToken(byte pool, int inputTokens, int outputTokens)
    {
        bool byMemory = _options.TokenPolicy == TokenMachinePolicy.LeastMemory;
        int best = -1;
        for (int i = 0; i < _pool.Length; i++)
        {
            if (_pool[i] != pool)
            {
                continue;
            }

            if (best < 0 || (byMemory ? _schedMemory[i] < _schedMemory[best] : _decodePending[i] < _decodePending[best]))
            {
                best = i;
            }
        }

        if (best >= 0 && _schedMemory[best] + ((long)(inputTokens + outputTokens) * _kvPerToken[best]) >= _capacity[best])
        {
            return -1;
        }

        return best;
    }

    /// <summary>Moves the least-loaded machine of <paramref name="from"/> into the mixed pool; -1 if the pool is empty.</summary>
    private int Borrow(byte from, bool byMemory)
    {
        int best = -1;
        for (int i = 0; i < _pool.Length; i++)
        {
            if (_pool[i] == from && (best < 0 || (byMemory ? _schedMemory[i] < _schedMemory[best] : _pendingTokens[i] < _pendingTokens[best])))
            {
                best = i;
            }
        }

        if (best >= 0)
        {
            _pool[best] = MixedPool;
            Borrows++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, +1);
        }

        return best;
    }

    /// <summary>A borrowed machine whose queue drained goes back to its own pool.</summary>
    private void MaybeReturn(int i)
    {
        if (_pool[i] == MixedPool && _home[i] != MixedPool && _pendingTokens[i] == 0)
        {
            _pool[i] = _home[i];
            Returns++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, -1);
        }
    }
}
