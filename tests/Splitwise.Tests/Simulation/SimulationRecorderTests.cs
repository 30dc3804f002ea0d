using System.Globalization;
using Splitwise.Designs;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Tests.Simulation;

/// <summary>
/// <c>requests.csv</c> is the recorder's typed rows, formatted: the one test of the writer (the engine tests read the
/// typed rows; the golden files under <c>Fixtures/</c> pin the exact bytes).
/// </summary>
public class SimulationRecorderTests
{
    [Fact]
    public void Requests_csv_has_one_row_per_typed_outcome_with_every_cell_formatted_from_it()
    {
        // Two tight instances and a horizon: finished, rejected (input + output > 8000) and unfinished requests.
        var rng = new Random(3);
        long t = 0;
        var rows = new List<(long, int, int)>();
        for (int i = 0; i < 300; i++)
        {
            t += rng.Next(0, 8_000_000);
            rows.Add((t, i % 30 == 7 ? 9000 : rng.Next(1, 5000), i % 25 == 0 ? 1 : rng.Next(2, 200)));
        }

        var perf = new AffineModel(2_000_000, 3_000, 9_000_000, 50_000, 700_000);
        var instances = Enumerable.Range(0, 2).Select(i => SimKit.Instance(perf, new BatchLimits(16, 2048, 2), 8000, 1, i)).ToArray();
        SimKit.Result result = SimKit.Run(SimKit.Trace([.. rows]), instances, horizon: 2_000_000_000, csv: true);
        Assert.Contains(result.Requests, r => r.Status == RequestStatus.Rejected);
        Assert.Contains(result.Requests, r => r.Status == RequestStatus.Unfinished && r.TtftNs >= 0);
        Assert.Contains(result.Requests, r => r.Status == RequestStatus.Unfinished && r.QueueNs < 0);
        Assert.Contains(result.Requests, r => r.Status == RequestStatus.Done && r.OutputTokens == 1);
        Assert.Contains(result.Requests, r => r.Preemptions > 0);
        AssertRowsMatch(result);

        // A Splitwise cluster: the KV-transfer and second-token columns.
        var split = Enumerable.Range(0, 2).Select(i =>
            SimKit.Instance(perf, null, 1L << 40, SimKit.Llama.KvBytesPerToken(), i) with { Roles = i == 0 ? InstanceRoles.Prompt : InstanceRoles.Token }).ToArray();
        (IReadOnlyList<InstanceSpec> specs, SplitwiseScheduler scheduler, ClusterKvTransfers transfers) = SplitwiseDesigns.Build(split);
        SimKit.Result splitRun = SimKit.Run(SimKit.Trace([.. rows.Take(40)]), specs, scheduler, transfers, csv: true);
        Assert.Contains(splitRun.Requests, r => r.KvTransferNs > 0 && r.SecondTokenNs > r.KvTransferNs);
        AssertRowsMatch(splitRun);
    }

    private static void AssertRowsMatch(SimKit.Result result)
    {
        string[] lines = result.RequestsCsv!.Split('\n');
        Assert.Equal(SimulationRecorder.RequestsHeader, lines[0]);
        Assert.Equal("", lines[^1]); // every row ends with a newline
        Assert.Equal(result.Requests.Count, lines.Length - 2);
        for (int i = 0; i < result.Requests.Count; i++)
        {
            RequestOutcome r = result.Requests[i];
            string status = r.Status switch
            {
                RequestStatus.Done => "done",
                RequestStatus.Rejected => "rejected",
                _ => "unfinished",
            };
            string[] expected =
            [
                Int(r.Id), Seconds(r.ArrivalNs), Int(r.InputTokens), Int(r.OutputTokens), Int(r.PromptInstance), Int(r.TokenInstance), status,
                Seconds(r.QueueNs), Seconds(r.TtftNs), Seconds(r.E2eNs), Seconds(r.TbtNs), Seconds(r.TpotNs), Seconds(r.TbtMaxNs),
                Int(r.Preemptions), Seconds(r.KvTransferNs), Seconds(r.SecondTokenNs), Int(r.CachedTokens),
            ];
            Assert.Equal(string.Join(',', expected), lines[i + 1]);
            if (r.Finished)
            {
                // The derived columns, recomputed: SplitwiseSim's TBT over all output tokens, TPOT over the gaps.
                Assert.Equal(Math.Round((double)(r.E2eNs - r.TtftNs) / r.OutputTokens), r.TbtNs);
                Assert.Equal(r.OutputTokens > 1 ? Math.Round((double)(r.E2eNs - r.TtftNs) / (r.OutputTokens - 1)) : -1, r.TpotNs);
            }
        }
    }

    private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

    // Independent of the writer's integer formatting: decimal division, nine places; −1 (none) is an empty cell.
    private static string Seconds(long ns) => ns < 0 ? "" : (ns / 1_000_000_000m).ToString("0.000000000", CultureInfo.InvariantCulture);
}
