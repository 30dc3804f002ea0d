using Splitwise.Hardware;
using Splitwise.Models;
using Splitwise.Performance;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;
using Splitwise.Traces;

namespace Splitwise.Tests.Simulation;

/// <summary>An iteration time that is affine in the batch: easy to compute by hand.</summary>
internal sealed class AffineModel(long promptBase, long perPromptToken, long decodeBase, long perDecode, long mixedExtra = 0) : IPerformanceModel
{
    public long IterationNanoseconds(in BatchShape batch)
    {
        if (batch.IsEmpty)
        {
            return 0;
        }

        if (batch.Prompts == 0)
        {
            return decodeBase + (perDecode * batch.DecodeRequests);
        }

        long t = promptBase + (perPromptToken * batch.PromptTokens);
        return batch.DecodeRequests > 0 ? t + mixedExtra + (perDecode * batch.DecodeRequests) : t;
    }
}

internal static class SimKit
{
    public static MachineSpec Machine => Catalog.BuiltIn.Machine("dgx-h100");

    public static ModelSpec Llama => Catalog.BuiltIn.Model("llama2-70b");

    public static InstanceSpec Instance(IPerformanceModel perf, BatchLimits? limits = null, long? kvCapacity = null, long kvPerToken = 1, int index = 0) =>
        new($"test/{index}", Machine, index, 8, Llama, perf, kvCapacity ?? 1_000_000_000, kvPerToken, InstanceRoles.Mixed, limits ?? BatchLimits.Default);

    /// <summary>An instance running the vLLM personality with <paramref name="kvPerToken"/> bytes of KV per token (one by
    /// default; <paramref name="blocks"/> includes vLLM's null block), on machine <paramref name="index"/>.</summary>
    public static InstanceSpec VllmInstance(IPerformanceModel perf, int budget, int seqs, int blockSize, int blocks, bool caching = true, int threshold = 0, int index = 0,
        long kvPerToken = 1, InstanceRoles roles = InstanceRoles.Mixed) =>
        Instance(perf, null, (long)(blocks - 1) * blockSize * kvPerToken, kvPerToken, index) with
        {
            Roles = roles,
            Vllm = new VllmLimits(budget, seqs, blockSize, blocks, caching, threshold, blockSize * kvPerToken),
        };

    /// <summary>A trace from (arrival ns, input, output) triples; arrivals are rounded to 100 ns ticks.</summary>
    public static Trace Trace(params (long ArrivalNs, int Input, int Output)[] rows)
    {
        long[] ticks = new long[rows.Length];
        int[] inputs = new int[rows.Length], outputs = new int[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            ticks[i] = rows[i].ArrivalNs / 100;
            inputs[i] = rows[i].Input;
            outputs[i] = rows[i].Output;
        }

        return new Trace("test", DateTimeOffset.UnixEpoch, ticks, inputs, outputs, rows.Length);
    }

    /// <summary>A trace with a prefix hash chain per request.</summary>
    public static Trace ChainTrace(params (long ArrivalNs, int Input, int Output, long[] Chain)[] rows)
    {
        var offsets = new int[rows.Length + 1];
        var ids = new List<long>();
        for (int i = 0; i < rows.Length; i++)
        {
            ids.AddRange(rows[i].Chain);
            offsets[i + 1] = ids.Count;
        }

        Trace plain = Trace([.. rows.Select(r => (r.ArrivalNs, r.Input, r.Output))]);
        return new Trace("chains", DateTimeOffset.UnixEpoch, plain.ArrivalTicks.ToArray(), plain.InputTokens.ToArray(), plain.OutputTokens.ToArray(), rows.Length, offsets, [.. ids]);
    }

    /// <summary>A run: its summary and outcome, the recorder's counters, and every request's typed row in the order
    /// <c>requests.csv</c> lists them (with <c>csv: true</c>, the file's text too).</summary>
    public sealed record Result(SimulationSummary Summary, SimulationOutcome Outcome, SimulationRecorder Recorder, IReadOnlyList<RequestOutcome> Requests, string? RequestsCsv)
    {
        /// <summary>The request with trace row <paramref name="id"/>.</summary>
        public RequestOutcome Request(long id) => Requests.Single(r => r.Id == id);
    }

    public static Result Run(Trace trace, IReadOnlyList<InstanceSpec> instances, string scheduler = "token-jsq", long horizon = long.MaxValue, bool csv = false) =>
        Run(trace, instances, ClusterScheduler.Create(scheduler, instances.Count), null, horizon, csv);

    /// <summary>Runs <paramref name="instances"/> (a Splitwise cluster with its <paramref name="transfers"/>) over <paramref name="trace"/>.</summary>
    public static Result Run(Trace trace, IReadOnlyList<InstanceSpec> instances, ClusterScheduler scheduler, ClusterKvTransfers? transfers, long horizon = long.MaxValue, bool csv = false)
    {
        string? dir = csv ? Directory.CreateTempSubdirectory("sim-test").FullName : null;
        try
        {
            var requests = new List<RequestOutcome>();
            using var recorder = new SimulationRecorder(dir is null ? null : Path.Combine(dir, "requests.csv")) { RequestObserver = requests.Add };
            var sim = new Simulator(instances, scheduler, recorder, new SimulatorOptions(horizon), transfers);
            SimulationOutcome outcome = sim.Run(ArrivalSource.FromTrace(trace), cancellationToken: TestContext.Current.CancellationToken);
            recorder.Commit();
            var summary = SimulationSummary.Create("test", trace.Name, "llama2-70b", "test", scheduler.Name, instances.Count, recorder, outcome);
            string? text = dir is null ? null : File.ReadAllText(Path.Combine(dir, "requests.csv"));
            return new Result(summary, outcome, recorder, requests, text);
        }
        finally
        {
            if (dir is not null)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
