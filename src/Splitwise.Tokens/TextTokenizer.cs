using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Splitwise.Tokens;

/// <summary>
/// A real tokenizer (Microsoft.ML.Tokenizers) under the name the user gave it: a tiktoken encoding
/// (<c>cl100k_base</c>, <c>o200k_base</c>, <c>gpt2</c>; the pinned data packages), a Hugging Face
/// <c>tokenizer.json</c> — byte-level BPE (GPT-2, Llama 3, Qwen, Mistral-Nemo style), SentencePiece BPE over
/// <c>▁</c> pieces with byte fallback (Llama 2, Mistral 7B style) or Unigram (T5 style) — or a SentencePiece
/// <c>.model</c> file (BPE or Unigram).
/// </summary>
/// <remarks>
/// SentencePiece models are tokenized by the library's <c>SentencePieceTokenizer</c>; a <c>tokenizer.json</c> of one
/// is converted to the <c>.model</c> format first (<see cref="SentencePieceModel"/>). Counts never include the BOS
/// token a server adds: the replay's calibration measures that against the server itself.
/// </remarks>
/// <remarks>Thread-safe: the underlying tokenizers are immutable after creation.</remarks>
public sealed class TextTokenizer
{
    /// <summary>The built-in encodings, shipped in the Microsoft.ML.Tokenizers.Data.* packages.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["cl100k_base", "o200k_base", "gpt2"];

    private static readonly Dictionary<string, TextTokenizer> s_cache = new(StringComparer.Ordinal);
    private static readonly Lock s_cacheLock = new();

    private readonly Tokenizer _tokenizer;
    private readonly string?[]? _pieces;
    private FillerVocabulary? _filler;

    private TextTokenizer(string name, Tokenizer tokenizer, int vocabularySize, string?[]? pieces = null)
    {
        Name = name;
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
        _pieces = pieces;
    }

    /// <summary>A SentencePiece model: a space is U+2581 in its pieces and a dummy prefix may be added.</summary>
    public bool IsSentencePiece => _pieces is not null;

    /// <summary>The encoding name or the tokenizer.json path as given.</summary>
    public string Name { get; }

    /// <summary>One more than the largest regular token id (special tokens excluded).</summary>
    public int VocabularySize { get; }

    /// <summary>
    /// Creates (or returns the cached) tokenizer for an encoding name or a <c>tokenizer.json</c> path; a name that is
    /// neither is a usage error naming the choices.
    /// </summary>
    public static TextTokenizer Create(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        lock (s_cacheLock)
        {
            if (s_cache.TryGetValue(nameOrPath, out TextTokenizer? cached))
            {
                return cached;
            }

            TextTokenizer created = CreateUncached(nameOrPath);
            s_cache[nameOrPath] = created;
            return created;
        }
    }

    private static TextTokenizer CreateUncached(string nameOrPath)
    {
        if (BuiltInNames.Contains(nameOrPath, StringComparer.Ordinal))
        {
            TiktokenTokenizer tiktoken = nameOrPath == "gpt2" ? TiktokenTokenizer.CreateForModel("gpt2") : TiktokenTokenizer.CreateForEncoding(nameOrPath);
            // The rank tables are internal to the package; these are the published sizes of the regular vocabularies.
            int size = nameOrPath switch
            {
                "cl100k_base" => 100256,
                "o200k_base" => 199998,
                _ => 50257,
            };
            return new TextTokenizer(nameOrPath, tiktoken, size);
        }

        if (nameOrPath.EndsWith(".model", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(nameOrPath))
            {
                throw SplitwiseException.Usage($"{nameOrPath}: tokenizer file not found; give an existing SentencePiece .model, a tokenizer.json or one of {string.Join(", ", BuiltInNames)}");
            }

            using FileStream stream = File.OpenRead(nameOrPath);
            return FromSentencePiece(nameOrPath, stream);
        }

        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(nameOrPath))
        {
            return FromHuggingFaceJson(nameOrPath);
        }

