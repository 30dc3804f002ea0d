using Splitwise.Simulation.Paging;
using Splitwise.Tests.Simulation.Reference;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// The paged KV cache keeps runs of content, not blocks (<see cref="PagedKvCache"/>); the per-block implementation it
/// replaced (<see cref="PerBlockKvCache"/>, <see cref="PerBlockTables"/>: vLLM's block pool one block at a time) is
/// the oracle. Both are driven through the same random engine-like sequences — arrivals, admissions from the cached
/// prefix, prefill chunks, decode steps, finishes, preemptions and recomputes, slots reused — on small pools where
/// prefixes are shared, computed twice, evicted and hit again, and must agree after every operation.
/// </summary>
public sealed class PagedKvRunsTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(4)] // 128 blocks per chain block: two bit words per chain block
    [InlineData(64)]
    [InlineData(512)]
    public void Runs_of_content_match_the_per_block_pool_on_random_engine_sequences(int blockSize)
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random((blockSize * 1000) + seed);
            int blocks = random.Next(2, 12) * (512 / blockSize) / 2 + 2;
            bool caching = random.Next(8) != 0;
            Check(random, blocks, blockSize, caching, $"block {blockSize}, seed {seed}, {blocks} blocks, caching {caching}");
        }
    }

    private sealed class Request
    {
        public int Input;
        public int Output;
        public int Generated;
        public int Computed;
        public bool Running;
        public long[] Chain = [];
    }

    private static void Check(Random random, int blocks, int blockSize, bool caching, string what)
    {
        var oracle = new PerBlockKvCache(blocks, blockSize, caching);
        var oracleTables = new PerBlockTables(blockSize);
        var cache = new PagedKvCache(blocks, blockSize, caching);
        var tables = new BlockTables(blockSize);
        var requests = new Dictionary<int, Request>();
        var waiting = new List<int>();
        int nextSlot = 0;
        long[][] documents = [.. Enumerable.Range(0, 3).Select(d => Enumerable.Range(0, 6).Select(i => (d * 100L) + i).ToArray())];

        for (int op = 0; op < 400; op++)
        {
            int kind = random.Next(10);
            if (kind < 2 || requests.Count == 0)
            {
                // Arrival (a finished request's slot is reused now and then).
                int slot = requests.Count < 6 && random.Next(3) > 0 ? nextSlot++ : FreeSlot(requests, ref nextSlot);
                var r = new Request { Input = random.Next(1, 1800), Output = random.Next(1, 300) };
                int chainBlocks = (r.Input + 511) / 512;
                long[] doc = documents[random.Next(documents.Length)];
                int sharedBlocks = Math.Min(chainBlocks, random.Next(0, doc.Length + 1));
                r.Chain = [.. doc.Take(sharedBlocks), .. Enumerable.Range(0, chainBlocks - sharedBlocks).Select(_ => 10_000L + random.Next(1_000_000))];
                if (random.Next(6) == 0)
                {
                    r.Chain = []; // a request without a chain: nothing shared
                }

                requests[slot] = r;
                oracleTables.Start(slot, r.Input, r.Chain);
                tables.Start(slot, r.Input, r.Chain);
                waiting.Add(slot);
            }
            else if (kind < 5 && waiting.Count > 0)
            {
                // Admission: the cached prefix, then a chunk of what is left.
                int slot = waiting[random.Next(Math.Min(2, waiting.Count))];
                Request r = requests[slot];
                int known = r.Input + r.Generated;
                int expected = oracleTables.CountCachedPrefix(slot, oracle, known, out int expectedFree);
                int hits = tables.CountCachedPrefix(slot, cache, known, out int free);
                Assert.True(expected == hits && expectedFree == free, $"{what}, op {op}: hits {hits} ({free} free), oracle {expected} ({expectedFree} free)");
                int cached = hits * blockSize;
                int n = random.Next(1, known - cached + 1);
                int need = (int)((((long)cached + n + blockSize - 1) / blockSize) - hits) + free;
                if (need > oracle.FreeBlocks)
                {
                    continue;
                }

                waiting.Remove(slot);
                Assert.Equal(oracleTables.TakeCachedPrefix(slot, oracle, hits), tables.TakeCachedPrefix(slot, cache, hits));
                oracleTables.Grow(slot, oracle, cached + n, known);
                tables.Grow(slot, cache, cached + n, known);
                r.Computed = cached + n;
                r.Running = true;
            }
            else if (kind < 8)
            {
                // A step of a running request: the next prefill chunk or one decode token.
                int[] running = [.. requests.Where(p => p.Value.Running).Select(p => p.Key)];
                if (running.Length == 0)
                {
                    continue;
                }

                int slot = running[random.Next(running.Length)];
                Request r = requests[slot];
                int known = r.Input + r.Generated;
                int n = r.Computed < known ? random.Next(1, known - r.Computed + 1) : 1;
                if (r.Computed == known)
                {
                    known++; // the token produced last step is fed now
                }

                Assert.Equal(oracleTables.BlocksNeeded(slot, r.Computed + n), tables.BlocksNeeded(slot, r.Computed + n));
                if (oracleTables.BlocksNeeded(slot, r.Computed + n) > oracle.FreeBlocks)
                {
                    continue;
                }

                oracleTables.Grow(slot, oracle, r.Computed + n, known);
                tables.Grow(slot, cache, r.Computed + n, known);
                r.Computed += n;
                if (r.Computed == r.Input + r.Generated || r.Computed == known)
                {
                    r.Generated++;
                }
            }
            else
            {
                // A finish, or a preemption by recompute (blocks freed, back to waiting, same slot).
                int[] running = [.. requests.Where(p => p.Value.Running).Select(p => p.Key)];
                if (running.Length == 0)
                {
                    continue;
                }

                int slot = running[random.Next(running.Length)];
                Request r = requests[slot];
                oracleTables.Free(slot, oracle);
                tables.Free(slot, cache);
                r.Running = false;
                r.Computed = 0;
                if (r.Generated >= r.Output || random.Next(2) == 0)
                {
                    requests.Remove(slot);
                }
                else
                {
                    waiting.Insert(0, slot);
                }
            }

            Assert.True(oracle.FreeBlocks == cache.FreeBlocks, $"{what}, op {op}: {cache.FreeBlocks} free blocks, oracle {oracle.FreeBlocks}");
            Assert.True(oracle.Evictions == cache.Evictions, $"{what}, op {op}: {cache.Evictions} evictions, oracle {oracle.Evictions}");
            Assert.Equal(oracle.UsedBlocks, cache.UsedBlocks);
        }
    }

    private static int FreeSlot(Dictionary<int, Request> requests, ref int nextSlot)
    {
        for (int s = 0; s < nextSlot; s++)
        {
            if (!requests.ContainsKey(s))
            {
                return s;
            }
        }

        return nextSlot++;
    }
}
