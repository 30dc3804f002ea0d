using System.CommandLine;
using System.Globalization;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Serving;

namespace Splitwise.Cli.Commands;

/// <summary><c>splitwise serve</c>: an OpenAI-compatible server emulating a simulated cluster in real time.</summary>
public static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = new Option<string>("--host") { Description = "Address to bind (loopback by default; 0.0.0.0 exposes it)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0 picks a free one)", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1/*" };
        var designOptions = new DesignOptions(defaultMachines: 1);
        var config = new Option<string?>("--config") { Description = "A YAML cluster description instead of --design/--machines" };
        var model = new Option<string>("--model") { Description = "Simulated model (llama2-70b, bloom-176b, or one from --catalog)", DefaultValueFactory = _ => "llama2-70b" };
        var catalog = new Option<string?>("--catalog") { Description = "YAML/JSON file extending or overriding the GPU, machine and model catalog (a model and machine you profiled)" };
        var maxModelLen = new Option<int?>("--max-model-len") { Description = "Longest prompt + max_tokens accepted, as vLLM's (default: the model's context length)" };
        var servedName = new Option<string?>("--served-model-name") { Description = "Model name clients send (default: --model)" };
        var perf = new Option<string>("--perf") { Description = "Performance model: profile (SplitwiseSim's perf_model.csv) or roofline", DefaultValueFactory = _ => "profile" };
        var profile = new Option<string?>("--profile") { Description = "perf_model.csv (default: $SPLITWISE_PROFILE, else <data-dir>/perf_model.csv)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default $SPLITWISE_DATA or ~/.cache/splitwise)" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "cl100k_base, o200k_base, gpt2 or a tokenizer.json path", DefaultValueFactory = _ => "cl100k_base" };
        var speedup = new Option<double>("--speedup") { Description = "Run the emulated cluster this many times faster than real time", DefaultValueFactory = _ => 1.0 };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body accepted (413 above)", DefaultValueFactory = _ => 8L * 1024 * 1024 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the generated text", DefaultValueFactory = _ => 0UL };

        var command = new Command("serve", "Serve an OpenAI-compatible API that emulates a simulated cluster in real time (tokens timed by the performance model)");
        foreach (Option o in (Option[])[host, port, apiKey, config, model, catalog, servedName, maxModelLen, perf, profile, dataDir, tokenizer, speedup, maxBody, seed])
        {
            command.Options.Add(o);
        }

        designOptions.AddTo(command);

        command.SetAction((ParseResult pr, CancellationToken ct) => context.RunAsync(pr, async token =>
        {
            Catalog cat = pr.GetValue(catalog) is { } catalogPath ? Catalog.Load(catalogPath) : Catalog.BuiltIn;
            ClusterConfig cluster = designOptions.Resolve(pr, pr.GetValue(config), cat);
            if (pr.GetValue(config) is null)
            {
                cluster = cluster with { Model = cat.Model(pr.GetValue(model)!).Name };
            }

            cluster = cluster with { Performance = PerformanceModels.Parse(pr.GetValue(perf)!) };
            ProfileTable? table = cluster.Performance == PerformanceModelKind.Profile
                ? ProfileTable.Load(ResolveProfile(pr.GetValue(profile), pr.GetValue(dataDir)))
                : null;
            using EmulatedCluster emulated = EmulatedCluster.FromConfig(cluster, cat, table, pr.GetValue(speedup));
            var options = new ServeOptions
            {
                Host = pr.GetValue(host)!,
                Port = pr.GetValue(port),
                ApiKey = pr.GetValue(apiKey),
                ModelName = pr.GetValue(servedName) ?? cluster.Model,
                Tokenizer = pr.GetValue(tokenizer)!,
                MaxBodyBytes = pr.GetValue(maxBody),
                MaxModelLen = pr.GetValue(maxModelLen),
                Seed = pr.GetValue(seed),
            };
            await using OpenAiServer server = await OpenAiServer.StartAsync(options, emulated, cancellationToken: token);
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"serving {options.ModelName} at {server.BaseAddress}v1 — {cluster.Design}, {Pools(cluster)}, {emulated.InstanceCount} instance(s), {cluster.Performance.ToString().ToLowerInvariant()} model, speed-up {emulated.Speedup}, max_model_len {server.MaxModelLen}; Ctrl+C stops"));
            await context.Output.FlushAsync(token);
            // Ctrl+C reaches either the command's token or ASP.NET's console lifetime, whichever sees it first.
            await Task.WhenAny(Task.Delay(Timeout.Infinite, token), server.WaitForShutdownAsync(CancellationToken.None));

            ClusterCounters c = emulated.Counters;
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"stopped: {c.Finished} requests finished, {c.Aborted} aborted, {c.PromptTokens} prompt tokens, {c.GenerationTokens} generated tokens"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>The machines of each pool, e.g. <c>2 × dgx-h100 (prompt) + 1 × dgx-a100 (token)</c>.</summary>
    private static string Pools(ClusterConfig cluster) => string.Join(" + ", cluster.Pools.Select(p =>
        string.Create(CultureInfo.InvariantCulture, $"{p.Count} × {p.Machine}") + (p.Roles == Simulation.InstanceRoles.Mixed ? "" : $" ({p.Roles.ToString().ToLowerInvariant()})")));

    /// <summary>The profile: the flag, else <c>$SPLITWISE_PROFILE</c>, else <c>&lt;data-dir&gt;/perf_model.csv</c>.</summary>
    internal static string ResolveProfile(string? explicitPath, string? dataDir)
    {
        string? path = explicitPath ?? Environment.GetEnvironmentVariable("SPLITWISE_PROFILE");
        path ??= Path.Combine(dataDir ?? Traces.NamedTraces.DefaultDataDir, "perf_model.csv");
        return File.Exists(path)
            ? path
            : throw SplitwiseException.Usage($"{path}: SplitwiseSim's perf_model.csv not found; pass --profile PATH, set SPLITWISE_PROFILE, or use --perf roofline");
    }
}