        throw SplitwiseException.Usage(
            $"unknown tokenizer '{nameOrPath}': expected one of {string.Join(", ", BuiltInNames)} or the path of a Hugging Face tokenizer.json or a SentencePiece .model (replay also takes 'server': the server's own /tokenize)");
    }

    private static TextTokenizer FromSentencePiece(string name, Stream model)
    {
        SentencePieceTokenizer sp;
        try
        {
            sp = SentencePieceTokenizer.Create(model, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or IOException or FormatException)
        {
            throw new SplitwiseException($"{name}: not a SentencePiece BPE or Unigram model the tokenizer library can read ({ex.Message})", ExitCodes.Usage, ex);
        }

        int size = sp.Vocabulary.Count == 0 ? 0 : sp.Vocabulary.Values.Max() + 1;
        string?[] pieces = new string?[size];
        foreach ((string piece, int id) in sp.Vocabulary)
        {
            pieces[id] = piece.Replace(SentencePieceModel.Space, ' ');
        }

        return new TextTokenizer(name, sp, size, pieces);
    }

    /// <summary>Loads a <c>tokenizer.json</c>: SentencePiece-style models through <see cref="SentencePieceModel"/>,
    /// byte-level BPE (model.type "BPE" with a ByteLevel pre-tokenizer or decoder) directly.</summary>
    private static TextTokenizer FromHuggingFaceJson(string path)
    {
        if (!File.Exists(path))
        {
            throw SplitwiseException.Usage($"{path}: tokenizer file not found; give an existing tokenizer.json or one of {string.Join(", ", BuiltInNames)}");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new SplitwiseException($"{path}:{(ex.LineNumber ?? 0) + 1}:{(ex.BytePositionInLine ?? 0) + 1}: not valid JSON ({ex.Message}); give a Hugging Face tokenizer.json", ExitCodes.Usage, ex);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (!root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object
                || !model.TryGetProperty("type", out JsonElement type))
            {
                throw SplitwiseException.Usage($"{path}: no model.type; give a Hugging Face tokenizer.json");
            }

            if (SentencePieceModel.FromHuggingFace(root) is { } spModel)
            {
                using var stream = new MemoryStream(spModel);
                return FromSentencePiece(path, stream);
            }

            if (type.GetString() != "BPE")
            {
                throw SplitwiseException.Usage($"{path}: model.type \"{type.GetString()}\" is not supported; supported are byte-level BPE, SentencePiece BPE (Llama 2 style) and Unigram tokenizer.json files and SentencePiece .model files");
            }

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            int size = 0;
            foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject())
            {
                int id = p.Value.GetInt32();
                vocab[p.Name] = id;
                size = Math.Max(size, id + 1);
            }

            var merges = new List<string>();
            if (model.TryGetProperty("merges", out JsonElement mergesElement))
            {
                foreach (JsonElement m in mergesElement.EnumerateArray())
                {
                    // Older files store "a b", newer ones ["a", "b"].
                    merges.Add(m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString() ?? "");
                }
            }

            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement t in added.EnumerateArray())
                {
                    if (t.TryGetProperty("special", out JsonElement isSpecial) && isSpecial.ValueKind == JsonValueKind.True)
                    {
                        special[t.GetProperty("content").GetString() ?? ""] = t.GetProperty("id").GetInt32();
                    }
                }
            }

            string pattern = FindSplitPattern(root) ?? Gpt2Pattern;
            var options = new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = special.Count > 0 ? special : null,
                PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special.Count > 0 ? special : null),
            };
            return new TextTokenizer(path, BpeTokenizer.Create(options), size);
        }
    }

    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static string? FindSplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (pre.TryGetProperty("pattern", out JsonElement pattern) && pattern.TryGetProperty("Regex", out JsonElement regex))
        {
            return regex.GetString();
        }

        if (pre.TryGetProperty("pretokenizers", out JsonElement list))
        {
            foreach (JsonElement p in list.EnumerateArray())
            {
                if (p.TryGetProperty("pattern", out JsonElement inner) && inner.TryGetProperty("Regex", out JsonElement innerRegex))
                {
                    return innerRegex.GetString();
                }
            }
        }

        return null;
    }

    /// <summary>Token ids of a text, without special-token handling beyond the tokenizer's own.</summary>
    public IReadOnlyList<int> Encode(string text) => _tokenizer.EncodeToIds(text);

    /// <summary>Number of tokens of a text.</summary>
    public int Count(string text) => _tokenizer.CountTokens(text);

    /// <summary>Number of tokens of a text span.</summary>
    public int Count(ReadOnlySpan<char> text) => _tokenizer.CountTokens(text);

    /// <summary>The text of one token as it reads inside a text (a SentencePiece piece's U+2581 as a space); null
    /// for an id with no piece.</summary>
    internal string? PieceText(int id)
    {
        if (_pieces is not null)
        {
            return (uint)id < (uint)_pieces.Length ? _pieces[id] : null;
        }

        return Decode([id]);
    }

    /// <summary>The text of a sequence of token ids.</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids) ?? "";

    /// <summary>
    /// The tokens used to build prompts and filler text: ids whose text is a space followed by 2–10 ASCII lowercase
    /// letters and that re-encode to themselves, so any concatenation of them re-encodes token for token.
    /// </summary>
    internal FillerVocabulary Filler => _filler ??= FillerVocabulary.Build(this);
}
