using System.Diagnostics;
using Splitwise.Common;
using Splitwise.IO;
using Splitwise.Tokens;
using Trace = Splitwise.Traces.Trace;

namespace Splitwise.Replay;

/// <summary>A moment's view of a running replay, for progress displays.</summary>
public readonly record struct ReplayProgress(int Planned, int Sent, int Done, int Failed, double LiveP50TtftMs);

/// <summary>
/// Open-loop replay: every request is sent at its scheduled time whether or not earlier ones finished. The schedule
/// is absolute (run start + offset), never a chain of relative sleeps. One dedicated dispatcher thread waits for each
/// deadline (<see cref="DeadlineWaiter"/>: a high-resolution sleep, then a short spin) and hands the request to the
/// HTTP stack itself — no thread-pool hop between the deadline and the send, so a busy pool (every response stream is
/// read there) cannot delay a send. The client's own lag (actual − scheduled send) is measured per request, so an
/// overloaded client shows instead of hiding in latency.
/// </summary>
public sealed class ReplayRunner
{
    private const int WarmupBurst = 64;
    private const int WarmupPaced = 1000;
    private const long WarmupIntervalNs = 1_000_000;
    private const int WarmupSettleMs = 500;
    private const int WarmupTargetRequests = 3;
    private static readonly double s_ticksPerNs = Stopwatch.Frequency / 1e9;

    private readonly ReplayOptions _options;
    private readonly Trace _trace;
    private readonly ReplayPlan _plan;
    private readonly RequestResult?[] _results;
    private readonly long[] _recentTtft = new long[1024];
    private int _sent;
    private int _done;
    private int _failed;
    private int _ttftCursor;
    private ulong? _prefixSeed;

