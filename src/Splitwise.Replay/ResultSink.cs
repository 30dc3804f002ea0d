using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Splitwise.Replay;

/// <summary>
/// Appends one row per finished request to <c>requests.csv</c> and <c>requests.jsonl</c> as requests complete, from
/// one writer task, flushing whenever the queue drains — so an interrupted run keeps every row it measured. (These
/// two files are the deliberate exception to write-then-rename: they must survive an interruption partially.)
/// </summary>
public sealed class ResultSink : IAsyncDisposable
{
    public const string CsvHeader =
        "index,trace_index,scheduled_s,sent_s,send_lag_ms,input_tokens,prompt_tokens_encoded,prompt_tokens_usage,cached_tokens_usage,output_tokens,completion_tokens_usage,content_chunks,ttft_ms,tpot_ms,itl_max_ms,e2e_ms,http_status,retried,error,error_detail";

    private readonly Channel<RequestResult> _queue = Channel.CreateUnbounded<RequestResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly StreamWriter _csv;
    private readonly FileStream _jsonl;
    private readonly ArrayBufferWriter<byte> _jsonBuffer = new(1024);
    private readonly Utf8JsonWriter _json;
    private readonly Task _writer;

    public ResultSink(string directory)
    {
        Directory.CreateDirectory(directory);
        CsvPath = Path.Combine(directory, "requests.csv");
        JsonlPath = Path.Combine(directory, "requests.jsonl");
        _csv = new StreamWriter(CsvPath, append: false, new UTF8Encoding(false)) { NewLine = "\n" };
        _jsonl = new FileStream(JsonlPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: false);
        _json = new Utf8JsonWriter(_jsonBuffer);
        _csv.WriteLine(CsvHeader);
        _csv.Flush();
        _writer = Task.Run(WriteLoopAsync);
    }

    public string CsvPath { get; }

    public string JsonlPath { get; }

    /// <summary>Queues a finished request; never blocks.</summary>
    public void Add(RequestResult result) => _queue.Writer.TryWrite(result);

    private async Task WriteLoopAsync()
    {
        ChannelReader<RequestResult> reader = _queue.Reader;
        var line = new StringBuilder(512);
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out RequestResult? r))
            {
                line.Clear();
                AppendCsv(line, r);
                await _csv.WriteLineAsync(line);
                WriteJson(r); // into the reused buffer: no per-row string
                await _jsonl.WriteAsync(_jsonBuffer.WrittenMemory);
            }

            await _csv.FlushAsync();
            await _jsonl.FlushAsync();
        }
    }

    private static void AppendCsv(StringBuilder sb, RequestResult r)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        long maxItl = -1;
        foreach (long g in r.ItlNs)
        {
            maxItl = Math.Max(maxItl, g);
        }

        sb.Append(ic, $"{r.Index},{r.TraceIndex},{r.ScheduledNs / 1e9:0.000000},{r.SentNs / 1e9:0.000000},{r.SendLagNs / 1e6:0.000},");
        sb.Append(ic, $"{r.InputTokens},{r.PromptTokensEncoded},{Opt(r.UsagePromptTokens)},{Opt(r.UsageCachedTokens)},{r.OutputTokens},{Opt(r.UsageCompletionTokens)},{r.ContentChunks},");
        sb.Append(ic, $"{Ms(r.TtftNs)},{Ms(r.TpotNs)},{Ms(maxItl)},{Ms(r.E2eNs)},{r.HttpStatus},{(r.Retried ? 1 : 0)},{r.Error},{Quote(r.ErrorDetail)}");
    }

    private static string Opt(int v) => v < 0 ? "" : v.ToString(CultureInfo.InvariantCulture);

    private static string Ms(long ns) => ns < 0 ? "" : (ns / 1e6).ToString("0.000", CultureInfo.InvariantCulture);

    private static string Quote(string? s) => string.IsNullOrEmpty(s) ? "" : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>One JSON line (with its newline) into <see cref="_jsonBuffer"/>; only the writer task calls it.</summary>
    private void WriteJson(RequestResult r)
    {
        _jsonBuffer.ResetWrittenCount();
        _json.Reset(_jsonBuffer);
        Utf8JsonWriter json = _json;
        json.WriteStartObject();
        json.WriteNumber("index", r.Index);
        json.WriteNumber("trace_index", r.TraceIndex);
        json.WriteNumber("scheduled_s", Math.Round(r.ScheduledNs / 1e9, 6));
        json.WriteNumber("sent_s", Math.Round(r.SentNs / 1e9, 6));
        json.WriteNumber("send_lag_ms", Math.Round(r.SendLagNs / 1e6, 3));
        json.WriteNumber("input_tokens", r.InputTokens);
        json.WriteNumber("prompt_tokens_encoded", r.PromptTokensEncoded);
        WriteOpt(json, "prompt_tokens_usage", r.UsagePromptTokens);
        WriteOpt(json, "cached_tokens_usage", r.UsageCachedTokens);
        json.WriteNumber("output_tokens", r.OutputTokens);
        WriteOpt(json, "completion_tokens_usage", r.UsageCompletionTokens);
        json.WriteNumber("content_chunks", r.ContentChunks);
        WriteMs(json, "ttft_ms", r.TtftNs);
        WriteMs(json, "tpot_ms", r.TpotNs);
        WriteMs(json, "e2e_ms", r.E2eNs);
        json.WriteStartArray("itl_ms");
        foreach (long g in r.ItlNs)
        {
            json.WriteNumberValue(Math.Round(g / 1e6, 3));
        }

        json.WriteEndArray();
        json.WriteNumber("http_status", r.HttpStatus);
        json.WriteBoolean("retried", r.Retried);
        if (r.RetryReason is not null)
        {
            json.WriteString("retry_reason", r.RetryReason);
        }

        if (r.Error is not null)
        {
            json.WriteString("error", r.Error);
            json.WriteString("error_detail", r.ErrorDetail);
        }

        json.WriteEndObject();
        json.Flush();
        _jsonBuffer.GetSpan(1)[0] = (byte)'\n';
        _jsonBuffer.Advance(1);
    }

    private static void WriteOpt(Utf8JsonWriter json, string name, int value)
    {
        if (value >= 0)
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteMs(Utf8JsonWriter json, string name, long ns)
    {
        if (ns >= 0)
        {
            json.WriteNumber(name, Math.Round(ns / 1e6, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>Writes every queued row, flushes and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _csv.DisposeAsync();
        await _jsonl.DisposeAsync();
        await _json.DisposeAsync();
    }
}
