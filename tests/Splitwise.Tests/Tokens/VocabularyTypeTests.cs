using System.Text.Json;
using Splitwise.Tokens;

namespace Splitwise.Tests.Tokens;

/// <summary>
/// Exact prompts for every common vocabulary type, each from a small tokenizer file written here: byte-level BPE with
/// Llama 3's split pattern, Llama-2-style SentencePiece BPE (▁ pieces, byte fallback, dummy prefix), Unigram, and a
/// SentencePiece <c>.model</c>.
/// </summary>
public class VocabularyTypeTests
{
    private const char Sp = '\u2581';

    private static readonly string[] s_words =
    [
        "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "big", "red", "sun", "sky", "sea", "day", "way", "car",
        "bus", "map", "pen", "cup", "tea", "hat", "box", "fox", "owl", "bee", "ant", "elk", "yak", "cow", "pig", "hen",
    ];

    private static string TempFile(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), "splitwise-tests", Guid.NewGuid().ToString("N") + "-" + name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Llama 2's layout: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, 256 byte pieces, ▁ and letters, then merged pieces.</summary>
    private static (Dictionary<string, int> Vocab, List<string[]> Merges) Llama2Vocabulary()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal) { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = vocab.Count;
        }

        vocab[Sp.ToString()] = vocab.Count;
        for (char c = 'a'; c <= 'z'; c++)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        var merges = new List<string[]>();
        foreach (string word in s_words)
        {
            string left = Sp.ToString();
            foreach (char c in word)
            {
                string merged = left + c;
                if (!vocab.ContainsKey(merged))
                {
                    merges.Add([left, c.ToString()]);
                    vocab[merged] = vocab.Count;
                }

                left = merged;
            }
        }

        return (vocab, merges);
    }

    private static string WriteLlama2Json()
    {
        (Dictionary<string, int> vocab, List<string[]> merges) = Llama2Vocabulary();
        var doc = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = new[] { new { id = 0, content = "<unk>", special = true }, new { id = 1, content = "<s>", special = true }, new { id = 2, content = "</s>", special = true } },
            ["normalizer"] = new { type = "Sequence", normalizers = new object[] { new { type = "Prepend", prepend = Sp.ToString() }, new { type = "Replace", pattern = new { String = " " }, content = Sp.ToString() } } },
            ["pre_tokenizer"] = null,
            ["decoder"] = new { type = "Sequence", decoders = new object[] { new { type = "Replace", pattern = new { String = Sp.ToString() }, content = " " }, new { type = "ByteFallback" }, new { type = "Fuse" } } },
            ["model"] = new { type = "BPE", unk_token = "<unk>", byte_fallback = true, fuse_unk = true, vocab, merges },
        };
        string path = TempFile("llama2-tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(doc));
        return path;
    }

    private static string WriteUnigramJson()
    {
        var vocab = new List<object[]> { new object[] { "<unk>", 0.0 }, new object[] { "<s>", 0.0 }, new object[] { "</s>", 0.0 }, new object[] { Sp.ToString(), -3.0 } };
        for (char c = 'a'; c <= 'z'; c++)
        {
            vocab.Add([c.ToString(), -6.0]);
        }

        foreach (string word in s_words)
        {
            vocab.Add([Sp + word, -2.0 - (word.Length * 0.01)]);
        }

        var doc = new
        {
            version = "1.0",
            added_tokens = new[] { new { id = 0, content = "<unk>", special = true }, new { id = 1, content = "<s>", special = true }, new { id = 2, content = "</s>", special = true } },
            pre_tokenizer = new { type = "Metaspace", replacement = Sp.ToString(), prepend_scheme = "always", split = true },
            model = new { type = "Unigram", unk_id = 0, vocab },
        };
        string path = TempFile("unigram-tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(doc));
        return path;
    }

    /// <summary>Byte-level BPE with Llama 3's pre-tokenizer: a Split on its regex, then ByteLevel.</summary>
    private static string WriteLlama3Json()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (char c = '!'; c <= '~'; c++)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        vocab["\u0120"] = vocab.Count;
        var merges = new List<string>();
        foreach (string word in s_words)
        {
            string left = "\u0120";
            foreach (char c in word)
            {
                string merged = left + c;
                if (!vocab.ContainsKey(merged))
                {
                    merges.Add($"{left} {c}");
                    vocab[merged] = vocab.Count;
                }

                left = merged;
            }
        }

        const string Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        var doc = new
        {
            version = "1.0",
            added_tokens = new[] { new { id = vocab.Count, content = "<|begin_of_text|>", special = true } },
            pre_tokenizer = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = Pattern }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", vocab, merges },
        };
        string path = TempFile("llama3-tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(doc));
        return path;
    }

    private static string WriteSentencePieceModel()
    {
        (Dictionary<string, int> vocab, List<string[]> merges) = Llama2Vocabulary();
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < merges.Count; r++)
        {
            rank[merges[r][0] + merges[r][1]] = r;
        }

        var pieces = vocab.OrderBy(kv => kv.Value).Select(kv => new SentencePiece(
            kv.Key,
            rank.TryGetValue(kv.Key, out int r) ? -r : 0f,
            kv.Value == 0 ? SentencePieceKind.Unknown : kv.Value <= 2 ? SentencePieceKind.Control : kv.Key.StartsWith("<0x", StringComparison.Ordinal) ? SentencePieceKind.Byte : SentencePieceKind.Normal)).ToList();
        string path = TempFile("tokenizer.model");
        File.WriteAllBytes(path, SentencePieceModel.Write(pieces, unigram: false, byteFallback: true, addDummyPrefix: true, unkId: 0, bosId: 1, eosId: 2));
        return path;
    }

    public static TheoryData<string> Kinds => ["llama2-json", "unigram-json", "llama3-json", "sentencepiece-model"];

    private static TextTokenizer Load(string kind) => TextTokenizer.Create(kind switch
    {
        "llama2-json" => WriteLlama2Json(),
        "unigram-json" => WriteUnigramJson(),
        "llama3-json" => WriteLlama3Json(),
        _ => WriteSentencePieceModel(),
    });

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Prompts_are_exact_at_every_length_for_every_vocabulary_type(string kind)
    {
        TextTokenizer tokenizer = Load(kind);
        var builder = new PromptBuilder(tokenizer);
        for (int n = 1; n <= 300; n++)
        {
            foreach (ulong seed in (ulong[])[1, 77])
            {
                BuiltPrompt prompt = builder.Build(n, seed);
                Assert.True(prompt.IsExact, $"{kind}: {n} tokens asked, {prompt.EncodedTokens} built");
                Assert.Equal(n, tokenizer.Count(prompt.Text));
            }
        }
    }

    [Theory]
    [InlineData("llama2-json")]
    [InlineData("sentencepiece-model")]
    [InlineData("unigram-json")]
    public void SentencePiece_models_tokenize_words_as_their_pieces(string kind)
    {
        TextTokenizer tokenizer = Load(kind);
        Assert.True(tokenizer.IsSentencePiece);
        Assert.Equal(3, tokenizer.Count("the cat sat"));
        Assert.Equal("the cat sat", tokenizer.Decode(tokenizer.Encode("the cat sat")));
    }

    [Fact]
    public void Byte_fallback_spells_unknown_characters_in_bytes()
    {
        TextTokenizer tokenizer = Load("llama2-json");
        Assert.Equal(1 + 2, tokenizer.Count("é")); // ▁ and the two UTF-8 bytes of é
    }
}
