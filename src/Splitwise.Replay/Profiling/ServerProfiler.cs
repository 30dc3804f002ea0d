using System.Diagnostics;
using System.Globalization;
using Splitwise.IO;
using Splitwise.Performance;
using Splitwise.Replay;

namespace Splitwise.Profiling;

/// <summary>A moment's view of a running profile, for progress displays.</summary>
public readonly record struct ProfileProgress(int Done, int Total, int PromptSize, int BatchSize);

/// <summary>What a profile run measured.</summary>
/// <param name="Samples">One per measurement, in measurement order.</param>
/// <param name="Url">The completions URL measured.</param>
/// <param name="Started">When the run started (UTC).</param>
/// <param name="Calibration">What the server adds to prompts (null with <c>--no-calibrate</c>).</param>
/// <param name="PrefixSeed">The seed that made every prompt unique to this run.</param>
/// <param name="Warnings">Things the user should know (split batches, unforced output lengths).</param>
public sealed record ProfileResult(
    IReadOnlyList<ProfileSample> Samples,
    Uri Url,
    DateTimeOffset Started,
    ServerCalibration? Calibration,
    ulong PrefixSeed,
    IReadOnlyList<string> Warnings)
{
    /// <summary>Unmeasured requests sent before the grid to warm the server (0 with warm-up off).</summary>
    public int WarmupRequests { get; init; }
}

/// <summary>
/// Measures a live OpenAI-compatible server the way SplitwiseSim's <c>perf_model.csv</c> was measured: for each
/// prompt size p and batch size b, b concurrent requests of p prompt tokens and a forced output length, timed from
/// the stream — the batch's prefill time, its steady decode iteration time and its end-to-end time.
/// </summary>
/// <remarks>
/// Each measurement first sends a one-token request of p tokens (the blocker) and, while the server is prefilling it,
/// the batch; the batch therefore starts at the iteration boundary where the blocker ends, and every time is taken
/// from the blocker's first token, so how far apart the batch's requests reached the server does not matter. The wait
/// before the batch is half the solo TTFT measured at that prompt size first. Prompts come from the replay's prompt
/// sources (the same tokenizers, <c>--tokenizer server</c>, calibration for BOS/templates) and start with tokens unique
/// to the run and request, so no prefix cache serves them. Requests go through <see cref="OpenAiClient"/>, with its
/// retry of a request whose pooled connection was closed. One measurement at a time: nothing else loads the server.
/// </remarks>
public sealed class ServerProfiler
{
    private const int ProbeTokens = 16;
    private const int Attempts = 3;

    private readonly ProfileOptions _options;
    private readonly IReadOnlyList<(int PromptSize, int BatchSize)> _points;
    private int _done;
    private int _prompt;
    private int _batch;
    private int _remeasured;
    private string? _remeasureReason;

    public ServerProfiler(ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _points = options.Points();
    }

    /// <summary>Measurements in the run (grid points × repeats).</summary>
    public int Total => _points.Count * _options.Repeats;

    public ProfileProgress Progress => new(Volatile.Read(ref _done), Total, Volatile.Read(ref _prompt), Volatile.Read(ref _batch));

