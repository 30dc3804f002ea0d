using System.Globalization;
using System.Text;
using System.Text.Json;
using Splitwise.IO;

namespace Splitwise.Simulation;

/// <summary>Per-instance results for <c>instances.csv</c>.</summary>
public sealed record InstanceSummary(
    int Index, string Name, string Machine, string Gpu, int Gpus, string Roles, long Assigned, long Completed,
    long PromptTokens, long DecodeTokens, long Iterations, double BusySeconds, double PromptBusySeconds,
    double TokenBusySeconds, double Utilization, double EnergyKwh, long Evictions, int PeakBatch, long KvPeakBytes,
    long KvCapacityBytes);

/// <summary>
/// The results of a run: request counts, latency statistics (seconds), throughput, utilisation, energy and cost.
/// Written as <c>summary.json</c> and <c>summary.csv</c> (SplitwiseSim's <c>&lt;metric&gt;_&lt;stat&gt;</c> columns).
/// </summary>
public sealed record SimulationSummary
{
    public required string Design { get; init; }

    public required string Trace { get; init; }

    public required string Model { get; init; }

    public required string Performance { get; init; }

    public required string Scheduler { get; init; }

    public required int Machines { get; init; }

    public required int Instances { get; init; }

    public required long Requests { get; init; }

    public required long Finished { get; init; }

    public required long Unfinished { get; init; }

    public required long Rejected { get; init; }

    public required long NotArrived { get; init; }

    /// <summary>Simulated span from the first arrival to the end of the run, seconds.</summary>
    public required double SpanSeconds { get; init; }

    public required double ThroughputRps { get; init; }

    public required double OutputTokensPerSecond { get; init; }

    public required double MeanUtilization { get; init; }

    public required double EnergyKwh { get; init; }

    public required double AveragePowerKw { get; init; }

    public required double CostUsd { get; init; }

    /// <summary>Latency statistics in seconds by SplitwiseSim metric name (ttft_times, tbt_times, …).</summary>
    public required IReadOnlyDictionary<string, MetricStats> Metrics { get; init; }

    public required IReadOnlyList<InstanceSummary> InstanceDetails { get; init; }

    public required long Events { get; init; }

    public required int PeakInFlight { get; init; }

    public required double WallSeconds { get; init; }

    /// <summary>The vLLM engine's prefix cache and preemptions (null for the SplitwiseSim-style engine).</summary>
    public VllmEngineSummary? Vllm { get; init; }

    /// <summary>Quantiles and time series for the report, when the run collected them (not written to summary.json).</summary>
    public SimulationReportData? ReportData { get; init; }

    /// <summary>True when every request that arrived finished.</summary>
    public bool Complete => Unfinished == 0 && Rejected == 0 && NotArrived == 0;

    /// <summary>Metric names in output order: SplitwiseSim's four, then ours.</summary>
    public static IReadOnlyList<string> MetricNames { get; } =
        ["ttft_times", "tbt_times", "response_times", "queue_times", "tpot_times", "tbt_max_times", "kv_transfer_times", "second_token_times"];

    private static readonly string[] s_stats = ["mean", "std", "min", "max", "median", "p50", "p90", "p95", "p99", "p999", "geomean"];