    public ReplayRunner(ReplayOptions options, Trace trace)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trace);
        options.Validate();
        _options = options;
        _trace = trace;
        _plan = ReplayPlan.Create(trace, options.Speedup, options.Duration, options.Count);
        if (_plan.Count == 0)
        {
            throw SplitwiseException.Usage($"trace {trace.Name}: no requests selected (check --duration/--count)");
        }

        _results = new RequestResult?[_plan.Count];
    }

    public ReplayPlan Plan => _plan;

    /// <summary>
    /// The in-flight cap actually used: <see cref="ReplayOptions.MaxConcurrency"/>, or when unlimited the process's
    /// open-file limit minus a reserve (each request holds a socket; past the limit the runtime cannot open one), 0
    /// when no limit is known. A send waiting for a slot shows as send lag.
    /// </summary>
    public int EffectiveConcurrency { get; private set; }

    /// <summary>Soft RLIMIT_NOFILE from /proc/self/limits minus 256 for the process's own files; 0 when unknown.</summary>
    internal static int OpenFileLimitConcurrency()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return int.TryParse(parts[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int soft)
                        ? Math.Max(16, soft - 256)
                        : 0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>Rows of the run so far (null for requests not yet sent).</summary>
    public IReadOnlyList<RequestResult?> Results => _results;

    public ReplayProgress Progress
    {
        get
        {
            int n = Math.Min(Volatile.Read(ref _ttftCursor), _recentTtft.Length);
            double p50 = double.NaN;
            if (n > 0)
            {
                long[] copy = new long[n];
                Array.Copy(_recentTtft, copy, n);
                Array.Sort(copy);
                p50 = Percentiles.Linear<long>(copy, 50) / 1e6;
            }

            return new ReplayProgress(_plan.Count, Volatile.Read(ref _sent), Volatile.Read(ref _done), Volatile.Read(ref _failed), p50);
        }
    }

    /// <summary>
    /// Builds every prompt (exact length, verified by re-encoding), replays the plan, writes the per-request rows as
    /// they complete and finally <c>summary.json</c>. On cancellation the summary of what finished is still written
    /// and <see cref="OperationCanceledException"/> is rethrown.
    /// </summary>
    public async Task<ReplaySummary> RunAsync(CancellationToken cancellationToken)
    {
        int concurrency = _options.MaxConcurrency > 0 ? _options.MaxConcurrency : OpenFileLimitConcurrency();
        EffectiveConcurrency = concurrency;
        using var client = new OpenAiClient(_options, concurrency);
        IPromptSource source = await CreatePromptSourceAsync(_options, cancellationToken);
        using var disposeSource = source as IDisposable;
        ulong? prefixSeed = _prefixSeed = _options.AllowPrefixReuse ? null : _options.PrefixSeed ?? (ulong)Random.Shared.NextInt64();
        (int Loopback, int Target, int TargetFailed) warmup = default;
        if (_options.Warmup)
        {
            warmup = await WarmupAsync(client, source, concurrency, cancellationToken);
        }

        ServerCalibration? calibration = _options.Calibrate && _options.IncludeUsage
            ? await ServerCalibration.MeasureAsync(client, source, WarmupSeed() + 1, cancellationToken)
            : null;
        int added = calibration?.AddedTokens ?? 0;
        bool chains = _trace.HasHashChains && source.FollowsHashChains; // the CLI warns when a server tokenizer cannot

        ulong chainSeed = PromptSeed(_options.Seed ^ 0xC4A1C4A1UL, prefixSeed, -1);
        byte[][] bodies = new byte[_plan.Count][];
        int[] encoded = new int[_plan.Count];
        await Parallel.ForAsync(0, _plan.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = source.Parallelism }, async (i, token) =>
        {
            int row = _plan.TraceIndex[i];
            ulong seed = PromptSeed(_options.Seed, prefixSeed, row);
            // A trace with prefix hash chains (Mooncake hash_ids, generate --sessions): equal ids give equal blocks within
            // the run (and, with a prefix seed, different blocks from every other run's).
            PromptPayload prompt = chains
                ? await source.BuildAsync(Math.Max(1, _plan.Inputs[i] - added), seed, _trace.HashChain(row).ToArray(), chainSeed, token)
                : await source.BuildAsync(Math.Max(1, _plan.Inputs[i] - added), seed, token);
            encoded[i] = prompt.EncodedTokens;
            bodies[i] = client.BuildBody(prompt, _plan.Outputs[i]);
        });

        Directory.CreateDirectory(_options.OutputDirectory);
        bool interrupted = false;
        int gcBefore = 0, gen2Before = 0;
        TimeSpan gcPauseBefore = default;
        long allocatedBefore = 0;
        await using (var sink = new ResultSink(_options.OutputDirectory))
        {
            using var slots = concurrency > 0 ? new SemaphoreSlim(concurrency, concurrency) : null;
            var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int outstanding = 1; // the scheduler's own reference, released when it stops sending
            long start = 0;
            void Finish(RequestResult r)
            {
                if (r.Succeeded)
                {
                    int slot = Interlocked.Increment(ref _ttftCursor) - 1;
                    _recentTtft[slot & (_recentTtft.Length - 1)] = r.TtftNs; // the last 1024 TTFTs
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }

                Interlocked.Increment(ref _done);
                sink.Add(r);
                slots?.Release();
                if (Interlocked.Decrement(ref outstanding) == 0)
                {
                    allDone.TrySetResult();
                }
            }

            // Rows are allocated before the run, not on the send path.
            var rows = new RequestResult[_plan.Count];
            for (int i = 0; i < rows.Length; i++)
            {
                rows[i] = new RequestResult
                {
                    Index = i,
                    TraceIndex = _plan.TraceIndex[i],
                    ScheduledNs = _plan.OffsetNs[i],
                    InputTokens = _plan.Inputs[i],
                    PromptTokensEncoded = encoded[i],
                    ServerAddedTokens = added,
                    OutputTokens = _plan.Outputs[i],
                };
            }

            // Everything built so far (bodies, rows, tokenizer state) lives for the whole run: collect it into the old
            // generation now, so the collections during the run only see what the run allocates.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            gcBefore = GC.CollectionCount(0);
            gen2Before = GC.CollectionCount(2);
            gcPauseBefore = GC.GetTotalPauseDuration();
            allocatedBefore = GC.GetTotalAllocatedBytes();
            var scheduler = new Thread(() =>
            {
                var waiter = new DeadlineWaiter();
                start = Stopwatch.GetTimestamp();
                try
                {
                    for (int i = 0; i < rows.Length; i++)
                    {
                        long deadline = start + (long)(_plan.OffsetNs[i] * s_ticksPerNs);
                        waiter.WaitUntil(deadline, cancellationToken);
                        slots?.Wait(cancellationToken);
                        RequestResult result = rows[i];
                        _results[i] = result;
                        Interlocked.Increment(ref outstanding);
                        Interlocked.Increment(ref _sent);
                        byte[] body = bodies[i];
                        bodies[i] = null!; // let the body go once sent
                        rows[i] = null!;

                        // Sent from this thread: SendAsync runs synchronously until the request is written to the
                        // socket (or a connection is being opened) and returns at its first real wait; the response
                        // is then read on the thread pool.
                        _ = SendOneAsync(client, body, result, start, Finish, cancellationToken);
                    }
                }
                catch (OperationCanceledException)
                {
                    // stop sending; in-flight requests end as "cancelled"
                }
                finally
                {
                    if (Interlocked.Decrement(ref outstanding) == 0)
                    {
                        allDone.TrySetResult();
                    }
                }
            })
            {
                IsBackground = true,
                Name = "replay-dispatcher",
                Priority = ThreadPriority.AboveNormal,
            };
            scheduler.Start();
            await allDone.Task;
            scheduler.Join();
            interrupted = cancellationToken.IsCancellationRequested;
        }

        ReplaySummary summary = ReplaySummary.Build(_options, _trace.Name, _results, interrupted, _plan.Span.TotalSeconds) with
        {
            EffectiveConcurrency = EffectiveConcurrency,
            PrefixSeed = _prefixSeed,
            Calibration = calibration,
            WarmupLoopbackRequests = warmup.Loopback,
            WarmupTargetRequests = warmup.Target,
            WarmupTargetFailed = warmup.TargetFailed,
            ClientGcCollections = GC.CollectionCount(0) - gcBefore,
            ClientGen2Collections = GC.CollectionCount(2) - gen2Before,
            ClientAllocatedMb = (GC.GetTotalAllocatedBytes() - allocatedBefore) / 1e6,
            ClientGcPauseMs = (GC.GetTotalPauseDuration() - gcPauseBefore).TotalMilliseconds,
        };
        AtomicFile.WriteAllText(Path.Combine(_options.OutputDirectory, "summary.json"), summary.ToJson() + "\n");
        cancellationToken.ThrowIfCancellationRequested();
        return summary;
    }

    /// <summary>
    /// The warm-up, not measured, in two steps. First the client's own code paths — HTTP send, connection pool, SSE
    /// parsing, the dispatcher's <see cref="DeadlineWaiter"/> and inline sends — against an in-process
    /// <see cref="LoopbackEndpoint"/>: <see cref="WarmupBurst"/> concurrent requests, <see cref="WarmupPaced"/> paced
    /// 1 ms apart, then a pause for the background compiler, so the client runs tier-1 code from the first measured
    /// request on (measured: it takes most of the excess send lag out of the first seconds of a 2,000 req/s run).
    /// Nothing of this reaches the target. Then <see cref="WarmupTargetRequests"/> short requests to the target: one
    /// that checks endpoint, model and key (failing fast with the server's message), then the others concurrently,
    /// which open connections; all of them are reported. The in-flight count never exceeds
    /// <paramref name="concurrency"/> when that is set.
    /// </summary>
    private async Task<(int Loopback, int Target, int TargetFailed)> WarmupAsync(OpenAiClient client, IPromptSource source, int concurrency, CancellationToken token)
    {
        byte[] body = client.BuildBody(await source.BuildAsync(16, WarmupSeed(), token), 2);
        int loopbackRequests;
        await using (var loopback = new LoopbackEndpoint())
        using (var local = new OpenAiClient(_options with { Endpoint = loopback.BaseAddress }, concurrency))
        {
            int inFlight = concurrency > 0 ? Math.Min(WarmupBurst, concurrency) : WarmupBurst;
            using var gate = new SemaphoreSlim(inFlight, inFlight);
            var sends = new List<Task>(WarmupBurst + WarmupPaced);
            for (int i = 0; i < WarmupBurst; i++)
            {
                await gate.WaitAsync(token);
                sends.Add(WarmupOneAsync(local, body, gate, token));
            }

            await Task.WhenAll(sends);
            sends.Clear();
            await Task.Run(
                () =>
                {
                    var waiter = new DeadlineWaiter();
                    long t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < WarmupPaced; i++)
                    {
                        waiter.WaitUntil(t0 + (long)(i * WarmupIntervalNs * s_ticksPerNs), token);
                        gate.Wait(token);
                        sends.Add(WarmupOneAsync(local, body, gate, token));
                    }
                },
                token);
            await Task.WhenAll(sends);
            loopbackRequests = loopback.Requests;
        }

        var probe = new RequestResult { OutputTokens = 2, InputTokens = 16 };
        await client.SendAsync(body, probe, Stopwatch.GetTimestamp(), token);
        token.ThrowIfCancellationRequested();
        if (!probe.Succeeded)
        {
            throw new SplitwiseException(
                $"warm-up request to {OpenAiClient.EndpointUrl(_options.Endpoint, _options.Api)} failed: {probe.Error} ({probe.ErrorDetail}); check --endpoint, --model and --api, or pass --no-warmup",
                ExitCodes.Failure);
        }

        int others = concurrency > 0 ? Math.Min(WarmupTargetRequests - 1, Math.Max(0, concurrency - 1)) : WarmupTargetRequests - 1;
        var rows = new RequestResult[others];
        var targetSends = new Task[others];
        for (int i = 0; i < others; i++)
        {
            rows[i] = new RequestResult { OutputTokens = 2, InputTokens = 16 };
            targetSends[i] = client.SendAsync(body, rows[i], Stopwatch.GetTimestamp(), token);
        }

        await Task.WhenAll(targetSends);
        await Task.Delay(WarmupSettleMs, token);
        return (loopbackRequests, 1 + others, rows.Count(r => !r.Succeeded));
    }

    /// <summary>The prompt source <see cref="ReplayOptions.Tokenizer"/> names.</summary>
    internal static async Task<IPromptSource> CreatePromptSourceAsync(ReplayOptions options, CancellationToken token) =>
        options.Tokenizer == ReplayOptions.ServerTokenizer
            ? await ServerPromptSource.CreateAsync(options, token)
            : new LocalPromptSource(new PromptBuilder(TextTokenizer.Create(options.Tokenizer)));

    /// <summary>The warm-up prompt's seed: its own stream, unique to the run like the measured prompts.</summary>
    private ulong WarmupSeed() => _options.Seed ^ 0xFEEDUL ^ (_prefixSeed ?? 0) * 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// The seed of one request's prompt. Every token of a prompt comes from this seed's stream, so with a prefix seed
    /// the prompt differs from its first token from every other run's (and, but for a 1-in-vocabulary chance per
    /// token, from every other request's); without one (<c>--allow-prefix-reuse</c>) it depends only on the seed and
    /// the trace row, as before.
    /// </summary>
    internal static ulong PromptSeed(ulong seed, ulong? prefixSeed, int traceIndex)
    {
        ulong s = seed * 1_000_003UL + (ulong)traceIndex;
        if (prefixSeed is not { } p)
        {
            return s;
        }

        var mix = new Splitwise.Tokens.SplitMix64(p ^ (s * 0xD1B54A32D192ED03UL));
        return mix.Next();
    }

    private static async Task WarmupOneAsync(OpenAiClient client, byte[] body, SemaphoreSlim gate, CancellationToken token)
    {
        try
        {
            await client.SendAsync(body, new RequestResult { OutputTokens = 2, InputTokens = 16 }, Stopwatch.GetTimestamp(), token);
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task SendOneAsync(OpenAiClient client, byte[] body, RequestResult result, long start, Action<RequestResult> finish, CancellationToken token)
    {
        try
        {
            await client.SendAsync(body, result, start, token);
        }
        catch (Exception ex)
        {
            result.Error ??= "client_error";
            result.ErrorDetail ??= ex.Message;
        }
        finally
        {
            finish(result);
        }
    }
}