    /// <summary>Measures every grid point and writes the profile CSV (atomically).</summary>
    public async Task<ProfileResult> RunAsync(CancellationToken cancellationToken)
    {
        ReplayOptions client = _options.Client;
        DateTimeOffset started = DateTimeOffset.UtcNow;
        int maxBatch = _options.BatchSizes.Max();
        using var http = new OpenAiClient(client, maxBatch + 1);
        IPromptSource source = await ReplayRunner.CreatePromptSourceAsync(client, cancellationToken);
        using var disposeSource = source as IDisposable;
        ulong prefixSeed = client.PrefixSeed ?? (ulong)Random.Shared.NextInt64();
        int requestIndex = 0;
        ulong NextSeed() => ReplayRunner.PromptSeed(client.Seed, prefixSeed, requestIndex++);

        await CheckAndConnectAsync(http, source, NextSeed, maxBatch + 1, cancellationToken);
        ServerCalibration? calibration = client.Calibrate && client.IncludeUsage
            ? await ServerCalibration.MeasureAsync(http, source, NextSeed(), cancellationToken)
            : null;
        int added = calibration?.AddedTokens ?? 0;
        async Task<byte[]> BodyAsync(int promptTokens, int outputTokens) =>
            http.BuildBody(await source.BuildAsync(Math.Max(1, promptTokens - added), NextSeed(), cancellationToken), outputTokens);

        // Warm the server before measuring: its first passes over fresh KV memory (a server allocates its cache up front
        // and the OS maps it on first touch) and cold caches ran the first profile of a llama.cpp server 30–80 % slow.
        // One batch of the largest size at the largest prompt, with the measured output length, touches what the grid
        // will use.
        int warmup = 0;
        if (client.Warmup)
        {
            int largest = _options.PromptSizes.Max();
            var rows = new RequestResult[maxBatch];
            var sends = new Task[maxBatch];
            for (int i = 0; i < maxBatch; i++)
            {
                rows[i] = new RequestResult { InputTokens = largest, OutputTokens = _options.OutputTokens };
                sends[i] = http.SendAsync(await BodyAsync(largest, _options.OutputTokens), rows[i], Stopwatch.GetTimestamp(), cancellationToken);
            }

            await Task.WhenAll(sends);
            cancellationToken.ThrowIfCancellationRequested();
            warmup = maxBatch;
        }

        var samples = new List<ProfileSample>(Total);
        var warnings = new List<string>();
        if (calibration is { Matches: false })
        {
            warnings.Add(calibration.Describe());
        }

        foreach (int p in _options.PromptSizes)
        {
            // The solo prefill time at this size sets how long to wait before sending a batch behind the blocker.
            var solo = new RequestResult { InputTokens = p, OutputTokens = 1 };
            await http.SendAsync(await BodyAsync(p, 1), solo, Stopwatch.GetTimestamp(), cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (!solo.Succeeded)
            {
                throw new SplitwiseException($"a {p}-token prompt failed: {solo.Error} ({solo.ErrorDetail}); check the server's context length or pass smaller --prompt-sizes", ExitCodes.Failure);
            }

            TimeSpan wait = TimeSpan.FromTicks(Math.Clamp(solo.TtftNs / 200, TimeSpan.TicksPerMillisecond / 2, 2 * TimeSpan.TicksPerSecond));
            foreach ((int prompt, int b) in _points.Where(x => x.PromptSize == p))
            {
                Volatile.Write(ref _prompt, prompt);
                Volatile.Write(ref _batch, b);
                for (int r = 0; r < _options.Repeats; r++)
                {
                    ProfileSample sample = await MeasureAsync(http, prompt, b, r, wait, BodyAsync, cancellationToken);
                    samples.Add(sample);
                    Interlocked.Increment(ref _done);
                }
            }
        }

        warnings.AddRange(Diagnose(samples, _options.OutputTokens));
        if (_remeasured > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture, $"{_remeasured} measurement(s) were spoilt and measured again; the first: {_remeasureReason}"));
        }

