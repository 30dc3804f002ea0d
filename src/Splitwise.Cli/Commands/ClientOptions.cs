using System.CommandLine;
using Splitwise.Replay;

namespace Splitwise.Cli.Commands;

/// <summary>
/// The client arguments shared by <c>replay</c> and <c>profile</c>: the server (<c>--endpoint</c>, <c>--model</c>,
/// <c>--api</c>, <c>--api-key</c>, <c>--timeout</c>), how prompts are built (<c>--tokenizer</c>, <c>--prompt-text</c>,
/// <c>--seed</c>, <c>--prefix-seed</c>, <c>--no-calibrate</c>) and the forced-length fields (<c>--no-ignore-eos</c>,
/// <c>--no-min-tokens</c>). Create one per command and <see cref="AddTo"/> it; <see cref="Resolve"/> gives the
/// <see cref="ReplayOptions"/> the client runs on.
/// </summary>
internal sealed class ClientOptions
{
    public Option<string> Endpoint { get; } = new("--endpoint") { Description = "Server base URL, e.g. http://127.0.0.1:8000", Required = true };

    public Option<string> Model { get; } = new("--model") { Description = "Model name to request (see the server's /v1/models)", Required = true };

    public Option<string> Api { get; } = new("--api") { Description = "completions or chat", DefaultValueFactory = _ => "completions" };

    public Option<string> Tokenizer { get; } = new("--tokenizer") { Description = "cl100k_base, o200k_base, gpt2, a tokenizer.json (byte-level BPE, SentencePiece BPE, Unigram), a SentencePiece .model path, or server (its /tokenize and /detokenize)", DefaultValueFactory = _ => "cl100k_base" };

    public Option<string> Timeout { get; } = new("--timeout") { Description = "Per-request timeout", DefaultValueFactory = _ => "10m" };

    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "Bearer key (default $OPENAI_API_KEY)" };

    public Option<ulong> Seed { get; } = new("--seed") { Description = "Seed of the prompt texts", DefaultValueFactory = _ => 0UL };

    public Option<bool> NoIgnoreEos { get; } = new("--no-ignore-eos") { Description = "Do not send ignore_eos (for servers that reject it)" };

    public Option<bool> NoMinTokens { get; } = new("--no-min-tokens") { Description = "Do not send min_tokens (for servers that reject it)" };

    public Option<ulong?> PrefixSeed { get; } = new("--prefix-seed") { Description = "Seed that makes the prompts unique to a run (default: a fresh one per run, recorded in the output)" };

    public Option<bool> PromptText { get; } = new("--prompt-text") { Description = "With --tokenizer server, send prompts as text instead of token ids" };

    public Option<bool> NoCalibrate { get; } = new("--no-calibrate") { Description = "Skip the two start-up probes that find what the server adds to prompts (BOS, chat template)" };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (Option o in (Option[])[Endpoint, Model, Api, Tokenizer, Timeout, ApiKey, Seed, NoIgnoreEos, NoMinTokens, PrefixSeed, PromptText, NoCalibrate])
        {
            command.Options.Add(o);
        }
    }

    /// <summary>The client settings; a bad URL, API or timeout is a usage error naming the flag.</summary>
    public ReplayOptions Resolve(ParseResult parseResult, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        if (!Uri.TryCreate(parseResult.GetValue(Endpoint), UriKind.Absolute, out Uri? uri))
        {
            throw SplitwiseException.Usage($"--endpoint '{parseResult.GetValue(Endpoint)}': not an absolute URL; write e.g. http://127.0.0.1:8000");
        }

        OpenAiApi api = parseResult.GetValue(Api)!.ToLowerInvariant() switch
        {
            "completions" or "completion" => OpenAiApi.Completions,
            "chat" => OpenAiApi.Chat,
            string other => throw SplitwiseException.Usage($"--api '{other}': use completions or chat"),
        };
        return new ReplayOptions
        {
            Endpoint = uri,
            Model = parseResult.GetValue(Model)!,
            Api = api,
            Tokenizer = parseResult.GetValue(Tokenizer)!,
            Timeout = Common.Durations.Parse(parseResult.GetValue(Timeout)!, "--timeout"),
            ApiKey = parseResult.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"),
            Seed = parseResult.GetValue(Seed),
            SendIgnoreEos = !parseResult.GetValue(NoIgnoreEos),
            SendMinTokens = !parseResult.GetValue(NoMinTokens),
            PrefixSeed = parseResult.GetValue(PrefixSeed),
            PromptAsText = parseResult.GetValue(PromptText),
            Calibrate = !parseResult.GetValue(NoCalibrate),
            OutputDirectory = outputDirectory,
        };
    }
}