    /// <summary>Builds the summary from the recorder and the engine's outcome.</summary>
    public static SimulationSummary Create(string design, string trace, string model, string performance, string scheduler,
        int machines, SimulationRecorder recorder, SimulationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(outcome);
        double span = Math.Max(outcome.EndNs, 1) / 1e9;
        var details = new List<InstanceSummary>();
        double energyJ = 0, utilSum = 0;
        for (int i = 0; i < outcome.Instances.Count; i++)
        {
            InstanceOutcome o = outcome.Instances[i];
            double prompt = o.PromptBusyNs / 1e9, token = o.TokenBusyNs / 1e9, busy = prompt + token;
            double idle = Math.Max(0, span - busy);
            var gpu = o.Spec.Machine.Gpu;
            double joules = o.Spec.Gpus * ((gpu.IdleWatts * idle) + (gpu.PromptWatts * prompt) + (gpu.TokenWatts * token));
            energyJ += joules;
            double util = busy / span;
            utilSum += util;
            details.Add(new InstanceSummary(i, o.Spec.Name, o.Spec.Machine.Name, gpu.Name, o.Spec.Gpus,
                o.Spec.Roles.ToString().ToLowerInvariant(), o.Assigned, o.Completed, o.PromptTokens, o.DecodeTokens, o.Iterations,
                busy, prompt, token, util, joules / 3.6e6, o.Evictions, o.PeakBatch, o.KvPeakBytes, o.Spec.KvCapacityBytes));
        }

        // Cost: every machine for the whole span, at its price.
        double cost = 0;
        foreach (IGrouping<int, InstanceOutcome> m in outcome.Instances.GroupBy(o => o.Spec.MachineIndex))
        {
            cost += m.First().Spec.Machine.DollarsPerHour * span / 3600;
        }

        var metrics = new Dictionary<string, MetricStats>
        {
            ["ttft_times"] = ToSeconds(recorder.Ttft.Compute()),
            ["tbt_times"] = ToSeconds(recorder.Tbt.Compute()),
            ["response_times"] = ToSeconds(recorder.E2e.Compute()),
            ["queue_times"] = ToSeconds(recorder.Queue.Compute()),
            ["tpot_times"] = ToSeconds(recorder.Tpot.Compute()),
            ["tbt_max_times"] = ToSeconds(recorder.TbtMax.Compute()),
            ["kv_transfer_times"] = ToSeconds(recorder.KvTransfer.Compute()),
            ["second_token_times"] = ToSeconds(recorder.SecondToken.Compute()),
        };

        return new SimulationSummary
        {
            Design = design,
            Trace = trace,
            Model = model,
            Performance = performance,
            Scheduler = scheduler,
            Machines = machines,
            Instances = outcome.Instances.Count,
            Requests = outcome.Arrived + outcome.NotArrived,
            Finished = recorder.Finished,
            Unfinished = recorder.Unfinished,
            Rejected = recorder.Rejected,
            NotArrived = outcome.NotArrived,
            SpanSeconds = span,
            ThroughputRps = recorder.Finished / span,
            OutputTokensPerSecond = recorder.OutputTokens / span,
            MeanUtilization = outcome.Instances.Count == 0 ? 0 : utilSum / outcome.Instances.Count,
            EnergyKwh = energyJ / 3.6e6,
            AveragePowerKw = energyJ / span / 1e3,
            CostUsd = cost,
            Metrics = metrics,
            InstanceDetails = details,
            Events = outcome.Events,
            PeakInFlight = outcome.PeakInFlight,
            WallSeconds = outcome.Wall.TotalSeconds,
            Vllm = outcome.Instances.Count > 0 && outcome.Instances[0].Spec.Vllm is not null ? VllmEngineSummary.Of(outcome.Instances) : null,
        };
    }

    private static MetricStats ToSeconds(MetricStats s) => s with
    {
        Mean = s.Mean / 1e9,
        Std = s.Std / 1e9,
        Min = s.Min / 1e9,
        Max = s.Max / 1e9,
        Median = s.Median / 1e9,
        P50 = s.P50 / 1e9,
        P90 = s.P90 / 1e9,
        P95 = s.P95 / 1e9,
        P99 = s.P99 / 1e9,
        P999 = s.P999 / 1e9,
        Geomean = s.Geomean / 1e9,
    };

