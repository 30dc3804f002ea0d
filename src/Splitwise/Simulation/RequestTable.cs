namespace Splitwise.Simulation;

/// <summary>Where a request is in its life.</summary>
internal enum RequestPhase : byte
{
    Free = 0,
    QueuedPrompt,
    Prompting,
    WaitingToken,
    Decoding,
    Blocked,
}

/// <summary>
/// Per-request state of the requests in flight, struct of arrays indexed by a slot. Slots are recycled when a request
/// finishes, so memory grows with the requests in flight, not with the trace.
/// </summary>
internal sealed class RequestTable
{
    private int[] _free = new int[64];
    private int _freeCount;

    public long[] Id = new long[64];
    public long[] Arrival = new long[64];
    public int[] Input = new int[64];
    public int[] Output = new int[64];
    public int[] PromptInstance = new int[64];
    public int[] TokenInstance = new int[64];
    public RequestPhase[] Phase = new RequestPhase[64];
    public int[] Generated = new int[64];
    public long[] PromptStart = new long[64];
    public long[] FirstToken = new long[64];
    public long[] LastToken = new long[64];
    public long[] MaxGap = new long[64];
    public int[] Preemptions = new int[64];
    public long[] KvBytes = new long[64];

    // Splitwise (phase-split) designs: the KV-cache transfer from the prompt to the token instance.
    public long[] KvDest = new long[64];      // bytes reserved on the token instance for the transfer (0: none yet)
    public bool[] Cancelled = new bool[64]; // online use only: the client went away; dropped at the next safe point
    public byte[] Transfer = new byte[64];    // TransferNone / TransferInFlight / TransferDone
    public long[] KvArrived = new long[64];   // when the KV cache was complete on the token instance (-1: no transfer)
    public long[] SecondToken = new long[64]; // time of the second output token (-1: none yet)

    // SplitwiseSim rules: the prompt task's own preemption counter (Preemptions is the token task's) and the stamp of
    // the last batch selection that took the request (SplitwiseSim's batch_requests set). A waiting task's counter
    // holds its count when it last left a batch; it gains one per batch selection on its instance since PendingSince
    // (that instance's InstanceState.SimSelections then), added when read (Simulator.SimPreemptions).
    public int[] PromptPreemptions = new int[64];
    public int[] PendingSince = new int[64];
    public long[] TokenStart = new long[64]; // when its decode first ran (-1: not yet)
    public int[] BatchStamp = new int[64];

    // vLLM personality (Simulator.Vllm.cs): tokens whose KV is computed (vLLM's num_computed_tokens) and the prompt
    // tokens found in the prefix cache when the request was first scheduled (vLLM's num_cached_tokens; -1: not yet).
    public int[] Computed = new int[64];
    public int[] CachedTokens = new int[64];

    // vLLM phase-split (P/D) clusters: when the prefill instance finished the prompt (-1: not a P/D request). The first
    // token the client sees is the decode instance's, after the KV cache arrived.
    public long[] PromptEnd = new long[64];

    public const byte TransferNone = 0;
    public const byte TransferInFlight = 1;
    public const byte TransferDone = 2;

    /// <summary>vLLM P/D: the prompt is done and the request waits on its decode instance for the blocks to receive
    /// its KV cache into (the prefill instance still holds its blocks).</summary>
    public const byte TransferQueued = 3;

    /// <summary>vLLM P/D: the KV cache is on the decode instance, whose next step for the request computes the prompt's
    /// last token (then <see cref="TransferDone"/>).</summary>
    public const byte TransferReceived = 4;

    public int Capacity => Id.Length;

    public int InFlight { get; private set; }

    public int PeakInFlight { get; private set; }

    public RequestTable()
    {
        for (int i = 63; i >= 0; i--)
        {
            _free[_freeCount++] = i;
        }
    }

    public int Allocate()
    {
        if (_freeCount == 0)
        {
            Grow();
        }

        int slot = _free[--_freeCount];
        InFlight++;
        if (InFlight > PeakInFlight)
        {
            PeakInFlight = InFlight;
        }

        return slot;
    }

    public void Release(int slot)
    {
        Phase[slot] = RequestPhase.Free;
        _free[_freeCount++] = slot;
        InFlight--;
    }

    private void Grow()
    {
        int old = Id.Length, size = old * 2;
        Array.Resize(ref Id, size);
        Array.Resize(ref Arrival, size);
        Array.Resize(ref Input, size);
        Array.Resize(ref Output, size);
        Array.Resize(ref PromptInstance, size);
        Array.Resize(ref TokenInstance, size);
        Array.Resize(ref Phase, size);
        Array.Resize(ref Generated, size);
        Array.Resize(ref PromptStart, size);
        Array.Resize(ref FirstToken, size);
        Array.Resize(ref LastToken, size);
        Array.Resize(ref MaxGap, size);
        Array.Resize(ref Preemptions, size);
        Array.Resize(ref KvBytes, size);
        Array.Resize(ref KvDest, size);
        Array.Resize(ref Transfer, size);
        Array.Resize(ref Cancelled, size);
        Array.Resize(ref KvArrived, size);
        Array.Resize(ref SecondToken, size);
        Array.Resize(ref PromptPreemptions, size);
        Array.Resize(ref PendingSince, size);
        Array.Resize(ref TokenStart, size);
        Array.Resize(ref BatchStamp, size);
        Array.Resize(ref Computed, size);
        Array.Resize(ref CachedTokens, size);
        Array.Resize(ref PromptEnd, size);
        Array.Resize(ref _free, size);
        for (int i = size - 1; i >= old; i--)
        {
            _free[_freeCount++] = i;
        }
    }
}
