using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Reports;
using Splitwise.Simulation;

namespace Splitwise.Tests.Simulation;

public class SimulationTimelineTests
{
    private const long S = 1_000_000_000;

    private static InstanceSpec[] Instances(int n) =>
        [.. Enumerable.Range(0, n).Select(i => SimKit.Instance(new AffineModel(1, 1, 1, 1), index: i, kvCapacity: 1000))];

    [Fact]
    public void Counts_land_in_their_bucket_and_merge_when_the_width_doubles()
    {
        var t = new SimulationTimeline(Instances(1), buckets: 4, initialBucketNs: S);
        t.OnArrival(S / 2);
        t.OnArrival(3 * S / 2);
        Assert.Equal(S, t.BucketNs);
        t.OnArrival(11 * S / 2); // 5.5 s: past 4 × 1 s, the width doubles to 2 s

        SimulationTimelineData d = t.Snapshot(6 * S);

        Assert.Equal(2 * S, d.BucketNs);
        Assert.Equal([2L, 0, 1], d.Arrivals);
        Assert.Equal(3, d.Count);
    }

    [Fact]
    public void Gauges_are_time_weighted_means_over_each_bucket()
    {
        var t = new SimulationTimeline(Instances(2), buckets: 8, initialBucketNs: S);
        t.OnIterationStart(0, 0, requests: 4, tokens: 100, newPrompts: 0, kvBytes: 500);
        t.OnIterationStart(S / 2, 0, requests: 0, tokens: 0, newPrompts: 0, kvBytes: 0); // idle after half a second
        t.OnIterationStart(S, 1, requests: 2, tokens: 2, newPrompts: 0, kvBytes: 250);

        SimulationTimelineData d = t.Snapshot(2 * S);

        Assert.Equal(["all"], d.Pools);
        Assert.Equal([2], d.PoolInstances);
        Assert.Equal(2000L, d.PoolKvCapacityBytes[0]);
        Assert.Equal([2.0, 2.0], d.BatchRequests[0]); // 4 for half of bucket 0; instance 1's 2 for all of bucket 1
        Assert.Equal([50.0, 2.0], d.BatchTokens[0]);
        Assert.Equal([250.0, 250.0], d.KvBytes[0]);
        // Per instance: 500 for half of bucket 0, then none; instance 1's 250 from 1 s.
        Assert.Equal(["test/0", "test/1"], d.Instances);
        Assert.Equal([1000L, 1000], d.InstanceKvCapacityBytes);
        Assert.Equal([250.0, 0], d.InstanceKvBytes[0]);
        Assert.Equal([0.0, 250], d.InstanceKvBytes[1]);
    }

    [Fact]
    public void Per_instance_kv_survives_widening_and_the_report_draws_the_spread_of_a_large_cluster()
    {
        var t = new SimulationTimeline(Instances(14), buckets: 2, initialBucketNs: S);
        for (int i = 0; i < 14; i++)
        {
            t.OnIterationStart(0, i, requests: 1, tokens: 1, newPrompts: 0, kvBytes: 10 * i);
        }

        t.OnIterationStart(3 * S, 13, requests: 0, tokens: 0, newPrompts: 0, kvBytes: 0); // width 2 s by now: bucket 1
        SimulationTimelineData d = t.Snapshot(4 * S);

        Assert.Equal(2 * S, d.BucketNs);
        Assert.Equal([130.0, 65], d.InstanceKvBytes[13]); // 130 for 3 s of 4
        Assert.Equal([70.0, 70], d.InstanceKvBytes[7]);
        Figure f = SimulationFigures.InstanceKv(d, [0, 2], "s");
        Assert.Equal(["most used instance", "median instance", "least used instance"], f.Series.Select(x => x.Label));
        Assert.Equal([13.0, 12], f.Series[0].Y); // % of 1000: instance 13 then instance 12
        Assert.Equal([6.5, 6.25], f.Series[1].Y); // between instances 6 and 7; then between 6 and instance 13's 6.5
        Assert.Equal([0.0, 0], f.Series[2].Y);
    }

    [Fact]
    public void Gauge_means_survive_the_buckets_widening_and_changes_count_from_their_instant()
    {
        var t = new SimulationTimeline(Instances(1), buckets: 4, initialBucketNs: S);
        t.OnIterationStart(0, 0, requests: 2, tokens: 2, newPrompts: 0, kvBytes: 0);
        t.OnIterationStart(5 * S, 0, requests: 6, tokens: 6, newPrompts: 0, kvBytes: 0); // after one widening (width 2 s)
        t.OnIterationStart(15 * S / 2, 0, requests: 0, tokens: 0, newPrompts: 0, kvBytes: 0); // after a second (width 4 s)

        SimulationTimelineData d = t.Snapshot(12 * S);

        Assert.Equal(4 * S, d.BucketNs);
        // [0, 4): 2; [4, 8): 2 for 1 s, 6 for 2.5 s, 0 for 0.5 s; [8, 12): 0.
        Assert.Equal([2.0, (2 + 15) / 4.0, 0], d.BatchRequests[0]);
    }