        var result = new ProfileResult(samples, OpenAiClient.EndpointUrl(client.Endpoint, client.Api), started, calibration, prefixSeed, warnings) { WarmupRequests = warmup };
        Write(_options.OutputPath, _options, result);
        return result;
    }

    /// <summary>One measurement; one the server or a stalled stream spoilt (see <see cref="ProfileSample.FromRequests"/>)
    /// is measured again, up to <see cref="Attempts"/> times.</summary>
    private async Task<ProfileSample> MeasureAsync(OpenAiClient http, int p, int b, int repeat, TimeSpan wait, Func<int, int, Task<byte[]>> body, CancellationToken token)
    {
        string? problem = null;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            (ProfileSample? sample, problem) = await MeasureOnceAsync(http, p, b, repeat, wait, body, token);
            if (sample is not null)
            {
                return sample;
            }

            _remeasured++;
            _remeasureReason ??= problem;
        }

        throw new SplitwiseException($"{problem} ({Attempts} attempts)", ExitCodes.Failure);
    }

    private async Task<(ProfileSample? Sample, string? Problem)> MeasureOnceAsync(OpenAiClient http, int p, int b, int repeat, TimeSpan wait, Func<int, int, Task<byte[]>> body, CancellationToken token)
    {
        byte[] blockerBody = await body(p, 1);
        byte[][] bodies = new byte[b][];
        for (int i = 0; i < b; i++)
        {
            bodies[i] = await body(p, _options.OutputTokens);
        }

        var blocker = new RequestResult { InputTokens = p, OutputTokens = 1 };
        var batch = new RequestResult[b];
        long zero = Stopwatch.GetTimestamp();
        Task blockerSend = http.SendAsync(blockerBody, blocker, zero, token);
        await Task.Delay(wait, token);
        var sends = new Task[b];
        for (int i = 0; i < b; i++)
        {
            batch[i] = new RequestResult { Index = i, InputTokens = p, OutputTokens = _options.OutputTokens };
            sends[i] = http.SendAsync(bodies[i], batch[i], zero, token);
        }

        await blockerSend;
        await Task.WhenAll(sends);
        token.ThrowIfCancellationRequested();
        ProfileSample? sample = ProfileSample.FromRequests(p, _options.OutputTokens, repeat, blocker, batch, _options.ServerSpeedup, out string? problem);
        return (sample, problem);
    }

    /// <summary>One request that fails fast with the server's message, then enough concurrent ones to open the
    /// connections the batches will use (and warm both sides' code paths); none is measured.</summary>
    private async Task CheckAndConnectAsync(OpenAiClient http, IPromptSource source, Func<ulong> seed, int connections, CancellationToken token)
    {
        ReplayOptions client = _options.Client;
        var probe = new RequestResult { InputTokens = ProbeTokens, OutputTokens = 2 };
        await http.SendAsync(http.BuildBody(await source.BuildAsync(ProbeTokens, seed(), token), 2), probe, Stopwatch.GetTimestamp(), token);
        token.ThrowIfCancellationRequested();
        if (!probe.Succeeded)
        {
            throw new SplitwiseException(
                $"the first request to {OpenAiClient.EndpointUrl(client.Endpoint, client.Api)} failed: {probe.Error} ({probe.ErrorDetail}); check --endpoint, --model and --api",
                ExitCodes.Failure);
        }

        var rows = new RequestResult[connections];
        var sends = new Task[connections];
        for (int i = 0; i < connections; i++)
        {
            rows[i] = new RequestResult { InputTokens = ProbeTokens, OutputTokens = 2 };
            sends[i] = http.SendAsync(http.BuildBody(await source.BuildAsync(ProbeTokens, seed(), token), 2), rows[i], Stopwatch.GetTimestamp(), token);
        }

        await Task.WhenAll(sends);
    }

    /// <summary>Warnings about the measurements: batches the server split, output lengths it did not force.</summary>
    internal static IEnumerable<string> Diagnose(IReadOnlyList<ProfileSample> samples, int outputTokens)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        // By the median of each point's repeats: one delayed chunk is not a split batch.
        string[] split = [.. samples.Where(s => s.BatchSize > 1).GroupBy(s => (s.PromptSize, s.BatchSize))
            .Where(g => ProfileTable.Median(g.Select(s => s.FirstTokenSpreadMs)) > 0.25 * ProfileTable.Median(g.Select(s => s.PromptMs)))
            .Select(g => string.Create(ic, $"{g.Key.PromptSize}x{g.Key.BatchSize}"))];
        if (split.Length > 0)
        {
            yield return $"WARNING: the server prefilled the batches of {string.Join(", ", split)} in more than one step (its batch token budget or free slots are smaller than the batch); their prompt time covers every step";
        }

        int shortOutputs = samples.Count(s => s.CompletionTokens < outputTokens);
        if (shortOutputs > 0)
        {
            yield return string.Create(ic, $"WARNING: in {shortOutputs} measurement(s) a request got fewer than {outputTokens} output tokens: the server does not force the output length (ignore_eos/min_tokens); decode times come from the shorter steady state");
        }
    }

    /// <summary>The profile: <c># key: value</c> comment lines (server, model, date, settings), then SplitwiseSim's
    /// <c>perf_model.csv</c> header plus <c>decode_context</c> (the decode surface's context; SplitwiseSim's reader
    /// ignores it) and one row per sample; power columns are 0 (not measured), as SplitwiseSim's H100 rows.</summary>
    internal static void Write(string path, ProfileOptions options, ProfileResult result)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        AtomicFile.WriteText(path, w =>
        {
            w.WriteLine("# splitwise profile of a live server, in SplitwiseSim's perf_model.csv format (times in ms)");
            w.WriteLine($"# server: {result.Url}");
            w.WriteLine($"# served_model: {options.Client.Model}");
            w.WriteLine(string.Create(ic, $"# date: {result.Started:yyyy-MM-ddTHH:mm:ssZ}"));
            w.WriteLine($"# tokenizer: {options.Client.Tokenizer}");
            w.WriteLine($"# {result.Calibration?.Describe() ?? "calibration: skipped"}");
            w.WriteLine(string.Create(ic, $"# repeats: {options.Repeats}"));
            w.WriteLine(string.Create(ic, $"# prefix_seed: {result.PrefixSeed}"));
            w.WriteLine(string.Create(ic, $"# server_speedup: {options.ServerSpeedup}"));
            w.WriteLine($"model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,e2e_time,tensor_parallel,{ProfileTable.DecodeContextColumn}");
            foreach (ProfileSample s in result.Samples)
            {
                w.WriteLine(string.Create(ic,
                    $"{options.Client.Model},{options.Hardware},{s.PromptSize},{s.BatchSize},{s.OutputTokens},0.0,0.0,{s.PromptMs:R},{s.TokenMs:R},{s.E2eMs:R},{options.TensorParallel},{s.DecodeContext:R}"));
            }
        });
    }
}
