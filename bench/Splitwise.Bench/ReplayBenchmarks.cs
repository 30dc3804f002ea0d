using System.Text;
using BenchmarkDotNet.Attributes;
using Splitwise.Replay;
using Splitwise.Tokens;

namespace Splitwise.Bench;

/// <summary>The per-request client costs of replay: building an exact-length prompt and parsing stream chunks.</summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private PromptBuilder _builder = null!;
    private byte[] _completionChunk = null!;
    private byte[] _chatChunk = null!;
    private byte[] _usageChunk = null!;

    [GlobalSetup]
    public void Setup()
    {
        _builder = new PromptBuilder(TextTokenizer.Create("cl100k_base"));
        _completionChunk = Encoding.UTF8.GetBytes("{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":\"llama2-70b\",\"choices\":[{\"index\":0,\"text\":\" hello\",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}");
        _chatChunk = Encoding.UTF8.GetBytes("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"llama2-70b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" hello\"},\"finish_reason\":null}]}");
        _usageChunk = Encoding.UTF8.GetBytes("{\"id\":\"cmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1020,\"completion_tokens\":129,\"total_tokens\":1149}}");
    }

    /// <summary>A conv-2023 median prompt (1020 tokens), verified by re-encoding.</summary>
    [Benchmark]
    public int BuildPrompt1020() => _builder.Build(1020, 42).EncodedTokens;

    [Benchmark]
    public int ParseCompletionChunk() => StreamChunk.Parse("", _completionChunk).ContentChars;

    [Benchmark]
    public int ParseChatChunk() => StreamChunk.Parse("", _chatChunk).ContentChars;

    [Benchmark]
    public int ParseUsageChunk() => StreamChunk.Parse("", _usageChunk).CompletionTokens;
}