    [Fact]
    public void The_last_bucket_averages_over_the_time_it_covers()
    {
        var t = new SimulationTimeline(Instances(1), mixedMachines: 0, buckets: 4, initialBucketNs: S);
        t.OnMixedPool(S, +1);

        SimulationTimelineData d = t.Snapshot(3 * S / 2);

        Assert.Equal([0.0, 1.0], d.MixedMachines!);
    }

    [Fact]
    public void Queued_and_running_follow_arrivals_prompt_starts_and_completions()
    {
        var t = new SimulationTimeline(Instances(1), buckets: 4, initialBucketNs: S);
        t.OnArrival(0);
        t.OnArrival(0);
        t.OnIterationStart(S, 0, requests: 2, tokens: 20, newPrompts: 2, kvBytes: 0);
        t.OnCompleted(2 * S);
        t.OnCompleted(2 * S);

        SimulationTimelineData d = t.Snapshot(3 * S);

        Assert.Equal([2.0, 0, 0], d.Queued);
        Assert.Equal([0.0, 2, 0], d.Running);
        Assert.Equal([0L, 0, 2], d.Completions);
    }

    private static SimulationSummary RunJob(ClusterConfig cluster, ArrivalSource arrivals, bool report) =>
        ClusterSimulation.Run(new SimulationJob(cluster with { Performance = PerformanceModelKind.Roofline }, arrivals, "poisson", null, Catalog.BuiltIn, null)
        {
            CollectReport = report,
        }, cancellationToken: TestContext.Current.CancellationToken);

    private static Splitwise.Traces.Trace Sizes => SimKit.Trace((0, 1000, 100), (0, 200, 20), (0, 3000, 5), (0, 50, 400));

    [Fact]
    public void A_run_with_the_timeline_counts_every_request_and_gives_the_same_results_as_without()
    {
        ClusterConfig cluster = ClusterConfig.ForDesign("baseline-h100", 3);
        SimulationSummary with = RunJob(cluster, new PoissonArrivals(Sizes, 20, 3000, -1, seed: 42), report: true);
        SimulationSummary without = RunJob(cluster, new PoissonArrivals(Sizes, 20, 3000, -1, seed: 42), report: false);

        SimulationTimelineData t = with.ReportData!.Timeline;
        Assert.Equal(3000, t.Arrivals.Sum());
        Assert.Equal(with.Finished, t.Completions.Sum());
        Assert.InRange(t.Count, 1, SimulationTimeline.DefaultBuckets);
        Assert.All(t.Queued.Concat(t.Running), v => Assert.True(v >= 0));
        Assert.Null(t.MixedMachines);
        Assert.All(t.KvBytes[0], v => Assert.InRange(v, 0, t.PoolKvCapacityBytes[0]));
        Assert.All(t.BatchRequests[0], v => Assert.InRange(v, 0, 3 * 512));
        Assert.Equal(without.Metrics, with.Metrics);
        Assert.Equal(without.Events, with.Events);
        Assert.Null(without.ReportData);
    }

    [Fact]
    public void A_splitwise_run_records_pools_and_borrowing_within_the_cluster()
    {
        ClusterConfig cluster = SplitwiseDesigns.Create("splitwise-hh", 1, 1);
        SimulationSummary s = RunJob(cluster, new PoissonArrivals(Sizes, 15, 2000, -1, seed: 3), report: true);

        SimulationTimelineData t = s.ReportData!.Timeline;
        Assert.Equal(["prompt", "token"], t.Pools);
        Assert.NotNull(t.MixedMachines);
        Assert.All(t.MixedMachines!, v => Assert.InRange(v, 0, 2));
        Assert.Equal(2000, t.Arrivals.Sum());
        Assert.Equal(s.Finished, t.Completions.Sum());
        Assert.Equal(SimulationReportData.CdfPercents.Length, s.ReportData.Quantiles["ttft_times"].Length);
    }

    [Fact]
    public void A_week_long_run_stays_within_the_bucket_budget()
    {
        // 0.005 req/s for 7 days: few requests, a long span.
        long week = 7L * 24 * 3600 * S;
        SimulationSummary s = RunJob(ClusterConfig.ForDesign("baseline-h100", 1), new PoissonArrivals(Sizes, 0.005, long.MaxValue, week, seed: 9), report: true);

        SimulationTimelineData t = s.ReportData!.Timeline;
        Assert.InRange(t.Count, SimulationTimeline.DefaultBuckets / 2, SimulationTimeline.DefaultBuckets);
        Assert.True(t.BucketNs * SimulationTimeline.DefaultBuckets >= t.EndNs);
        Assert.Equal(s.Requests, t.Arrivals.Sum());
    }
}
