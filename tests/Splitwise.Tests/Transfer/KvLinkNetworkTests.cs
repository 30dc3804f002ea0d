using CsCheck;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Tests.Transfer;

public class KvLinkNetworkTests
{
    // 200 Gbps = 25 GB/s = 25 bytes per ns: round numbers for hand-checked times.
    private const double A100Link = 25e9;

    private static (long Time, int Id)[] RunToEnd(KvLinkNetwork net)
    {
        var done = new List<(long, int)>();
        var ids = new List<int>();
        while (net.Active > 0)
        {
            long t = net.NextEventTime();
            Assert.NotEqual(long.MaxValue, t);
            ids.Clear();
            net.Advance(t, ids);
            foreach (int id in ids)
            {
                done.Add((t, id));
            }
        }

        return [.. done];
    }

    /// <summary>A cluster of <paramref name="minMachines"/> to <paramref name="maxMachines"/> machines of 25 or 50 GB/s, one in five half duplex.</summary>
    private static Gen<(double[] Links, bool FullDuplex)> RandomCluster(int minMachines, int maxMachines) =>
        from machines in Gen.Int[minMachines, maxMachines]
        from fast in Gen.Bool.Array[machines]
        from halfDuplex in Gen.Int[0, 4]
        select (fast.Select(f => f ? 50e9 : A100Link).ToArray(), halfDuplex != 0);

    /// <summary>A machine <paramref name="hop"/> after <paramref name="source"/>, never the source itself.</summary>
    private static int Destination(int source, int hop, int machines)
    {
        int destination = (source + hop) % machines;
        return destination == source ? (destination + 1) % machines : destination;
    }

    [Fact]
    public void One_transfer_takes_bytes_over_bandwidth()
    {
        var net = new KvLinkNetwork([A100Link, A100Link]);
        net.Start(7, 0, 1, 1_000_000_000, now: 1000);
        Assert.Equal(1000 + 40_000_000, net.NextEventTime());
        Assert.Equal([(1000L + 40_000_000, 7)], RunToEnd(net));
    }

    [Fact]
    public void Slower_side_of_the_path_sets_the_rate()
    {
        // A100 (25 GB/s) sending to an H100 (50 GB/s): the A100's egress is the bottleneck.
        var net = new KvLinkNetwork([A100Link, 50e9]);
        net.Start(1, 0, 1, 50_000_000, now: 0);
        Assert.Equal(25e9, net.RateBytesPerSecond(1), 6);
        Assert.Equal([(2_000_000L, 1)], RunToEnd(net));
    }

