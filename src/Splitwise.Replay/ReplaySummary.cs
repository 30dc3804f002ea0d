using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Splitwise.Designs;

namespace Splitwise.Replay;

/// <summary>One SLO's verdict: the measured percentile against its target.</summary>
/// <param name="Key">The SLO's name, e.g. <c>ttft_p99</c>.</param>
/// <param name="Kind"><c>absolute</c> or <c>slowdown</c> (vs the request alone on an idle DGX-A100).</param>
/// <param name="Target">The target as written: <c>2s</c>, <c>6x</c>.</param>
/// <param name="ThresholdMs">An absolute target in ms; null for a slowdown.</param>
/// <param name="MeasuredMs">The measured percentile in ms for an absolute SLO; null for a slowdown, or when failed
/// requests (which count as infinitely slow) reach the percentile.</param>
/// <param name="Value">The measured percentile in the target's unit (ms, or a slowdown factor); null when failed
/// requests reach it.</param>
/// <param name="Ratio">Value ÷ target (≤ 1 meets it); null when failed requests reach it.</param>
/// <param name="Met">The percentile is within the target.</param>
/// <param name="Count">Values the percentile was taken over: requests sent, or gaps for ITL.</param>
/// <param name="Population"><c>requests</c> or <c>gaps</c>.</param>
public sealed record SloVerdict(string Key, string Kind, string Target, double? ThresholdMs, double? MeasuredMs, double? Value, double? Ratio, bool Met, int Count, string Population);

/// <summary>The result of a replay run, written as <c>summary.json</c>.</summary>
public sealed record ReplaySummary
{
    public required string Trace { get; init; }

    public required string Endpoint { get; init; }

    public required string Model { get; init; }

    public required string Api { get; init; }

    public required string Tokenizer { get; init; }

    public double Speedup { get; init; }

    public int MaxConcurrency { get; init; }

    /// <summary>The in-flight cap used: --max-concurrency, or the open-file limit when that was unlimited (0 = none).</summary>
    public int EffectiveConcurrency { get; init; }

    public bool Interrupted { get; init; }

    /// <summary>Warm-up requests answered by the in-process loopback endpoint (the client's own code paths; 0 with
    /// <c>--no-warmup</c>).</summary>
    public int WarmupLoopbackRequests { get; init; }

    /// <summary>Warm-up requests sent to the target before the run (not measured).</summary>
    public int WarmupTargetRequests { get; init; }

    /// <summary>Of those, how many failed.</summary>
    public int WarmupTargetFailed { get; init; }

    public int RequestsPlanned { get; init; }

    public int RequestsSent { get; init; }

    public int Completed { get; init; }

    public int Failed { get; init; }

    /// <summary>Requests whose first attempt failed before any response byte and were sent once more on a fresh
    /// connection (whatever the second attempt gave).</summary>
    public int Retried { get; init; }

    /// <summary>Failure counts by reason (<c>http_500</c>, <c>timeout</c>, <c>connection_reset</c>, ...), sorted by reason.</summary>
    public required SortedDictionary<string, int> Failures { get; init; }

    /// <summary>Failed requests as a percentage of those sent (0 when none was sent).</summary>
    public double FailedPercent => RequestsSent > 0 ? 100.0 * Failed / RequestsSent : 0;

    /// <summary>Scheduled span of the sends, seconds.</summary>
    public double ScheduleSeconds { get; init; }

    /// <summary>First send → last completion, seconds.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>Sends per second actually achieved: (sent − 1) / (last send − first send), the load really offered.</summary>
    public double OfferedRps { get; init; }

    public double RequestThroughputRps { get; init; }

    public double OutputTokenThroughputTps { get; init; }

    public double InputTokenThroughputTps { get; init; }

    /// <summary>Prompts whose re-encoded length equals the trace's input tokens.</summary>
    public int ExactInputPrompts { get; init; }

    public double ExactInputRate { get; init; }

    /// <summary>What the start-up calibration found the server adds to prompts; null when it did not run.</summary>
    public ServerCalibration? Calibration { get; init; }

    /// <summary>The server's <c>prompt_tokens</c> ÷ the trace's input tokens over the successful requests that reported
    /// usage (1 everywhere when every prompt was exact); null when none did.</summary>
    public RatioStats? PromptCountRatio { get; init; }

    /// <summary>Successful requests whose <c>usage.prompt_tokens</c> differed from the trace's input tokens.</summary>
    public int PromptTokenMismatches { get; init; }

