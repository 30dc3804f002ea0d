using Splitwise.IO;

namespace Splitwise.Simulation;

/// <summary>
/// Receives every request as it finishes (or is rejected, or is left unfinished at the end): accumulates the latency
/// metrics and, when asked, streams one row per request to <c>requests.csv</c> so memory does not grow with the trace.
/// </summary>
public sealed class SimulationRecorder : IDisposable
{
    /// <summary>The header of <c>requests.csv</c>.</summary>
    public const string RequestsHeader =
        "request_id,arrival_s,input_tokens,output_tokens,prompt_instance,token_instance,status,queue_s,ttft_s,e2e_s,tbt_s,tpot_s,tbt_max_s,preemptions,kv_transfer_s,second_token_s,cached_tokens";

    private readonly string? _requestsPath;
    private readonly string? _tempPath;
    private readonly FileStream? _stream;
    private readonly Utf8RowWriter? _rows;

    /// <param name="requestsCsvPath">Where to write <c>requests.csv</c> (atomically, on <see cref="Commit"/>); null for none.</param>
    /// <param name="exactLimit">Values per metric kept for exact percentiles before switching to the histogram.</param>
    public SimulationRecorder(string? requestsCsvPath = null, long exactLimit = 1_048_576)
    {
        Ttft = new MetricAccumulator(exactLimit);
        Tbt = new MetricAccumulator(exactLimit);
        E2e = new MetricAccumulator(exactLimit);
        Queue = new MetricAccumulator(exactLimit);
        Tpot = new MetricAccumulator(exactLimit);
        TbtMax = new MetricAccumulator(exactLimit);
        KvTransfer = new MetricAccumulator(exactLimit);
        SecondToken = new MetricAccumulator(exactLimit);
        if (requestsCsvPath is not null)
        {
            _requestsPath = Path.GetFullPath(requestsCsvPath);
            Directory.CreateDirectory(Path.GetDirectoryName(_requestsPath)!);
            _tempPath = AtomicFile.TempName(_requestsPath);
            _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            _rows = new Utf8RowWriter(_stream);
            foreach (string column in RequestsHeader.Split(','))
            {
                _rows.Raw(column);
            }

            _rows.EndRow();
        }
    }

    /// <summary>TTFT: arrival → first token (the prompt's completion), ns.</summary>
    public MetricAccumulator Ttft { get; }

    /// <summary>SplitwiseSim's per-request TBT, (E2E − TTFT) / output tokens, ns.</summary>
    public MetricAccumulator Tbt { get; }

    /// <summary>E2E: arrival → last token, ns.</summary>
    public MetricAccumulator E2e { get; }

    /// <summary>Queueing delay: arrival → start of the prompt computation, ns.</summary>
    public MetricAccumulator Queue { get; }

    /// <summary>TPOT: (E2E − TTFT) / (output tokens − 1), requests with at least two output tokens, ns.</summary>
    public MetricAccumulator Tpot { get; }

    /// <summary>Largest gap between consecutive tokens of a request (requests with at least two tokens), ns.</summary>
    public MetricAccumulator TbtMax { get; }

    /// <summary>Splitwise: time a request waited for its KV cache after its prompt completed (requests that moved
    /// to another machine), ns.</summary>
    public MetricAccumulator KvTransfer { get; }

    /// <summary>Second-token latency: first → second output token, the gap a KV transfer inflates, ns.</summary>
    public MetricAccumulator SecondToken { get; }

    /// <summary>
    /// Called once per request, in the order requests leave (complete or are rejected; unfinished ones at the end),
    /// with its <see cref="RequestOutcome"/>: the same typed row, in the same order, that <c>requests.csv</c> gets
    /// (E2E −1 when it did not finish). For SLO evaluation, SplitwiseSim's files and tests.
    /// </summary>
    public Action<RequestOutcome>? RequestObserver { get; set; }

    /// <summary>Receives completions and rejections for the report's time series; null for none.</summary>
    public SimulationTimeline? Timeline { get; set; }

    public long Finished { get; private set; }

    public long Rejected { get; private set; }

    public long Unfinished { get; private set; }

    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

    /// <summary>Last completion time, ns.</summary>
    public long LastCompletionNs { get; private set; }

