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
    /// Called once per request, in the order requests complete (then rejected and unfinished ones), with its
    /// <see cref="RequestOutcome"/> (TTFT and E2E −1 when it did not finish). For SLO evaluation and SplitwiseSim's files.
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
        double tpot = double.NaN;
        if (output > 1)
        {
            tpot = (double)(e2e - ttft) / (output - 1);
            Tpot.Add(tpot);
            TbtMax.Add(r.MaxGap[slot]);
        }

        long kv = r.KvArrived[slot] >= 0 ? Math.Max(0, r.KvArrived[slot] - first) : -1;
        if (kv >= 0)
        {
            KvTransfer.Add(kv);
        }

        long second = r.SecondToken[slot] >= 0 ? r.SecondToken[slot] - first : -1;
        if (second >= 0)
        {
            SecondToken.Add(second);
        }

        RequestObserver?.Invoke(new RequestOutcome(r.Id[slot], r.Input[slot], output, ttft, e2e)
        {
            QueueNs = queue,
            NthTokenOverheadNs = r.TokenStart[slot] >= 0 ? r.TokenStart[slot] - first : 0,
            TbtMaxNs = output > 1 ? r.MaxGap[slot] : -1,
            Preemptions = r.Preemptions[slot],
            CachedTokens = Math.Max(0, r.CachedTokens[slot]),
        });
        Timeline?.OnCompleted(last);

        if (_rows is { } w)
        {
            w.Long(r.Id[slot]);
            w.Seconds(arrival);
            w.Long(r.Input[slot]);
            w.Long(output);
            w.Long(r.PromptInstance[slot]);
            w.Long(r.TokenInstance[slot]);
            w.Raw("done");
            w.Seconds(queue);
            w.Seconds(ttft);
            w.Seconds(e2e);
            w.Seconds((long)Math.Round(tbt));
            if (output > 1)
            {
                w.Seconds((long)Math.Round(tpot));
                w.Seconds(r.MaxGap[slot]);
            }
            else
            {
                w.Empty();
                w.Empty();
            }

            w.Long(r.Preemptions[slot]);
            Optional(w, kv);
            Optional(w, second);
            w.Long(Math.Max(0, r.CachedTokens[slot]));
            w.EndRow();
        }
    }

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

    internal void OnRejected(long id, long arrival, int input, int output, int instance)
    {
        Rejected++;
        Timeline?.OnRejected(arrival);
        RequestObserver?.Invoke(new RequestOutcome(id, input, output, -1, -1));
        if (_rows is { } w)
        {
            w.Long(id);
            w.Seconds(arrival);
            w.Long(input);
            w.Long(output);
            w.Long(instance);
            w.Long(instance);
            w.Raw("rejected");
            for (int i = 0; i < 6; i++)
            {
                w.Empty();
            }

            w.Long(0);
            w.Empty();
            w.Empty();
            w.Long(0);
            w.EndRow();
        }
    }

    internal void OnUnfinished(RequestTable r, int slot)
    {
        Unfinished++;
        RequestObserver?.Invoke(new RequestOutcome(r.Id[slot], r.Input[slot], r.Output[slot], -1, -1));
        if (_rows is { } w)
        {
            long arrival = r.Arrival[slot];
            w.Long(r.Id[slot]);
            w.Seconds(arrival);
            w.Long(r.Input[slot]);
            w.Long(r.Output[slot]);
            w.Long(r.PromptInstance[slot]);
            w.Long(r.TokenInstance[slot]);
            w.Raw("unfinished");
            if (r.PromptStart[slot] >= 0)
            {
                w.Seconds(r.PromptStart[slot] - arrival);
            }
            else
            {
                w.Empty();
            }

            if (r.FirstToken[slot] >= 0)
            {
                w.Seconds(r.FirstToken[slot] - arrival);
            }
            else
            {
                w.Empty();
            }

            for (int i = 0; i < 4; i++)
            {
                w.Empty();
            }

            w.Long(r.Preemptions[slot]);
            w.Empty();
            w.Empty();
            w.Long(Math.Max(0, r.CachedTokens[slot]));
            w.EndRow();
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