    /// <summary>Successful requests whose <c>usage.completion_tokens</c> differed from the trace's output tokens.</summary>
    public int OutputTokenMismatches { get; init; }

    /// <summary>The run's prefix seed (every prompt unique to the run from its first token); null with
    /// <c>--allow-prefix-reuse</c>.</summary>
    public ulong? PrefixSeed { get; init; }

    /// <summary>Successful requests whose usage reported <c>prompt_tokens_details.cached_tokens</c>.</summary>
    public int CachedTokensReported { get; init; }

    /// <summary>Of those, requests with at least one cached prompt token (a prefix-cache hit).</summary>
    public int PrefixCacheHits { get; init; }

    /// <summary>Sum of <c>cached_tokens</c> over the requests that reported it.</summary>
    public long CachedPromptTokens { get; init; }

    /// <summary><see cref="CachedPromptTokens"/> ÷ the server's <c>prompt_tokens</c> of the same requests; null when
    /// no request reported it.</summary>
    public double? CachedTokenRate { get; init; }

    /// <summary>Successful requests without a usage chunk (counts then come from content chunks).</summary>
    public int MissingUsage { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LatencyStats? SendLagMs { get; init; }

    /// <summary>Garbage collections in the client during the run (every collection pauses the dispatcher too).</summary>
    public int ClientGcCollections { get; init; }

    /// <summary>Managed memory the client allocated during the run, MB (what drives its collections).</summary>
    public double ClientAllocatedMb { get; init; }

    /// <summary>Of those, full (generation 2) collections — the long pauses.</summary>
    public int ClientGen2Collections { get; init; }

    /// <summary>Total time the client's threads were paused by garbage collection during the run, ms.</summary>
    public double ClientGcPauseMs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LatencyStats? TtftMs { get; init; }

    /// <summary>Inter-token latency over all gaps between content chunks of all requests.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LatencyStats? ItlMs { get; init; }

    /// <summary>Per-request TPOT = (E2E − TTFT) / (output tokens − 1).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LatencyStats? TpotMs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LatencyStats? E2eMs { get; init; }

    /// <summary>The SLO set as <c>--slo</c> text; empty without <c>--slo</c>.</summary>
    public string Slo { get; init; } = "";

    /// <summary>True when every SLO is met; null without <c>--slo</c>.</summary>
    public bool? SloAllPass { get; init; }

    /// <summary>The per-request bounds a good request meets (<see cref="SloReport.GoodputRule"/>): the explicit bounds
    /// of <c>--slo</c> (<c>ttft=2s</c>), else the loosest target of each of TTFT, TBT (TPOT) and E2E.</summary>
    public string? GoodputRule { get; init; }

    /// <summary>Requests per second (of <see cref="DurationSeconds"/>) that completed within <see cref="GoodputRule"/>.</summary>
    public double? GoodputRps { get; init; }

    public int? GoodRequests { get; init; }

    /// <summary>Good requests ÷ requests sent.</summary>
    public double? SloAttainment { get; init; }

    public IReadOnlyList<SloVerdict> SloVerdicts { get; init; } = [];

    /// <summary>Builds the summary from the rows of a run.</summary>
    public static ReplaySummary Build(ReplayOptions options, string traceName, IReadOnlyList<RequestResult?> rows, bool interrupted, double scheduleSeconds)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rows);
        var failures = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var lag = new List<long>();
        var ttft = new List<long>();
        var itl = new List<long>();
        var tpot = new List<long>();
        var e2e = new List<long>();
        var promptRatio = new List<double>();
        int sent = 0, retried = 0, completed = 0, exact = 0, promptMismatch = 0, outputMismatch = 0, missingUsage = 0;
        long outputTokens = 0, inputTokens = 0, cachedTokens = 0, cachedOf = 0;
        int cachedReported = 0, cacheHits = 0;
        long firstSend = long.MaxValue, lastSend = long.MinValue, lastEnd = long.MinValue;
        foreach (RequestResult? r in rows)
        {
            if (r is null)
            {
                continue;
            }

            sent++;
            retried += r.Retried ? 1 : 0;
            lag.Add(r.SendLagNs);
            if (r.IsExactInput)
            {
                exact++;
            }

            firstSend = Math.Min(firstSend, r.SentNs);
            lastSend = Math.Max(lastSend, r.SentNs);
            if (!r.Succeeded)
            {
                failures[r.Error!] = failures.GetValueOrDefault(r.Error!) + 1;
                continue;
            }

            completed++;
            lastEnd = Math.Max(lastEnd, r.SentNs + r.E2eNs);
            ttft.Add(r.TtftNs);
            e2e.Add(r.E2eNs);
            itl.AddRange(r.ItlNs);
            long tp = r.TpotNs;
            if (tp >= 0)
            {
                tpot.Add(tp);
            }

            outputTokens += r.CompletionTokens;
            inputTokens += r.UsagePromptTokens >= 0 ? r.UsagePromptTokens : r.PromptTokensEncoded;
            if (r.UsageCompletionTokens < 0)
            {
                missingUsage++;
            }

            if (r.UsageCachedTokens >= 0)
            {
                cachedReported++;
                cacheHits += r.UsageCachedTokens > 0 ? 1 : 0;
                cachedTokens += r.UsageCachedTokens;
                cachedOf += Math.Max(r.UsagePromptTokens, 0);
            }

            if (r.OutputMismatch)
            {
                outputMismatch++;
            }

            if (r.UsagePromptTokens >= 0 && r.UsagePromptTokens != r.InputTokens)
            {
                promptMismatch++;
            }

            if (r.UsagePromptTokens >= 0 && r.InputTokens > 0)
            {
                promptRatio.Add((double)r.UsagePromptTokens / r.InputTokens);
            }
        }