    [Fact]
    public void Two_concurrent_transfers_on_one_link_each_take_twice_as_long()
    {
        // Both leave machine 0: they share its egress.
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link]);
        net.Start(1, 0, 1, 250_000_000, now: 0);
        net.Start(2, 0, 2, 250_000_000, now: 0);
        Assert.Equal(12.5e9, net.RateBytesPerSecond(1), 6);
        Assert.Equal([(20_000_000L, 1), (20_000_000L, 2)], RunToEnd(net));
    }

    [Fact]
    public void Two_transfers_into_one_machine_share_its_ingress()
    {
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link]);
        net.Start(1, 0, 2, 250_000_000, now: 0);
        net.Start(2, 1, 2, 250_000_000, now: 0);
        Assert.Equal([(20_000_000L, 1), (20_000_000L, 2)], RunToEnd(net));
    }

    [Fact]
    public void Full_duplex_link_sends_and_receives_at_full_rate_but_half_duplex_shares()
    {
        var duplex = new KvLinkNetwork([A100Link, A100Link]);
        duplex.Start(1, 0, 1, 250_000_000, 0);
        duplex.Start(2, 1, 0, 250_000_000, 0);
        Assert.Equal([(10_000_000L, 1), (10_000_000L, 2)], RunToEnd(duplex));

        var half = new KvLinkNetwork([A100Link, A100Link], fullDuplex: false);
        half.Start(1, 0, 1, 250_000_000, 0);
        half.Start(2, 1, 0, 250_000_000, 0);
        Assert.Equal([(20_000_000L, 1), (20_000_000L, 2)], RunToEnd(half));
    }

    [Fact]
    public void Rate_rises_when_a_competitor_finishes_early()
    {
        // Short (100 MB) and long (300 MB) share 25 GB/s: both at 12.5 GB/s until the short one ends at 8 ms,
        // by which time the long one has sent 100 MB; its last 200 MB go at 25 GB/s in 8 ms: done at 16 ms.
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link]);
        net.Start(1, 0, 1, 100_000_000, 0);
        net.Start(2, 0, 2, 300_000_000, 0);
        Assert.Equal([(8_000_000L, 1), (16_000_000L, 2)], RunToEnd(net));
    }

    [Fact]
    public void A_transfer_joining_later_slows_the_first_from_that_moment()
    {
        // First alone for 4 ms (100 MB of 200 MB sent), then shares: its last 100 MB take 8 ms -> 12 ms.
        // The second sends 100 MB by 12 ms and its last 100 MB alone in 4 ms -> 16 ms.
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link]);
        net.Start(1, 0, 1, 200_000_000, 0);
        var done = new List<int>();
        net.Advance(4_000_000, done);
        Assert.Empty(done);
        net.Start(2, 0, 2, 200_000_000, 4_000_000);
        Assert.Equal([(12_000_000L, 1), (16_000_000L, 2)], RunToEnd(net));
    }

    [Fact]
    public void Max_min_fairness_gives_the_unconstrained_transfer_the_leftover()
    {
        // 0->2 and 1->2 share machine 2's ingress (12.5 each); 1->3 shares machine 1's egress with 1->2.
        // Max-min: ingress(2) and egress(1) both saturate at 12.5 for the three transfers... with a 4th link fast,
        // 0->3 then gets machine 0's leftover 12.5. Check the rates, not just finish times.
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link, 100e9]);
        net.Start(1, 0, 2, 1_000_000, 0);
        net.Start(2, 1, 2, 1_000_000, 0);
        net.Start(3, 1, 3, 1_000_000, 0);
        net.Start(4, 0, 3, 1_000_000, 0);
        Assert.Equal(12.5e9, net.RateBytesPerSecond(1), 3);
        Assert.Equal(12.5e9, net.RateBytesPerSecond(2), 3);
        Assert.Equal(12.5e9, net.RateBytesPerSecond(3), 3);
        Assert.Equal(12.5e9, net.RateBytesPerSecond(4), 3);

        // Now a bottleneck that leaves slack: three into machine 2 (8.33 each); 0->3 gets 25 - 8.33.
        var net2 = new KvLinkNetwork([A100Link, A100Link, A100Link, A100Link, A100Link]);
        net2.Start(1, 0, 2, 1_000_000, 0);
        net2.Start(2, 1, 2, 1_000_000, 0);
        net2.Start(3, 4, 2, 1_000_000, 0);
        net2.Start(4, 0, 3, 1_000_000, 0);
        Assert.Equal(25e9 / 3, net2.RateBytesPerSecond(1), 0);
        Assert.Equal(25e9 - (25e9 / 3), net2.RateBytesPerSecond(4), 0);
    }

    [Fact]
    public void Layer_wise_transfer_exposes_only_the_last_layer_after_the_prompt()
    {
        // 80 layers, 800 MB, prompt 100 ms: the stream (8 GB/s production) keeps up with 25 GB/s, so after the
        // prompt only the last layer (10 MB) remains: 0.4 ms.
        var net = new KvLinkNetwork([A100Link, A100Link]);
        net.StartLayerWise(1, 0, 1, 800_000_000, layers: 80, promptStart: 0, promptEnd: 100_000_000);
        var done = RunToEnd(net);
        Assert.Single(done);
        Assert.InRange(done[0].Time, 100_400_000L, 100_400_001L);
    }

    [Fact]
    public void Layer_wise_transfer_on_a_slow_link_exposes_the_backlog()
    {
        // 8 layers, 800 MB over 25 GB/s needs 32 ms, but the prompt is only 8 ms: streaming starts after the first
        // layer (1 ms) and is link-bound, so the whole transfer ends at 1 + 32 = 33 ms.
        var net = new KvLinkNetwork([A100Link, A100Link]);
        net.StartLayerWise(1, 0, 1, 800_000_000, layers: 8, promptStart: 0, promptEnd: 8_000_000);
        var done = RunToEnd(net);
        Assert.InRange(done[0].Time, 33_000_000L, 33_000_001L);
    }

    [Fact]
    public void Layer_wise_stream_is_held_to_the_production_rate_and_leaves_bandwidth_to_others()
    {
        // The layer-wise stream produces 8 GB/s; a serialized transfer on the same egress gets the other 17 GB/s.
        var net = new KvLinkNetwork([A100Link, A100Link, A100Link]);
        net.StartLayerWise(1, 0, 1, 800_000_000, 80, 0, 100_000_000);
        var done = new List<int>();
        net.Advance(2_000_000, done);
        net.Start(2, 0, 2, 17_000_000, 2_000_000);
        Assert.Equal(8e9, net.RateBytesPerSecond(1), 0);
        Assert.Equal(17e9, net.RateBytesPerSecond(2), 0);
    }

    [Fact]
    public void Policy_serializes_small_prompts_and_streams_large_ones()
    {
        var shape = KvCacheShape.Llama2_70B;
        Assert.Equal(327_680, shape.BytesPerToken); // 2 x 80 x 8 x 128 x 2 = 320 KiB
        var net = new KvLinkNetwork([A100Link, A100Link]);
        var kv = new KvTransfers(net, shape);

        // 100 tokens < 512: nothing moves during the prompt; all 32.768 MB after it, 1.31072 ms.
        kv.OnPromptStart(1, 0, 1, 100, 0, 50_000_000);
        Assert.Equal(0, net.Active);
        Assert.True(kv.OnPromptDone(1, 0, 1, 100, 50_000_000));
        Assert.Equal([(50_000_000L + 1_310_720, 1)], RunToEnd(net));

        // 1000 tokens: layer-wise, 327.68 MB; after a 200 ms prompt only 4.096 MB remain: 163.84 us.
        kv.OnPromptStart(2, 0, 1, 1000, 300_000_000, 500_000_000);
        Assert.True(kv.OnPromptDone(2, 0, 1, 1000, 500_000_000));
        var done = RunToEnd(net);
        Assert.InRange(done[0].Time - 500_000_000, 163_840L, 163_841L);

        Assert.False(kv.OnPromptDone(3, 1, 1, 1000, 600_000_000));
    }

    [Fact]
    public void Forced_modes_override_the_threshold()
    {
        Assert.False(new KvTransferOptions(KvTransferMode.Serialized).IsLayerWise(10_000));
        Assert.True(new KvTransferOptions(KvTransferMode.LayerWise).IsLayerWise(10));
        Assert.True(new KvTransferOptions(LayerWiseThresholdTokens: 100).IsLayerWise(100));
        Assert.False(KvTransferOptions.Default.IsLayerWise(511));
    }

    [Fact]
    public void Rejects_bad_transfers()
    {
        var net = new KvLinkNetwork([A100Link, A100Link]);
        Assert.Throws<ArgumentException>(() => net.Start(1, 0, 0, 10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Start(1, 0, 5, 10, 0));
        net.Start(1, 0, 1, 10, 100);
        Assert.Throws<ArgumentException>(() => net.Start(1, 1, 0, 10, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Start(2, 1, 0, 10, 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvLinkNetwork([0.0]));
    }

    [Fact]
    public void Random_transfers_all_complete_once_no_faster_than_alone_and_deterministically()
    {
        Gen.Int[1, 40].Array[1, 60].Sample(sizes =>
        {
            string first = Simulate(sizes, out var result);
            string second = Simulate(sizes, out _);
            Assert.Equal(first, second);
            Assert.Equal(sizes.Length, result.Count);
            Assert.Equal(sizes.Length, result.Select(r => r.Id).Distinct().Count());
            foreach ((long time, int id) in result)
            {
                long start = id * 1_000_000L;
                long alone = (long)Math.Ceiling(sizes[id] * 1_000_000 / 25.0);
                Assert.True(time - start >= alone, $"transfer {id} faster than its link allows");
            }
        }, seed: "0N0XIzNsQ0O2", iter: 300);

        static string Simulate(int[] sizes, out List<(long Time, int Id)> result)
        {
            var net = new KvLinkNetwork([A100Link, A100Link, 50e9, A100Link, 50e9]);
            result = [];
            var ids = new List<int>();
            long now = 0;
            for (int i = 0; i <= sizes.Length; i++)
            {
                long next = i < sizes.Length ? i * 1_000_000L : long.MaxValue;
                while (net.Active > 0 && net.NextEventTime() <= next)
                {
                    now = net.NextEventTime();
                    Assert.True(now >= net.Now);
                    ids.Clear();
                    net.Advance(now, ids);
                    foreach (int id in ids)
                    {
                        result.Add((now, id));
                    }
                }

                if (i < sizes.Length)
                {
                    int src = i % 5, dst = (i * 3 + 1) % 5;
                    if (dst == src)
                    {
                        dst = (dst + 1) % 5;
                    }

                    if (i % 3 == 0)
                    {
                        net.StartLayerWise(i, src, dst, sizes[i] * 1_000_000L, 80, next, next + 20_000_000);
                    }
                    else
                    {
                        net.Start(i, src, dst, sizes[i] * 1_000_000L, next);
                    }
                }
            }

            return string.Join(";", result);
        }
    }

    [Fact]
    public void Incremental_filling_matches_the_naive_one_bit_for_bit()
    {
        // Random clusters (3-12 machines of 25 or 50 GB/s, full or half duplex) and random transfers (serialized, or
        // layer-wise with production caps), several starting at one instant, some before the events of their instant are
        // processed: every completion time and every rate after every start must equal the naive model's exactly (rates
        // compared as bits).
        var gen =
            from cluster in RandomCluster(3, 12)
            from flows in Gen.Select(Gen.Int[0, 3], Gen.Int[0, 11], Gen.Int[1, 11], Gen.Int[1, 400], Gen.Int[0, 2], Gen.Int[1, 80]).Array[1, 80]
            select (cluster.Links, cluster.FullDuplex, flows);
        gen.Sample(c =>
        {
            double[] links = c.Links;
            var net = new KvLinkNetwork(links, c.FullDuplex);
            var naive = new NaiveKvLinks(links, c.FullDuplex);
            var log = new List<string>();
            var naiveLog = new List<string>();
            var done = new List<int>();
            long time = 0;
            for (int i = 0; i <= c.flows.Length; i++)
            {
                long at = i < c.flows.Length ? time + (c.flows[i].Item1 * 1_000_000L) : long.MaxValue;
                Drain(i < c.flows.Length && c.flows[i].Item4 % 3 == 0 ? at - 1 : at); // some start before that instant's events
                if (i == c.flows.Length)
                {
                    break;
                }

                time = at;
                (_, int src, int hop, int mb, int kind, int ms) = c.flows[i];
                src %= links.Length;
                int dst = Destination(src, hop, links.Length);

                long bytes = mb * 1_000_000L;
                if (kind == 0)
                {
                    net.Start(i, src, dst, bytes, time);
                    naive.Start(i, src, dst, bytes, time);
                }
                else
                {
                    net.StartLayerWise(i, src, dst, bytes, kind == 1 ? 80 : 1, time, time + (ms * 1_000_000L));
                    naive.StartLayerWise(i, src, dst, bytes, kind == 1 ? 80 : 1, time, time + (ms * 1_000_000L));
                }

                for (int j = 0; j <= i; j++)
                {
                    log.Add($"{i}:{j}:{BitConverter.DoubleToInt64Bits(net.RateBytesPerSecond(j))}");
                    naiveLog.Add($"{i}:{j}:{BitConverter.DoubleToInt64Bits(naive.RateBytesPerSecond(j))}");
                }
            }

            Assert.Equal(c.flows.Length, log.Count(l => l.StartsWith("done", StringComparison.Ordinal)));
            Assert.Equal(naiveLog, log);

            void Drain(long until)
            {
                while (net.Active > 0 && net.NextEventTime() <= until)
                {
                    long t = net.NextEventTime();
                    Assert.Equal(naive.NextEventTime(), t);
                    done.Clear();
                    net.Advance(t, done);
                    log.AddRange(done.Select(id => $"done {id} at {t}"));
                    done.Clear();
                    naive.Advance(t, done);
                    naiveLog.AddRange(done.Select(id => $"done {id} at {t}"));
                }

                Assert.Equal(naive.Active, net.Active);
            }
        }, seed: "0N0XIzNsQ0O2", iter: 500);
    }

    [Fact]
    public void Fast_path_filling_gives_the_general_loops_doubles()
    {
        // Random clusters and random operations — serialized and layer-wise starts (caps mostly under the links' fair
        // share, where the fast path applies, sometimes over it, where it must fall back), several at one instant,
        // advances to events and to arbitrary times — on two networks, one of them forced through the general loop:
        // every rate (as bits), next event time and completion must be the same.
        var gen =
            from cluster in RandomCluster(2, 10)
            from ops in Gen.Select(Gen.Int[0, 5], Gen.Int[0, 9], Gen.Int[1, 9], Gen.Int[1, 500], Gen.Int[0, 9], Gen.Int[1, 400]).Array[1, 60]
            select (cluster.Links, cluster.FullDuplex, ops);
        long fills = 0, fastFills = 0;
        gen.Sample(c =>
        {
            double[] links = c.Links;
            var net = new KvLinkNetwork(links, c.FullDuplex);
            var general = new KvLinkNetwork(links, c.FullDuplex) { GeneralFillOnly = true };
            var done = new List<int>();
            var generalDone = new List<int>();
            long time = 0;
            for (int k = 0; k < c.ops.Length; k++)
            {
                (int op, int src, int hop, int mb, int kind, int ms) = c.ops[k];
                src %= links.Length;
                int dst = Destination(src, hop, links.Length);

                long bytes = mb * 1_000_000L;
                if (op <= 2)
                {
                    if (kind <= 1)
                    {
                        net.Start(k, src, dst, bytes, time);
                        general.Start(k, src, dst, bytes, time);
                    }
                    else
                    {
                        // Mostly slow producers (a long prompt for its bytes): caps of 0.01-20 bytes/ns.
                        long prompt = kind == 9 ? ms * 100_000L : ms * 10_000_000L;
                        int layers = kind == 2 ? 1 : 80;
                        net.StartLayerWise(k, src, dst, bytes, layers, time, time + prompt);
                        general.StartLayerWise(k, src, dst, bytes, layers, time, time + prompt);
                    }
                }
                else
                {
                    long next = net.NextEventTime();
                    Assert.Equal(general.NextEventTime(), next);
                    long to = op == 3 || next == long.MaxValue ? time + (ms * 1_000_000L) : next;
                    if (op == 5 && next != long.MaxValue)
                    {
                        to = next + (ms * 10_000L); // past the next event, maybe past several
                    }

                    done.Clear();
                    generalDone.Clear();
                    net.Advance(to, done);
                    general.Advance(to, generalDone);
                    Assert.Equal(generalDone, done);
                    time = to;
                }

                Assert.Equal(general.Active, net.Active);
                Assert.Equal(general.NextEventTime(), net.NextEventTime());
                for (int j = 0; j <= k; j++)
                {
                    Assert.Equal(BitConverter.DoubleToInt64Bits(general.RateBytesPerSecond(j)), BitConverter.DoubleToInt64Bits(net.RateBytesPerSecond(j)));
                }
            }

            while (net.Active > 0)
            {
                long t = net.NextEventTime();
                Assert.Equal(general.NextEventTime(), t);
                done.Clear();
                generalDone.Clear();
                net.Advance(t, done);
                general.Advance(t, generalDone);
                Assert.Equal(generalDone, done);
            }

            Assert.Equal(0, general.Active);
            Assert.Equal(0, general.FastFills);
            fills += net.Fills;
            fastFills += net.FastFills;
        }, seed: "0N0XIzNsQ0O2", iter: 3000, threads: 1);

        // Both paths were exercised: the fast one mostly, the general loop from its first round in one filling in 20 or more.
        Assert.InRange(fastFills, fills / 10, fills - (fills / 20));
    }
}
