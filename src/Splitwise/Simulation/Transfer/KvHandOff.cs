using System.Runtime.InteropServices;
using Splitwise.Simulation.Memory;

namespace Splitwise.Simulation.Transfer;

/// <summary>
/// The KV hand-off of a phase-split cluster: a request whose prompt ran on one machine and whose decode runs on another
/// reserves the destination's memory, ships its KV cache over the machines' InfiniBand links
/// (<see cref="ClusterKvTransfers"/>: serialized after the prompt, or layer-wise during it), and lands — the source
/// frees its copy and the request holds the destination's reservation. Prompt instances whose next prompt could not
/// reserve its destination wait here until memory is freed.
/// </summary>
/// <remarks>
/// A small event-driven API like <see cref="KvLinkNetwork"/>'s, over the engine's struct-of-arrays request state
/// (<see cref="RequestTable.Transfer"/>, <see cref="RequestTable.KvDest"/>, <see cref="RequestTable.KvBytes"/>,
/// <see cref="RequestTable.KvArrived"/>, indexed by request slot, which is also the transfer id): the engine starts
/// transfers, asks <see cref="Reschedule"/> whether the next link event moved (one pending event, versioned, so a
/// superseded one is ignored), and at that event takes the transfers that completed from <see cref="Advance"/>.
/// What a completion means for the instances' queues stays with the engine personality.
/// </remarks>
internal sealed class KvHandOff(ClusterKvTransfers links, RequestTable requests)
{
    private readonly RequestTable _r = requests;
    private readonly List<int> _done = [];
    private readonly List<int> _waiting = []; // prompt instances whose head prompt waits for token-side memory
    private long _eventAt = long.MaxValue;
    private int _version;

    /// <summary>The links and the transfer policy.</summary>
    public ClusterKvTransfers Links { get; } = links;

    /// <summary>True when both instances are on one machine: the KV stays in place, no transfer.</summary>
    public bool SameMachine(int a, int b) => Links.SameMachine(a, b);

    // ---- Destination memory

    /// <summary>Reserves the request's whole KV (prompt and output) on its destination before its prompt starts, so
    /// no request holds memory on one machine while it waits for another's; false (nothing reserved) when it does not
    /// fit.</summary>
    public bool TryReserveDestination(int slot, ReservedKvMemory destination, long kvBytesPerToken)
    {
        long need = (long)(_r.Input[slot] + _r.Output[slot]) * kvBytesPerToken;
        if (!destination.TryReserve(need))
        {
            return false;
        }

        _r.KvDest[slot] = need;
        return true;
    }

    /// <summary>A request dropped before its KV landed gives back its destination reservation, if it made one.</summary>
    public void ReleaseUnlanded(int slot, ReservedKvMemory destination)
    {
        if (_r.KvDest[slot] > 0 && _r.KvArrived[slot] < 0)
        {
            destination.Release(_r.KvDest[slot]);
        }
    }

    /// <summary>The request's KV is complete on its destination at <paramref name="now"/>: the source frees its copy and
    /// the request holds its destination reservation from now on.</summary>
    public void Land(int slot, ReservedKvMemory source, long now)
    {
        source.Release(_r.KvBytes[slot]);
        _r.KvBytes[slot] = _r.KvDest[slot];
        _r.KvArrived[slot] = now;
    }

    // ---- Prompt instances waiting for destination memory

    /// <summary>Prompt instances waiting (the engine retries them when memory is freed).</summary>
    public int WaitingCount => _waiting.Count;

    /// <summary>The prompt instance at <paramref name="i"/> in the waiting list (retried from the end).</summary>
    public int WaitingAt(int i) => _waiting[i];

    /// <summary>The prompt instance's head prompt could not reserve its destination: it waits (once).</summary>
    public void Wait(int promptInstance)
    {
        if (!_waiting.Contains(promptInstance))
        {
            _waiting.Add(promptInstance);
        }
    }

    /// <summary>Takes the waiting instance at <paramref name="i"/> off the list, to retry it (it waits again at the
    /// end of the list if it is still blocked).</summary>
    public void StopWaitingAt(int i) => _waiting.RemoveAt(i);

    // ---- Transfers

    /// <summary>A prompt of <paramref name="promptTokens"/> tokens runs from <paramref name="promptStart"/> to
    /// <paramref name="promptEnd"/> and streams its KV layer by layer meanwhile.</summary>
    public void StartLayerWise(int slot, int from, int to, int promptTokens, long promptStart, long promptEnd)
    {
        _r.Transfer[slot] = RequestTable.TransferInFlight;
        Links.StartLayerWise(slot, from, to, promptTokens, promptStart, promptEnd);
    }

    /// <summary>The KV of <paramref name="tokens"/> tokens starts moving now, after the prompt.</summary>
    public void StartSerialized(int slot, int from, int to, int tokens, long now)
    {
        _r.Transfer[slot] = RequestTable.TransferInFlight;
        Links.StartSerialized(slot, from, to, tokens, now);
    }

    /// <summary>After transfers started or ended: true when the next link event moved and must be scheduled at
    /// <paramref name="at"/> (never before <paramref name="now"/>) with <paramref name="version"/>; any earlier one is
    /// stale from now on.</summary>
    public bool Reschedule(long now, out long at, out int version)
    {
        long t = Links.NextEventTime();
        at = Math.Max(t, now);
        version = _version;
        if (t == _eventAt)
        {
            return false;
        }

        _eventAt = t;
        version = ++_version;
        return t != long.MaxValue;
    }

    /// <summary>True when a link event of <paramref name="version"/> is the one pending (not superseded).</summary>
    public bool IsCurrent(int version) => version == _version;

    /// <summary>The pending link event happened at <paramref name="now"/>: the transfers that completed, in the links'
    /// order (valid until the next call).</summary>
    public ReadOnlySpan<int> Advance(long now)
    {
        _eventAt = long.MaxValue;
        _done.Clear();
        Links.Advance(now, _done);
        return CollectionsMarshal.AsSpan(_done);
    }
}
