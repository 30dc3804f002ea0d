namespace Splitwise.Traces;

/// <summary>The trace file formats the library reads and writes.</summary>
public enum TraceFormat
{
    /// <summary>Detect from the header: JSON lines when the file starts with <c>{</c>, else the CSV column names.</summary>
    Auto,

    /// <summary>
    /// Azure LLM inference trace 2023: <c>TIMESTAMP,ContextTokens,GeneratedTokens</c> with timestamps like
    /// <c>2023-11-16 18:17:03.9799600</c> (seven fractional digits, no offset, UTC).
    /// </summary>
    Azure2023,

    /// <summary>
    /// Azure LLM inference trace 2024: the same columns, timestamps like <c>2024-05-10 00:00:00.009930+00:00</c> and
    /// <c>2024-05-12 00:00:00+00:00</c> mixed in one file (0–7 fractional digits, optional UTC offset).
    /// </summary>
    Azure2024,

    /// <summary>
    /// SplitwiseSim: <c>request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size</c>,
    /// arrival in seconds from the trace start. Reading needs only <c>arrival_timestamp</c>, <c>prompt_size</c>, <c>token_size</c>.
    /// </summary>
    SplitwiseSim,

    /// <summary>Vidur: <c>arrived_at,num_prefill_tokens,num_decode_tokens</c>, arrival in seconds from the trace start.</summary>
    Vidur,

    /// <summary>
    /// Mooncake (FAST'25) JSON lines: <c>{"timestamp": ms, "input_length": n, "output_length": m, "hash_ids": [...]}</c>;
    /// <c>hash_ids</c> (one block id per 512-token block of the prompt) become the trace's prefix hash chains; other keys
    /// are ignored. The only format that keeps the chains when written.
    /// </summary>
    Mooncake,
}
