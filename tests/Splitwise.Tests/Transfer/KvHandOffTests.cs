using Splitwise.Simulation;
using Splitwise.Simulation.Memory;
using Splitwise.Simulation.Transfer;
using Splitwise.Tests.Simulation;

namespace Splitwise.Tests.Transfer;

/// <summary>The KV hand-off component of phase-split clusters, driven by hand as the engine drives it.</summary>
public sealed class KvHandOffTests
{
    // Two instances on machines 0 and 1 (one byte of KV per token), and a request table with one request of 1,000
    // prompt tokens and 11 output tokens in slot `Slot`.
    private const int Input = 1000, Output = 11;

    private static (KvHandOff HandOff, RequestTable Requests, int Slot, double BytesPerNs) Setup()
    {
        var perf = new AffineModel(1000, 10, 100, 1);
        InstanceSpec[] instances = [SimKit.Instance(perf, index: 0), SimKit.Instance(perf, index: 1)];
        var requests = new RequestTable();
        int slot = requests.Allocate();
        requests.Input[slot] = Input;
        requests.Output[slot] = Output;
        requests.KvBytes[slot] = Input + 1; // its prompt's KV on the source
        requests.KvDest[slot] = 0;
        requests.KvArrived[slot] = -1;
        requests.Transfer[slot] = RequestTable.TransferNone;
        return (new KvHandOff(new ClusterKvTransfers(instances), requests), requests, slot, instances[0].Machine.InfinibandBytesPerSecond / 1e9);
    }

    [Fact]
    public void A_destination_is_reserved_whole_or_not_at_all_and_the_request_takes_it_when_its_kv_lands()
    {
        (KvHandOff handOff, RequestTable r, int slot, _) = Setup();
        var source = new ReservedKvMemory(10_000);
        source.Reserve(Input + 1);
        var small = new ReservedKvMemory(Input + Output - 1);
        Assert.False(handOff.TryReserveDestination(slot, small, kvBytesPerToken: 1));
        Assert.Equal(0, small.UsedBytes);
        Assert.Equal(0, r.KvDest[slot]);

        var destination = new ReservedKvMemory(Input + Output);
        Assert.True(handOff.TryReserveDestination(slot, destination, kvBytesPerToken: 1));
        Assert.Equal(Input + Output, destination.UsedBytes);
        Assert.Equal(Input + Output, destination.PeakBytes);

        handOff.Land(slot, source, now: 500);
        Assert.Equal(0, source.UsedBytes); // the source's copy is freed
        Assert.Equal(Input + Output, r.KvBytes[slot]); // the request now holds the destination's reservation
        Assert.Equal(500, r.KvArrived[slot]);

        handOff.ReleaseUnlanded(slot, destination); // landed: a later drop frees it as the request's own KV instead
        Assert.Equal(Input + Output, destination.UsedBytes);
    }

    [Fact]
    public void A_request_dropped_before_its_kv_lands_gives_back_its_destination_reservation()
    {
        (KvHandOff handOff, _, int slot, _) = Setup();
        var destination = new ReservedKvMemory(10_000);
        handOff.ReleaseUnlanded(slot, destination); // nothing reserved: nothing released
        Assert.Equal(0, destination.UsedBytes);
        Assert.True(handOff.TryReserveDestination(slot, destination, kvBytesPerToken: 2));
        Assert.Equal(2 * (Input + Output), destination.UsedBytes);
        handOff.ReleaseUnlanded(slot, destination);
        Assert.Equal(0, destination.UsedBytes);
    }

    [Fact]
    public void A_serialized_transfer_is_one_versioned_event_at_bytes_over_bandwidth()
    {
        (KvHandOff handOff, RequestTable r, int slot, double bytesPerNs) = Setup();
        Assert.False(handOff.Reschedule(now: 0, out _, out _)); // nothing in flight: nothing to schedule

        handOff.StartSerialized(slot, from: 0, to: 1, tokens: Input, now: 100);
        Assert.Equal(RequestTable.TransferInFlight, r.Transfer[slot]);
        Assert.True(handOff.Reschedule(now: 100, out long at, out int version));
        Assert.True(handOff.IsCurrent(version));
        Assert.InRange(at, 100 + (long)(Input / bytesPerNs), 100 + (long)Math.Ceiling(Input / bytesPerNs) + 1);
        Assert.False(handOff.Reschedule(now: 100, out _, out _)); // unchanged: the pending event stands

        Assert.True(handOff.Advance(at - 1).IsEmpty); // not yet
        Assert.Equal([slot], handOff.Advance(at).ToArray());
        Assert.False(handOff.Reschedule(now: at, out _, out _)); // nothing left in flight
    }

    [Fact]
    public void A_second_transfer_on_the_same_link_supersedes_the_pending_event()
    {
        (KvHandOff handOff, RequestTable r, int slot, _) = Setup();
        int other = r.Allocate();
        r.Input[other] = Input;
        r.Output[other] = Output;
        handOff.StartSerialized(slot, from: 0, to: 1, tokens: Input, now: 0);
        Assert.True(handOff.Reschedule(now: 0, out long first, out int v1));
        handOff.StartSerialized(other, from: 0, to: 1, tokens: Input, now: 0);
        Assert.True(handOff.Reschedule(now: 0, out long second, out int v2)); // the link is shared: both finish later
        Assert.True(second > first);
        Assert.False(handOff.IsCurrent(v1));
        Assert.True(handOff.IsCurrent(v2));
        Assert.Equal([slot, other], handOff.Advance(second).ToArray()); // start order among simultaneous completions
    }

    [Fact]
    public void A_prompt_instance_waits_for_destination_memory_once_and_is_taken_off_to_retry()
    {
        (KvHandOff handOff, _, _, _) = Setup();
        handOff.Wait(3);
        handOff.Wait(5);
        handOff.Wait(3);
        Assert.Equal(2, handOff.WaitingCount);
        Assert.Equal(5, handOff.WaitingAt(1));
        handOff.StopWaitingAt(1);
        handOff.Wait(5); // still blocked: back at the end
        Assert.Equal([3, 5], new[] { handOff.WaitingAt(0), handOff.WaitingAt(1) });
    }
}
