using System.CommandLine;
using System.Globalization;
using Splitwise.Performance;
using Splitwise.Profiling;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise profile</c>: measure a live server's prompt and decode times into a profile.</summary>
public static class ProfileCommand
{
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var output = new Option<string>("--out", "-o") { Description = "The profile CSV to write (SplitwiseSim's perf_model.csv columns)", DefaultValueFactory = _ => "profile.csv" };
        var hardware = new Option<string>("--hardware") { Description = "The profile's hardware column: the GPU name simulate/serve look it up by (a catalog GPU, or one from --catalog)", DefaultValueFactory = _ => "unknown" };
        var tp = new Option<int>("--tp") { Description = "The profile's tensor_parallel column: GPUs per instance of the measured server", DefaultValueFactory = _ => 1 };
        var promptSizes = new Option<string>("--prompt-sizes") { Description = "Prompt sizes in tokens (also the decode context)", DefaultValueFactory = _ => "128,256,512,1024,2048" };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Concurrent requests per measurement", DefaultValueFactory = _ => "1,2,4,8" };
        var repeats = new Option<int>("--repeats") { Description = "Measurements per (prompt size, batch size)", DefaultValueFactory = _ => 3 };
        var outputTokens = new Option<int>("--output-tokens") { Description = "Forced output tokens per request (the token_size column; decode times are its steady state)", DefaultValueFactory = _ => 128 };
        var maxBatchTokens = new Option<long>("--max-batch-tokens") { Description = "Skip points whose prompt size × batch size exceeds this (0 = none)", DefaultValueFactory = _ => 0L };
        var serverSpeedup = new Option<double>("--server-speedup") { Description = "The server is 'splitwise serve --speedup S': record times × S (the emulated cluster's own time)", DefaultValueFactory = _ => 1.0 };
        var client = new ClientOptions();

        var command = new Command("profile", "Measure a live OpenAI-compatible server's prompt and decode times into a profile (perf_model.csv format) for simulate, serve and replay --predict");
        client.AddTo(command);
        foreach (Option o in (Option[])[output, hardware, tp, promptSizes, batchSizes, repeats, outputTokens, maxBatchTokens, serverSpeedup])
        {
            command.Options.Add(o);
        }

        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, async token =>
        {
            string path = pr.GetValue(output)!;
            var options = new ProfileOptions
            {
                Client = client.Resolve(pr, Path.GetDirectoryName(Path.GetFullPath(path))!),
                Hardware = pr.GetValue(hardware)!,
                TensorParallel = pr.GetValue(tp),
                PromptSizes = ProfileOptions.ParseSizes(pr.GetValue(promptSizes)!, "--prompt-sizes"),
                BatchSizes = ProfileOptions.ParseSizes(pr.GetValue(batchSizes)!, "--batch-sizes"),
                Repeats = pr.GetValue(repeats),
                OutputTokens = pr.GetValue(outputTokens),
                MaxBatchTokens = pr.GetValue(maxBatchTokens),
                ServerSpeedup = pr.GetValue(serverSpeedup),
                OutputPath = path,
            };
            var profiler = new ServerProfiler(options);
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"profiling {options.Client.Model} at {Replay.OpenAiClient.EndpointUrl(options.Client.Endpoint, options.Client.Api)}: {options.Points().Count} points × {options.Repeats} repeats, {options.OutputTokens} output tokens each"));
            ProfileResult result = context.Interactive ? await RunWithProgressAsync(context, profiler, token) : await profiler.RunAsync(token);
            if (result.Calibration is { } calibration)
            {
                await context.Error.WriteLineAsync(calibration.Describe());
            }

            if (result.WarmupRequests > 0)
            {
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"warm-up: {result.WarmupRequests} concurrent request(s) of {options.PromptSizes.Max()} prompt tokens sent first; not measured"));
            }

            await context.Output.WriteAsync(ToText(result, options));
            foreach (string warning in result.Warnings)
            {
                await context.Error.WriteLineAsync(warning);
            }

            // Read back as simulate and serve will: a profile that does not load is a bug here, not the user's.
            ProfileTable table = ProfileTable.Load(path);
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"wrote {path}: {table.Rows} rows for {string.Join(", ", table.Curves.Select(c => c.Key))}; use it with --profile {path} --model {options.Client.Model} and a machine whose GPU is {options.Hardware} (--catalog)"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>The medians per point: what the profile's curves are made of.</summary>
    internal static string ToText(ProfileResult result, ProfileOptions options)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        var w = new StringWriter(ic) { NewLine = "\n" };
        w.WriteLine($"{"prompt",7} {"batch",6} {"n",3} {"prompt ms",11} {"context",8} {"token ms",10} {"e2e ms",11} {"spread ms",10}");
        foreach (var g in result.Samples.GroupBy(s => (s.PromptSize, s.BatchSize)))
        {
            w.WriteLine(string.Create(ic,
                $"{g.Key.PromptSize,7} {g.Key.BatchSize,6} {g.Count(),3} {Median(g.Select(s => s.PromptMs)),11:0.00} {Median(g.Select(s => s.DecodeContext)),8:0.0} {Median(g.Select(s => s.TokenMs)),10:0.000} {Median(g.Select(s => s.E2eMs)),11:0.0} {Median(g.Select(s => s.FirstTokenSpreadMs)),10:0.00}"));
        }

        w.WriteLine(string.Create(ic, $"medians of {options.Repeats} measurement(s) per point, {options.OutputTokens} output tokens; prefix seed {result.PrefixSeed}"));
        return w.ToString();
    }

    private static double Median(IEnumerable<double> values) => ProfileTable.Median(values);

    private static Task<ProfileResult> RunWithProgressAsync(CliContext context, ServerProfiler profiler, CancellationToken token) =>
        context.RunWithProgressAsync("profile", () => profiler.RunAsync(token), () =>
        {
            ProfileProgress p = profiler.Progress;
            return (p.Done, p.Total, string.Create(CultureInfo.InvariantCulture, $"measured {p.Done}/{p.Total}  now prompt {p.PromptSize} × batch {p.BatchSize}"));
        });
}
