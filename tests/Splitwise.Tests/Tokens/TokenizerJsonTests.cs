using System.Text.Json;
using Splitwise.Tokens;

namespace Splitwise.Tests.Tokens;

public class TokenizerJsonTests
{
    /// <summary>Writes a tiny byte-level BPE tokenizer.json (printable ASCII, 'Ġ' for space, merges for 20 words).</summary>
    private static string WriteTinyTokenizer()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string token)
        {
            if (!vocab.ContainsKey(token))
            {
                vocab[token] = vocab.Count;
            }
        }

        for (char c = '!'; c <= '~'; c++)
        {
            Add(c.ToString());
        }

        Add("\u0120");
        var merges = new List<string>();
        foreach (string word in (string[])["the", "cat", "sat", "on", "mat", "dog", "ran", "far", "big", "red", "sun", "sky", "sea", "day", "way", "car", "bus", "map", "pen", "cup"])
        {
            string left = "\u0120";
            foreach (char c in word)
            {
                string merged = left + c;
                if (!vocab.ContainsKey(merged))
                {
                    merges.Add($"{left} {c}");
                    Add(merged);
                }

                left = merged;
            }
        }

        var doc = new
        {
            version = "1.0",
            added_tokens = new[] { new { id = vocab.Count, content = "<|endoftext|>", special = true } },
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false },
            model = new { type = "BPE", vocab, merges },
        };
        string path = Path.Combine(Path.GetTempPath(), "splitwise-tests", Guid.NewGuid().ToString("N") + "-tokenizer.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(doc));
        return path;
    }

    [Fact]
    public void A_byte_level_bpe_tokenizer_json_builds_exact_prompts()
    {
        TextTokenizer tokenizer = TextTokenizer.Create(WriteTinyTokenizer());
        Assert.Equal(2, tokenizer.Count(" the cat"));
        var builder = new PromptBuilder(tokenizer);
        foreach (int n in (int[])[1, 2, 17, 250, 1000])
        {
            BuiltPrompt p = builder.Build(n, 3);
            Assert.True(p.IsExact, $"{n}: got {p.EncodedTokens}");
            Assert.Equal(n, tokenizer.Count(p.Text));
        }
    }

    [Fact]
    public void A_non_bpe_tokenizer_json_is_a_clear_usage_error()
    {
        string path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}");
        SplitwiseException ex = Assert.Throws<SplitwiseException>(() => TextTokenizer.Create(path));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains("BPE", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_tokenizer_json_names_the_line_and_column()
    {
        string path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{\n  \"model\": oops\n}");
        SplitwiseException ex = Assert.Throws<SplitwiseException>(() => TextTokenizer.Create(path));
        Assert.Contains(path + ":2:", ex.Message, StringComparison.Ordinal);
    }
}