    private static double Stat(MetricStats s, string stat) => stat switch
    {
        "mean" => s.Mean,
        "std" => s.Std,
        "min" => s.Min,
        "max" => s.Max,
        "median" => s.Median,
        "p50" => s.P50,
        "p90" => s.P90,
        "p95" => s.P95,
        "p99" => s.P99,
        "p999" => s.P999,
        "geomean" => s.Geomean,
        _ => throw new ArgumentOutOfRangeException(nameof(stat)),
    };

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The scalar columns of <c>summary.csv</c>, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> CsvColumns()
    {
        var columns = new List<KeyValuePair<string, string>>();
        foreach (string metric in MetricNames)
        {
            MetricStats s = Metrics[metric];
            foreach (string stat in s_stats)
            {
                columns.Add(new($"{metric}_{stat}", F(Stat(s, stat))));
            }
        }

        void Add(string k, string v) => columns.Add(new(k, v));
        Add("design", Design);
        Add("trace", Trace);
        Add("model", Model);
        Add("performance_model", Performance);
        Add("scheduler", Scheduler);
        Add("machines", Machines.ToString(CultureInfo.InvariantCulture));
        Add("instances", Instances.ToString(CultureInfo.InvariantCulture));
        Add("requests", Requests.ToString(CultureInfo.InvariantCulture));
        Add("finished", Finished.ToString(CultureInfo.InvariantCulture));
        Add("unfinished", Unfinished.ToString(CultureInfo.InvariantCulture));
        Add("rejected", Rejected.ToString(CultureInfo.InvariantCulture));
        Add("not_arrived", NotArrived.ToString(CultureInfo.InvariantCulture));
        Add("span_s", F(SpanSeconds));
        Add("throughput_rps", F(ThroughputRps));
        Add("output_tokens_per_s", F(OutputTokensPerSecond));
        Add("mean_utilization", F(MeanUtilization));
        Add("energy_kwh", F(EnergyKwh));
        Add("average_power_kw", F(AveragePowerKw));
        Add("cost_usd", F(CostUsd));
        Add("percentiles_exact", Metrics["ttft_times"].Exact ? "true" : "false");
        return columns;
    }