    internal void OnCompleted(RequestTable r, int slot)
    {
        long arrival = r.Arrival[slot], first = r.FirstToken[slot], last = r.LastToken[slot];
        int output = r.Output[slot];
        long ttft = first - arrival, e2e = last - arrival, queue = r.PromptStart[slot] - arrival;
        double tbt = (double)(e2e - ttft) / output;
        Finished++;
        InputTokens += r.Input[slot];
        OutputTokens += r.Generated[slot];
        LastCompletionNs = Math.Max(LastCompletionNs, last);
        Ttft.Add(ttft);
        E2e.Add(e2e);
        Queue.Add(queue);
        Tbt.Add(tbt);
        if (output > 1)
        {
            Tpot.Add((double)(e2e - ttft) / (output - 1));
            TbtMax.Add(r.MaxGap[slot]);
        }

        // From the prompt's end: its first token, except in a vLLM P/D cluster, where the decode instance makes it after.
        long promptEnd = r.PromptEnd[slot] >= 0 ? r.PromptEnd[slot] : first;
        long kv = r.KvArrived[slot] >= 0 ? Math.Max(0, r.KvArrived[slot] - promptEnd) : -1;
        if (kv >= 0)
        {
            KvTransfer.Add(kv);
        }

        long second = r.SecondToken[slot] >= 0 ? r.SecondToken[slot] - first : -1;
        if (second >= 0)
        {
            SecondToken.Add(second);
        }

        Timeline?.OnCompleted(last);
        if (RequestObserver is null && _rows is null)
        {
            return;
        }

        Emit(new RequestOutcome(r.Id[slot], r.Input[slot], output, ttft, e2e)
        {
            Status = RequestStatus.Done,
            ArrivalNs = arrival,
            PromptInstance = r.PromptInstance[slot],
            TokenInstance = r.TokenInstance[slot],
            QueueNs = queue,
            NthTokenOverheadNs = r.TokenStart[slot] >= 0 ? r.TokenStart[slot] - first : 0,
            TbtMaxNs = output > 1 ? r.MaxGap[slot] : -1,
            Preemptions = r.Preemptions[slot],
            KvTransferNs = kv,
            SecondTokenNs = second,
            CachedTokens = Math.Max(0, r.CachedTokens[slot]),
        });
    }

    internal void OnRejected(long id, long arrival, int input, int output, int instance)
    {
        Rejected++;
        Timeline?.OnRejected(arrival);
        Emit(new RequestOutcome(id, input, output, -1, -1)
        {
            Status = RequestStatus.Rejected,
            ArrivalNs = arrival,
            PromptInstance = instance,
            TokenInstance = instance,
        });
    }

    internal void OnUnfinished(RequestTable r, int slot)
    {
        Unfinished++;
        long arrival = r.Arrival[slot];
        Emit(new RequestOutcome(r.Id[slot], r.Input[slot], r.Output[slot], r.FirstToken[slot] >= 0 ? r.FirstToken[slot] - arrival : -1, -1)
        {
            Status = RequestStatus.Unfinished,
            ArrivalNs = arrival,
            PromptInstance = r.PromptInstance[slot],
            TokenInstance = r.TokenInstance[slot],
            QueueNs = r.PromptStart[slot] >= 0 ? r.PromptStart[slot] - arrival : -1,
            Preemptions = r.Preemptions[slot],
            CachedTokens = Math.Max(0, r.CachedTokens[slot]),
        });
    }

    private void Emit(in RequestOutcome o)
    {
        RequestObserver?.Invoke(o);
        if (_rows is { } w)
        {
            WriteRow(w, o);
        }
    }

    /// <summary>One row of <c>requests.csv</c> (<see cref="RequestsHeader"/>): −1 times are empty cells.</summary>
    private static void WriteRow(Utf8RowWriter w, in RequestOutcome o)
    {
        w.Long(o.Id);
        w.Seconds(o.ArrivalNs);
        w.Long(o.InputTokens);
        w.Long(o.OutputTokens);
        w.Long(o.PromptInstance);
        w.Long(o.TokenInstance);
        w.Raw(o.Status switch
        {
            RequestStatus.Done => "done",
            RequestStatus.Rejected => "rejected",
            _ => "unfinished",
        });
        Optional(w, o.QueueNs);
        Optional(w, o.TtftNs);
        Optional(w, o.E2eNs);
        Optional(w, o.TbtNs);
        Optional(w, o.TpotNs);
        Optional(w, o.TbtMaxNs);
        w.Long(o.Preemptions);
        Optional(w, o.KvTransferNs);
        Optional(w, o.SecondTokenNs);
        w.Long(o.CachedTokens);
        w.EndRow();
    }

    // Durations in a row are never negative (the property tests check it): a negative one is "none".
    private static void Optional(Utf8RowWriter w, long ns)
    {
        if (ns >= 0)
        {
            w.Seconds(ns);
        }
        else
        {
            w.Empty();
        }
    }

    /// <summary>Finishes <c>requests.csv</c> and renames it into place.</summary>
    public void Commit()
    {
        if (_rows is null || _stream is null)
        {
            return;
        }

        _rows.Flush();
        _stream.Flush();
        _stream.Dispose();
        File.Move(_tempPath!, _requestsPath!, overwrite: true);
    }

    /// <summary>Closes the stream; an uncommitted <c>requests.csv</c> is deleted.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        if (_tempPath is not null && File.Exists(_tempPath))
        {
            File.Delete(_tempPath);
        }
    }
}
