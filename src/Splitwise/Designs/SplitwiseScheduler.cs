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

    // SplitwiseSim rules: the pools are lists whose order decides min() ties (a returned machine is appended).
    private readonly bool _sim;
    private readonly List<int>[] _members = [[], [], []];

    /// <param name="instances">The cluster's instances.</param>
    /// <param name="options">Thresholds.</param>
    /// <param name="splitwiseSim">Follow SplitwiseSim's <c>MixedPoolScheduler</c> exactly (quirks included).</param>
    public SplitwiseScheduler(IReadOnlyList<InstanceSpec> instances, SplitwiseSchedulerOptions? options = null, bool splitwiseSim = false)
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
            _members[_pool[i]].Add(i);
        }

        _sim = splitwiseSim;
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
        if (_sim)
        {
            AssignSplitwiseSim(inputTokens, outputTokens, out promptInstance, out tokenInstance);
            return;
        }

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

        Book(p, t, inputTokens, outputTokens);
        promptInstance = p;
        tokenInstance = t;
    }

    /// <summary>The scheduler's view of an assigned request: its memory and pending tokens on both machines.</summary>
    private void Book(int p, int t, int inputTokens, int outputTokens)
    {
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
    }

    public override void OnPromptDone(int instance, int inputTokens)
    {
        _pendingTokens[instance] -= inputTokens;
        _queuedPrompts[instance]--;
        MaybeReturn(instance);
    }

    public override void OnTransferDone(int promptInstance, int inputTokens) =>
        _schedMemory[promptInstance] -= (long)(inputTokens + 1) * _kvPerToken[promptInstance]; // flow.complete → src.free_memory

    public override void OnInstanceIdle(int instance)
    {
        // MixedPoolScheduler.notify_free_instance: a borrowed machine goes back, appended to its pool's list.
        if (_sim && _pool[instance] == MixedPool && _home[instance] != MixedPool)
        {
            _members[MixedPool].Remove(instance);
            _pool[instance] = _home[instance];
            _members[_home[instance]].Add(instance);
            Returns++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, -1);
        }
    }

    public override void OnRequestDone(int promptInstance, int tokenInstance, int inputTokens, int outputTokens)
    {
        _pendingTokens[tokenInstance] -= 1;
        _decodePending[tokenInstance] -= outputTokens;
        if (promptInstance != tokenInstance && _sim)
        {
            _schedMemory[tokenInstance] -= (long)(inputTokens + outputTokens) * _kvPerToken[tokenInstance]; // the prompt side was freed at transfer
        }
        else if (promptInstance != tokenInstance)
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
        if (!_sim && _pool[i] == MixedPool && _home[i] != MixedPool && _pendingTokens[i] == 0)
        {
            _pool[i] = _home[i];
            Returns++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, -1);
        }
    }

    // ---- SplitwiseSim's MixedPoolScheduler.schedule (scheduler.py), quirks included: pools are lists searched with
    // min() (first minimum in list order), "prompt queue is long" needs a non-empty instance pending_queue (queued,
    // not running, tasks), a borrowed machine returns only when its instance goes idle (OnInstanceIdle), and the
    // prompt side's scheduler memory is freed when the KV transfer completes (OnTransferDone).

    private void AssignSplitwiseSim(int inputTokens, int outputTokens, out int promptInstance, out int tokenInstance)
    {
        List<int> prompts = _members[PromptPool], tokens = _members[TokenPool], mixed = _members[MixedPool];
        int p = SimBestPrompt(prompts, inputTokens);
        if (p < 0)
        {
            p = SimBestPrompt(mixed, inputTokens);
        }

        int t = SimBestToken(tokens, inputTokens, outputTokens);
        if (t < 0)
        {
            t = SimBestToken(mixed, inputTokens, outputTokens);
        }

        if (p < 0 && tokens.Count > 0)
        {
            p = MinBy(tokens, _pendingTokens); // take a token instance into the mixed pool
            tokens.Remove(p);
            mixed.Add(p);
            _pool[p] = MixedPool;
            Borrows++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, +1);
        }

        if (t < 0 && prompts.Count > 0)
        {
            t = MinBy(prompts, _schedMemory); // take a prompt instance into the mixed pool
            prompts.Remove(t);
            mixed.Add(t);
            _pool[t] = MixedPool;
            Borrows++;
            Simulator?.Timeline?.OnMixedPool(Simulator.Now, +1);
        }

        if (p < 0 || t < 0)
        {
            // Devolve to baseline mixed batching: min over prompt + mixed + token instances, in that order.
            Fallbacks++;
            int best = -1;
            foreach (List<int> list in (ReadOnlySpan<List<int>>)[prompts, mixed, tokens])
            {
                foreach (int i in list)
                {
                    if (best < 0 || _pendingTokens[i] < _pendingTokens[best])
                    {
                        best = i;
                    }
                }
            }

            p = t = best;
        }

        Book(p, t, inputTokens, outputTokens);
        promptInstance = p;
        tokenInstance = t;
    }

    /// <summary><c>find_best_prompt_instance</c>: the fewest pending tokens; -1 when the list is empty or
    /// <c>is_queue_long</c> (the instance has pending tasks and the prompt would pass the threshold).</summary>
    private int SimBestPrompt(List<int> list, int inputTokens)
    {
        if (list.Count == 0)
        {
            return -1;
        }

        int best = MinBy(list, _pendingTokens);
        bool queueLong = Simulator!.PendingTasks(best) > 0 && _pendingTokens[best] + inputTokens > _options.PromptMaxPendingTokens;
        return queueLong ? -1 : best;
    }

    /// <summary><c>find_best_token_instance</c>: the least scheduler memory; -1 when the list is empty or
    /// <c>is_memory_loaded</c>.</summary>
    private int SimBestToken(List<int> list, int inputTokens, int outputTokens)
    {
        if (list.Count == 0)
        {
            return -1;
        }

        int best = MinBy(list, _schedMemory);
        return _schedMemory[best] + ((long)(inputTokens + outputTokens) * _kvPerToken[best]) >= _capacity[best] ? -1 : best;
    }

    private static int MinBy(List<int> list, long[] key)
    {
        int best = list[0];
        for (int k = 1; k < list.Count; k++)
        {
            if (key[list[k]] < key[best])
            {
                best = list[k];
            }
        }

        return best;
    }
}