        double duration = completed > 0 ? (lastEnd - firstSend) / 1e9 : 0;
        long[] itlArray = [.. itl];
        long[] ttftArray = [.. ttft];
        long[] tpotArray = [.. tpot];
        long[] e2eArray = [.. e2e];
        var summary = new ReplaySummary
        {
            Trace = traceName,
            Endpoint = options.Endpoint.ToString(),
            Model = options.Model,
            Api = options.Api == OpenAiApi.Chat ? "chat" : "completions",
            Tokenizer = options.Tokenizer,
            Speedup = options.Speedup,
            MaxConcurrency = options.MaxConcurrency,
            MaxFailedPercent = options.MaxFailedPercent,
            Interrupted = interrupted,
            RequestsPlanned = rows.Count,
            RequestsSent = sent,
            Completed = completed,
            Failed = sent - completed,
            Retried = retried,
            Failures = failures,
            ScheduleSeconds = scheduleSeconds,
            DurationSeconds = duration,
            OfferedRps = sent > 1 && lastSend > firstSend ? (sent - 1) / ((lastSend - firstSend) / 1e9) : 0,
            RequestThroughputRps = duration > 0 ? completed / duration : 0,
            OutputTokenThroughputTps = duration > 0 ? outputTokens / duration : 0,
            InputTokenThroughputTps = duration > 0 ? inputTokens / duration : 0,
            ExactInputPrompts = exact,
            ExactInputRate = sent > 0 ? (double)exact / sent : 0,
            PromptTokenMismatches = promptMismatch,
            OutputTokenMismatches = outputMismatch,
            MissingUsage = missingUsage,
            PromptCountRatio = RatioStats.Of(promptRatio),
            CachedTokensReported = cachedReported,
            PrefixCacheHits = cacheHits,
            CachedPromptTokens = cachedTokens,
            CachedTokenRate = cachedReported > 0 && cachedOf > 0 ? (double)cachedTokens / cachedOf : null,
            SendLagMs = LatencyStats.OrNull(lag.ToArray()),
            TtftMs = LatencyStats.OrNull(ttftArray),
            ItlMs = LatencyStats.OrNull(itlArray),
            TpotMs = LatencyStats.OrNull(tpotArray),
            E2eMs = LatencyStats.OrNull(e2eArray),
        };
        return options.Slo is null ? summary : WithSlo(summary, options.Slo, options.SloReference, rows, duration);
    }

    /// <summary>Judges <paramref name="slos"/> on the sent requests with the same evaluator as <c>simulate</c>: a
    /// failed request counts as infinitely slow (it is in every percentile's population and never good).</summary>
    private static ReplaySummary WithSlo(ReplaySummary summary, SloSet slos, ISloReference? reference, IReadOnlyList<RequestResult?> rows, double duration)
    {
        if (slos.NeedsIdealLatency && reference is null)
        {
            throw new ArgumentException("slowdown SLOs need ReplayOptions.SloReference (the idle reference machine's latencies)", nameof(slos));
        }

        int n = 0, gapCount = 0;
        foreach (RequestResult? r in rows)
        {
            if (r is not null)
            {
                n++;
                gapCount += r.Succeeded ? r.ItlNs.Length : 0;
            }
        }

        int[] prompts = new int[n], outputs = new int[n], gapStart = new int[n + 1];
        long[] ttft = new long[n], e2e = new long[n], gaps = new long[gapCount];
        int k = 0, g = 0;
        foreach (RequestResult? r in rows)
        {
            if (r is null)
            {
                continue;
            }

            prompts[k] = r.InputTokens;
            outputs[k] = r.Succeeded ? r.CompletionTokens : r.OutputTokens;
            ttft[k] = r.Succeeded ? r.TtftNs : -1;
            e2e[k] = r.Succeeded ? r.E2eNs : -1;
            gapStart[k] = g;
            if (r.Succeeded)
            {
                r.ItlNs.CopyTo(gaps, g);
                g += r.ItlNs.Length;
            }

            k++;
        }

        gapStart[n] = g;
        var requests = new SloRequests(prompts, outputs, ttft, e2e) { GapNs = gaps, GapStart = gapStart };
        SloReport report = SloEvaluator.Evaluate(slos, requests, reference, duration);
        var verdicts = new List<SloVerdict>(report.Outcomes.Count);
        foreach (SloOutcome o in report.Outcomes)
        {
            bool absolute = o.Slo.Kind == SloKind.Absolute;
            double? value = double.IsFinite(o.Value) ? (absolute ? o.Value / 1e6 : o.Value) : null;
            verdicts.Add(new SloVerdict(o.Name, absolute ? "absolute" : "slowdown", o.Slo.TargetText,
                absolute ? o.Slo.Target / 1e6 : null, absolute ? value : null, value,
                double.IsFinite(o.Ratio) ? o.Ratio : null, o.Pass, o.Requests, SloJson.PopulationName(o.Population)));
        }

        return summary with
        {
            Slo = slos.ToString(),
            SloAllPass = report.AllPass,
            GoodputRule = report.GoodputRule,
            GoodputRps = duration > 0 ? report.GoodRequests / duration : 0,
            GoodRequests = report.GoodRequests,
            SloAttainment = report.Attainment,
            SloVerdicts = verdicts,
        };
    }

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, ReplaySummaryJsonContext.Default.ReplaySummary);

    /// <summary>The failure budget a run is judged by (<see cref="ReplayOptions.MaxFailedPercent"/>).</summary>
    public double MaxFailedPercent { get; init; }

    /// <summary>More requests failed than <see cref="MaxFailedPercent"/> allows (or the run sent nothing).</summary>
    public bool FailedBeyondLimit => RequestsSent == 0 || FailedPercent > MaxFailedPercent;

    /// <summary>The one warning line of a run that failed beyond its budget; null otherwise.</summary>
    public string? FailureWarning => !FailedBeyondLimit
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"WARNING: {Failed} of {RequestsSent} requests failed ({FailedPercent:0.0} %), more than --max-failed {MaxFailedPercent:0.###} % allows{(Failures.Count > 0 ? ": " + string.Join(", ", Failures.Select(f => $"{f.Key} {f.Value}")) : "")}{(RequestsSent == 0 ? " (no request was sent)" : "")}");

    /// <summary>The loud line of a run whose prompts were not the trace's length by the server's count; null when
    /// they were.</summary>
    public string? PromptWarning => PromptTokenMismatches == 0
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"WARNING: {PromptTokenMismatches} of {Completed} prompts were not the trace's length by the server's count (server/trace p50 {PromptCountRatio?.P50 ?? double.NaN:0.000}); give the served model's tokenizer (--tokenizer tokenizer.json|.model|server)");

    /// <summary>A short human-readable table of the headline numbers.</summary>
    public string ToText()
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(ic, $"requests: {RequestsSent}/{RequestsPlanned} sent, {Completed} completed, {Failed} failed, {Retried} retried{(Failures.Count > 0 ? " (" + string.Join(", ", Failures.Select(f => $"{f.Key}: {f.Value}")) + ")" : "")}{(Interrupted ? ", INTERRUPTED" : "")}");
        if (WarmupTargetRequests > 0)
        {
            sb.AppendLine(ic, $"warm-up: {WarmupTargetRequests} requests to the target ({WarmupTargetFailed} failed), {WarmupLoopbackRequests} to an in-process endpoint; not measured");
        }

        sb.AppendLine(ic, $"duration: {DurationSeconds:0.00} s, offered {OfferedRps:0.00} req/s, throughput {RequestThroughputRps:0.00} req/s, {OutputTokenThroughputTps:0.0} output tok/s");
        if (Calibration is not null)
        {
            sb.AppendLine(Calibration.Describe());
        }

        sb.AppendLine(ic, $"exact input length (server's count): {ExactInputPrompts}/{RequestsSent} ({ExactInputRate:P1}); output-count mismatches: {OutputTokenMismatches}; prompt-count mismatches: {PromptTokenMismatches}; no usage: {MissingUsage}");
        if (PromptCountRatio is { } ratio)
        {
            sb.AppendLine(ic, $"server/trace prompt tokens: min {ratio.Min:0.000}, p50 {ratio.P50:0.000}, p99 {ratio.P99:0.000}, max {ratio.Max:0.000} over {ratio.Count} requests");
        }

        if (PromptWarning is { } warning)
        {
            sb.AppendLine(warning);
        }
        if (CachedTokensReported > 0)
        {
            sb.AppendLine(ic, $"prefix cache: {PrefixCacheHits} of {CachedTokensReported} requests hit, {CachedPromptTokens} prompt tokens cached ({CachedTokenRate ?? 0:P1}); {(PrefixSeed is { } ps ? $"prompts unique to this run (prefix seed {ps})" : "prefix reuse allowed")}");
        }

        AppendTable(sb, [("send lag", SendLagMs), ("TTFT", TtftMs), ("ITL", ItlMs), ("TPOT", TpotMs), ("E2E", E2eMs)]);
        if (GoodputRps is { } g)
        {
            sb.AppendLine(ic, $"goodput: {g:0.00} req/s ({GoodRequests} of {RequestsSent} requests within {GoodputRule})");
            foreach (SloVerdict v in SloVerdicts)
            {
                string measured = v.Value is not { } x ? "failed requests" : v.Kind == "absolute" ? x.ToString("0.0", ic) + " ms" : x.ToString("0.###", ic) + "x";
                string target = v.ThresholdMs is { } t ? t.ToString("0.0", ic) + " ms" : v.Target;
                sb.AppendLine(ic, $"  {v.Key}: {measured} vs {target} {(v.Met ? "met" : "MISSED")}{(v.Population == "gaps" ? string.Create(ic, $" (over {v.Count} gaps)") : "")}");
            }
        }

        return sb.ToString();
    }

    /// <summary>The latency table: every column as wide as its widest value (a run past 100 s has 9-digit
    /// milliseconds), and a distribution with no samples printed as absent, never as zeros.</summary>
    private static void AppendTable(System.Text.StringBuilder sb, (string Name, LatencyStats? Stats)[] rows)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        string[] headers = ["mean", "p50", "p90", "p99", "max"];
        var cells = rows.Select(r => r.Stats is { } s
            ? new[] { s.Mean, s.P50, s.P90, s.P99, s.Max }.Select(v => v.ToString("0.000", ic)).ToArray()
            : null).ToArray();
        int width = cells.Where(c => c is not null).SelectMany(c => c!).Select(c => c.Length + 2).DefaultIfEmpty(0).Max();
        width = Math.Max(width, 10);
        sb.Append("metric    ");
        foreach (string h in headers)
        {
            sb.Append(h.PadLeft(width));
        }

        sb.AppendLine("  (ms)");
        for (int i = 0; i < rows.Length; i++)
        {
            sb.Append(rows[i].Name.PadRight(10));
            if (cells[i] is not { } values)
            {
                sb.AppendLine("  (no samples)");
                continue;
            }

            foreach (string v in values)
            {
                sb.Append(v.PadLeft(width));
            }

            sb.AppendLine();
        }

    }
}

/// <summary>Summary of a distribution of ratios (nearest-rank percentiles of the sorted values).</summary>
public sealed record RatioStats(int Count, double Min, double P50, double P99, double Max)
{
    /// <summary>Null for no values.</summary>
    public static RatioStats? Of(List<double> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        double[] sorted = [.. values];
        Array.Sort(sorted);
        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new RatioStats(sorted.Length, Math.Round(sorted[0], 6), Math.Round(At(50), 6), Math.Round(At(99), 6), Math.Round(sorted[^1], 6));
    }
}