    /// <summary>Writes <c>summary.json</c>, <c>summary.csv</c> and <c>instances.csv</c> into a directory, atomically.</summary>
    public void WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        IReadOnlyList<KeyValuePair<string, string>> columns = CsvColumns();
        AtomicFile.WriteText(Path.Combine(directory, "summary.csv"), w =>
        {
            w.Write(string.Join(",", columns.Select(c => c.Key)));
            w.Write('\n');
            w.Write(string.Join(",", columns.Select(c => Csv(c.Value))));
            w.Write('\n');
        });
        AtomicFile.Write(Path.Combine(directory, "summary.json"), WriteJson);
        AtomicFile.WriteText(Path.Combine(directory, "instances.csv"), w =>
        {
            w.Write("instance,name,machine,gpu,gpus,roles,assigned,completed,prompt_tokens,decode_tokens,iterations,busy_s,prompt_busy_s,token_busy_s,utilization,energy_kwh,evictions,peak_batch,kv_peak_bytes,kv_capacity_bytes\n");
            foreach (InstanceSummary i in InstanceDetails)
            {
                w.Write(string.Create(CultureInfo.InvariantCulture,
                    $"{i.Index},{i.Name},{i.Machine},{i.Gpu},{i.Gpus},{i.Roles},{i.Assigned},{i.Completed},{i.PromptTokens},{i.DecodeTokens},{i.Iterations},{F(i.BusySeconds)},{F(i.PromptBusySeconds)},{F(i.TokenBusySeconds)},{F(i.Utilization)},{F(i.EnergyKwh)},{i.Evictions},{i.PeakBatch},{i.KvPeakBytes},{i.KvCapacityBytes}\n"));
            }
        });
    }

    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>The JSON document of <c>summary.json</c> (deterministic: no wall-clock fields).</summary>
    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("design", Design);
        w.WriteString("trace", Trace);
        w.WriteString("model", Model);
        w.WriteString("performance_model", Performance);
        w.WriteString("scheduler", Scheduler);
        w.WriteNumber("machines", Machines);
        w.WriteNumber("instances", Instances);
        w.WriteStartObject("requests");
        w.WriteNumber("total", Requests);
        w.WriteNumber("finished", Finished);
        w.WriteNumber("unfinished", Unfinished);
        w.WriteNumber("rejected", Rejected);
        w.WriteNumber("not_arrived", NotArrived);
        w.WriteBoolean("all_finished", Complete);
        w.WriteEndObject();
        w.WriteNumber("span_s", SpanSeconds);
        w.WriteStartObject("throughput");
        w.WriteNumber("requests_per_s", ThroughputRps);
        w.WriteNumber("output_tokens_per_s", OutputTokensPerSecond);
        w.WriteEndObject();
        w.WriteNumber("mean_utilization", MeanUtilization);
        w.WriteNumber("energy_kwh", EnergyKwh);
        w.WriteNumber("average_power_kw", AveragePowerKw);
        w.WriteNumber("cost_usd", CostUsd);
        w.WriteStartObject("metrics_s");
        foreach (string metric in MetricNames)
        {
            MetricStats s = Metrics[metric];
            w.WriteStartObject(metric);
            w.WriteNumber("count", s.Count);
            foreach (string stat in s_stats)
            {
                double v = Stat(s, stat);
                if (double.IsNaN(v))
                {
                    w.WriteNull(stat);
                }
                else
                {
                    w.WriteNumber(stat, v);
                }
            }

            w.WriteBoolean("exact", s.Exact);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteNumber("events", Events);
        w.WriteNumber("peak_requests_in_flight", PeakInFlight);
        if (Vllm is { } vllm)
        {
            w.WriteStartObject("vllm");
            w.WriteNumber("admissions", vllm.Admissions);
            w.WriteNumber("preemptions_recompute", vllm.Preemptions);
            w.WriteNumber("prefix_query_tokens", vllm.QueryTokens);
            w.WriteNumber("prefix_hit_tokens", vllm.HitTokens);
            w.WriteNumber("prefix_token_hit_rate", vllm.TokenHitRate);
            w.WriteNumber("prefix_hit_requests", vllm.HitRequests);
            w.WriteNumber("prefix_request_hit_rate", vllm.RequestHitRate);
            w.WriteNumber("cached_blocks_evicted", vllm.CacheEvictions);
            if (vllm.PhaseSplit)
            {
                w.WriteNumber("kv_receives", vllm.KvReceives);
                w.WriteNumber("kv_received_tokens", vllm.KvReceivedTokens);
                w.WriteNumber("kv_decode_local_hit_tokens", vllm.KvLocalHitTokens);
                w.WriteNumber("kv_send_timeouts", vllm.KvSendTimeouts);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>A short human-readable table for the terminal.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        string engine = Vllm is null ? "" : " · vLLM V1 engine";
        sb.Append(ci, $"{Design} · {Machines} machines ({Instances} instances) · {Model} · {Performance} model · {Scheduler}{engine}\n");
        sb.Append(ci, $"trace {Trace}: {Requests} requests, {Finished} finished, {Unfinished} unfinished, {Rejected} rejected, {NotArrived} not arrived\n");
        sb.Append("metric (s)        mean      p50      p90      p99    p99.9      max\n");
        foreach ((string label, string key) in new[] { ("TTFT", "ttft_times"), ("TBT", "tbt_times"), ("TPOT", "tpot_times"), ("TBT max", "tbt_max_times"), ("E2E", "response_times"), ("queue", "queue_times") })
        {
            MetricStats s = Metrics[key];
            sb.Append(ci, $"{label,-12}{s.Mean,9:F3}{s.P50,9:F3}{s.P90,9:F3}{s.P99,9:F3}{s.P999,9:F3}{s.Max,9:F3}\n");
        }

        sb.Append(ci, $"throughput {ThroughputRps:F2} req/s, {OutputTokensPerSecond:F0} output tok/s over {SpanSeconds:F1} s; utilisation {MeanUtilization:P1}\n");
        sb.Append(ci, $"energy {EnergyKwh:F1} kWh (avg {AveragePowerKw:F1} kW GPU power), cost ${CostUsd:F2}\n");
        if (Vllm is { } vllm)
        {
            sb.Append(ci, $"vLLM engine: prefix cache hit {vllm.TokenHitRate:P1} of tokens ({vllm.HitTokens:N0} of {vllm.QueryTokens:N0}), {vllm.RequestHitRate:P1} of requests; {vllm.Preemptions:N0} preemptions by recompute; {vllm.CacheEvictions:N0} cached blocks evicted\n");
            if (vllm.PhaseSplit)
            {
                sb.Append(ci, $"P/D: {vllm.KvReceives:N0} KV caches moved to decode instances, {vllm.KvReceivedTokens:N0} tokens pulled, {vllm.KvLocalHitTokens:N0} found in the decode side's own cache; {vllm.KvSendTimeouts:N0} not read within the 480-s timeout (recomputed)\n");
            }
        }

        if (!Complete)
        {
            sb.Append(ci, $"WARNING: {Unfinished + Rejected + NotArrived} requests did not finish (unfinished {Unfinished}, rejected {Rejected}, not arrived {NotArrived}) — the cluster is overloaded or the horizon cut the run\n");
        }

        return sb.ToString();
    }
}

/// <summary>The vLLM engine's prefix cache and preemptions over a run, summed over instances.</summary>
/// <param name="Admissions">Requests taken from a waiting queue (first admissions and re-admissions after a preemption).</param>
/// <param name="Preemptions">Preemptions by recompute.</param>
/// <param name="QueryTokens">Tokens looked up in the prefix cache at admissions.</param>
/// <param name="HitTokens">Tokens found there.</param>
/// <param name="HitRequests">Requests whose first admission found part of their prompt cached.</param>
/// <param name="CacheEvictions">Cached blocks evicted (LRU) to make room.</param>
/// <param name="Requests">Requests admitted at least once.</param>
public sealed record VllmEngineSummary(long Admissions, long Preemptions, long QueryTokens, long HitTokens, long HitRequests, long CacheEvictions, long Requests)
{
    /// <summary>True for a phase-split (P/D) cluster: prefill and decode instances.</summary>
    public bool PhaseSplit { get; init; }

    /// <summary>P/D: requests whose KV cache a decode instance received.</summary>
    public long KvReceives { get; init; }

    /// <summary>P/D: KV tokens pulled from prefill instances.</summary>
    public long KvReceivedTokens { get; init; }

    /// <summary>P/D: received requests' prompt tokens the decode instance had cached itself (not pulled).</summary>
    public long KvLocalHitTokens { get; init; }

    /// <summary>P/D: prompts whose KV no decode instance read within the abort timeout (recomputed there).</summary>
    public long KvSendTimeouts { get; init; }

    /// <summary>Hit tokens over looked-up tokens (0 when nothing was looked up).</summary>
    public double TokenHitRate => QueryTokens == 0 ? 0 : (double)HitTokens / QueryTokens;

    /// <summary>Requests with a hit over the requests admitted at least once.</summary>
    public double RequestHitRate => Requests <= 0 ? 0 : (double)HitRequests / Requests;

    internal static VllmEngineSummary Of(IReadOnlyList<InstanceOutcome> instances) => new(
        instances.Sum(o => o.Admissions), instances.Sum(o => o.Evictions), instances.Sum(o => o.PrefixQueryTokens),
        instances.Sum(o => o.PrefixHitTokens), instances.Sum(o => o.PrefixHitRequests), instances.Sum(o => o.CacheEvictions),
        instances.Sum(o => o.FirstAdmissions))
    {
        PhaseSplit = instances.Any(o => o.Spec.Roles != InstanceRoles.Mixed),
        KvReceives = instances.Sum(o => o.KvReceives),
        KvReceivedTokens = instances.Sum(o => o.KvReceivedTokens),
        KvLocalHitTokens = instances.Sum(o => o.KvLocalHitTokens),
        KvSendTimeouts = instances.Sum(o => o.KvSendTimeouts),
    };
}
