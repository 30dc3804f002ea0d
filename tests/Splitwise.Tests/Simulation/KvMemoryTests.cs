using Splitwise.Simulation.Memory;
using Splitwise.Simulation.Paging;

namespace Splitwise.Tests.Simulation;

/// <summary>The two KV memory components behind the engine personalities: whole-request reservation and paged blocks.</summary>
public sealed class KvMemoryTests
{
    [Fact]
    public void Whole_request_reservation_fits_up_to_the_capacity_and_peaks_only_where_noted()
    {
        var kv = new ReservedKvMemory(capacityBytes: 1000);
        Assert.True(kv.Fits(1000));
        Assert.False(kv.Fits(1001));

        kv.Reserve(600); // a prompt admitted
        Assert.Equal(600, kv.UsedBytes);
        Assert.Equal(0, kv.PeakBytes); // the peak is what a batch selection saw, noted by the engine
        Assert.True(kv.Fits(400));
        Assert.False(kv.Fits(401));

        kv.NotePeak();
        Assert.Equal(600, kv.PeakBytes);

        Assert.False(kv.TryReserve(401)); // a transfer's destination: nothing taken when it does not fit
        Assert.Equal(600, kv.UsedBytes);
        Assert.True(kv.TryReserve(400));
        Assert.Equal(1000, kv.UsedBytes);
        Assert.Equal(1000, kv.PeakBytes); // a destination reservation notes the peak itself

        kv.Release(1000);
        kv.NotePeak();
        Assert.Equal(0, kv.UsedBytes);
        Assert.Equal(1000, kv.PeakBytes); // a peak never falls
    }

    [Fact]
    public void Whole_request_reservation_conserves_bytes_over_random_reserve_and_release()
    {
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            long capacity = random.Next(1, 10_000);
            var kv = new ReservedKvMemory(capacity);
            var held = new List<long>();
            long maxSeen = 0;
            for (int step = 0; step < 100; step++)
            {
                if (held.Count > 0 && random.Next(3) == 0)
                {
                    int i = random.Next(held.Count);
                    kv.Release(held[i]);
                    held.RemoveAt(i);
                }
                else
                {
                    long need = random.Next(0, (int)capacity + 1);
                    bool fits = held.Sum() + need <= capacity;
                    Assert.Equal(fits, kv.TryReserve(need));
                    if (fits)
                    {
                        held.Add(need);
                        maxSeen = Math.Max(maxSeen, held.Sum());
                    }
                }

                Assert.Equal(held.Sum(), kv.UsedBytes);
                Assert.True(kv.UsedBytes <= capacity);
            }

            Assert.Equal(maxSeen, kv.PeakBytes);
        }
    }

    [Fact]
    public void Paged_memory_counts_the_bytes_of_the_blocks_held_and_peaks_where_a_step_is_scheduled()
    {
        // 5 blocks (the null block and 4 usable) of 16 tokens, 100 bytes each.
        var cache = new PagedKvCache(blocks: 5, blockSize: 16, prefixCaching: false) { BlockBytes = 100 };
        IKvMemory memory = cache;
        var tables = new BlockTables(16);
        tables.Start(0, 40, default);
        Assert.Equal(3, tables.BlocksNeeded(0, 40));
        tables.Grow(0, cache, 40, 40); // 3 blocks for 40 tokens
        Assert.Equal(300, memory.UsedBytes);
        Assert.Equal(0, memory.PeakBytes);

        cache.NotePeak();
        Assert.Equal(300, memory.PeakBytes);

        tables.Free(0, cache);
        cache.NotePeak();
        Assert.Equal(0, memory.UsedBytes);
        Assert.Equal(300, memory.PeakBytes);
    }
}
