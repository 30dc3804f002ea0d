using System.Text;
using System.Text.Json;

namespace Splitwise.Tokens;

/// <summary>One piece of a SentencePiece vocabulary: its text (with U+2581 for a space), score and kind.</summary>
internal readonly record struct SentencePiece(string Piece, float Score, SentencePieceKind Kind);

/// <summary>The piece types of <c>sentencepiece_model.proto</c>.</summary>
internal enum SentencePieceKind
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// Writes a SentencePiece <c>ModelProto</c> (the <c>.model</c> file format, <c>sentencepiece_model.proto</c>) from a
/// vocabulary, so that a Hugging Face <c>tokenizer.json</c> of a SentencePiece model — Llama-2-style BPE with
/// <c>▁</c> pieces and byte fallback, or Unigram — is tokenized by Microsoft.ML.Tokenizers' own
/// <c>SentencePieceTokenizer</c> rather than by code of ours.
/// </summary>
/// <remarks>
/// Only the fields the tokenizer reads are written: pieces (text, score, type), the trainer's model type, byte
/// fallback and special ids, and the normalizer's dummy-prefix and whitespace flags (identity normalisation, no
/// precompiled character map). A BPE model merges the adjacent pair whose joined piece scores highest, so a
/// <c>tokenizer.json</c>'s merge rank r becomes the score −r of the piece it produces.
/// </remarks>
internal static class SentencePieceModel
{
    public const char Space = '\u2581';

    /// <param name="pieces">The vocabulary in id order.</param>
    /// <param name="unigram">Unigram model (else BPE).</param>
    /// <param name="byteFallback">Unknown characters become their UTF-8 byte pieces (<c>&lt;0x41&gt;</c>).</param>
    /// <param name="addDummyPrefix">A space is prepended to the text before encoding (Llama-2, T5).</param>
    /// <param name="unkId">Id of the unknown piece.</param>
    /// <param name="bosId">Id of the beginning-of-sentence piece, or -1.</param>
    /// <param name="eosId">Id of the end-of-sentence piece, or -1.</param>
    public static byte[] Write(IReadOnlyList<SentencePiece> pieces, bool unigram, bool byteFallback, bool addDummyPrefix, int unkId, int bosId, int eosId)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        var model = new MemoryStream();
        foreach (SentencePiece p in pieces)
        {
            var piece = new MemoryStream();
            WriteString(piece, 1, p.Piece);
            WriteTag(piece, 2, 5);
            piece.Write(BitConverter.GetBytes(p.Score));
            WriteVarintField(piece, 3, (ulong)p.Kind);
            WriteBytes(model, 1, piece.ToArray());
        }

        var trainer = new MemoryStream();
        WriteVarintField(trainer, 3, unigram ? 1UL : 2UL);
        WriteVarintField(trainer, 35, byteFallback ? 1UL : 0UL);
        WriteVarintField(trainer, 40, unchecked((ulong)(long)unkId));
        WriteVarintField(trainer, 41, unchecked((ulong)(long)bosId));
        WriteVarintField(trainer, 42, unchecked((ulong)(long)eosId));
        WriteVarintField(trainer, 43, unchecked((ulong)-1L));
        WriteBytes(model, 2, trainer.ToArray());

        var normalizer = new MemoryStream();
        WriteString(normalizer, 1, "identity");
        WriteVarintField(normalizer, 3, addDummyPrefix ? 1UL : 0UL);
        WriteVarintField(normalizer, 4, 0);
        WriteVarintField(normalizer, 5, 1);
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    /// <summary>
    /// The SentencePiece model of a <c>tokenizer.json</c> whose model is SentencePiece-style (Unigram, or BPE over
    /// <c>▁</c> pieces without a byte-level pre-tokenizer); null for any other (byte-level BPE, WordPiece, …).
    /// </summary>
    public static byte[]? FromHuggingFace(JsonElement root)
    {
        JsonElement model = root.GetProperty("model");
        string? type = model.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
        bool byteFallback = model.TryGetProperty("byte_fallback", out JsonElement bf) && bf.ValueKind == JsonValueKind.True;
        bool dummyPrefix = HasDummyPrefix(root);
        var special = SpecialTokens(root);
        if (type == "Unigram")
        {
            var pieces = new List<SentencePiece>();
            foreach (JsonElement entry in model.GetProperty("vocab").EnumerateArray())
            {
                string piece = entry[0].GetString() ?? "";
                pieces.Add(new SentencePiece(piece, (float)entry[1].GetDouble(), Kind(piece, special, -1, pieces.Count)));
            }

            int unk = model.TryGetProperty("unk_id", out JsonElement u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : -1;
            if (unk >= 0)
            {
                pieces[unk] = pieces[unk] with { Kind = SentencePieceKind.Unknown };
            }

            return Write(pieces, unigram: true, byteFallback, dummyPrefix, Math.Max(unk, 0), IdOf(pieces, "<s>"), IdOf(pieces, "</s>"));
        }

        if (type != "BPE" || MentionsByteLevel(root))
        {
            return null;
        }

        var vocab = new SortedDictionary<int, string>();
        foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[p.Value.GetInt32()] = p.Name;
        }

        if (!vocab.Values.Any(v => v.Length > 1 && v[0] == Space))
        {
            return null;
        }

        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        if (model.TryGetProperty("merges", out JsonElement merges))
        {
            int r = 0;
            foreach (JsonElement m in merges.EnumerateArray())
            {
                string joined = m.ValueKind == JsonValueKind.Array
                    ? m[0].GetString() + m[1].GetString()
                    : (m.GetString() ?? "").Replace(" ", "", StringComparison.Ordinal);
                rank.TryAdd(joined, r++);
            }
        }

        string? unkToken = model.TryGetProperty("unk_token", out JsonElement ut) ? ut.GetString() : null;
        int size = vocab.Count == 0 ? 0 : vocab.Keys.Max() + 1;
        var list = new List<SentencePiece>(size);
        for (int id = 0; id < size; id++)
        {
            string piece = vocab.GetValueOrDefault(id) ?? $"<unused{id}>";
            SentencePieceKind kind = piece == unkToken ? SentencePieceKind.Unknown : Kind(piece, special, -1, id);
            float score = rank.TryGetValue(piece, out int r) ? -r : 0f;
            list.Add(new SentencePiece(piece, score, vocab.ContainsKey(id) ? kind : SentencePieceKind.Unused));
        }

        int unkId = unkToken is not null && IdOf(list, unkToken) is >= 0 and int found ? found : 0;
        return Write(list, unigram: false, byteFallback, dummyPrefix, unkId, IdOf(list, "<s>"), IdOf(list, "</s>"));
    }

    private static int IdOf(List<SentencePiece> pieces, string piece) => pieces.FindIndex(p => p.Piece == piece);

    private static SentencePieceKind Kind(string piece, HashSet<string> special, int unk, int id)
    {
        if (id == unk)
        {
            return SentencePieceKind.Unknown;
        }

        if (special.Contains(piece))
        {
            return SentencePieceKind.Control;
        }

        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            ? SentencePieceKind.Byte
            : SentencePieceKind.Normal;
    }

    private static HashSet<string> SpecialTokens(JsonElement root)
    {
        var special = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in added.EnumerateArray())
            {
                if (t.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True)
                {
                    special.Add(t.GetProperty("content").GetString() ?? "");
                }
            }
        }

        return special;
    }

    private static bool MentionsByteLevel(JsonElement root)
    {
        foreach (string key in (string[])["pre_tokenizer", "decoder"])
        {
            if (root.TryGetProperty(key, out JsonElement e) && e.ValueKind == JsonValueKind.Object
                && e.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Llama-2's normalizer prepends <c>▁</c>; a Metaspace pre-tokenizer does unless its scheme is "never".</summary>
    private static bool HasDummyPrefix(JsonElement root)
    {
        if (root.TryGetProperty("normalizer", out JsonElement n) && n.ValueKind == JsonValueKind.Object
            && n.GetRawText().Contains("\"Prepend\"", StringComparison.Ordinal))
        {
            return true;
        }

        if (root.TryGetProperty("pre_tokenizer", out JsonElement p) && p.ValueKind == JsonValueKind.Object)
        {
            string raw = p.GetRawText();
            if (raw.Contains("\"Metaspace\"", StringComparison.Ordinal))
            {
                return !raw.Contains("\"never\"", StringComparison.Ordinal) && !raw.Contains("\"add_prefix_space\":false", StringComparison.Ordinal);
            }
        }

        return false;
    }

    private static void WriteTag(Stream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    private static void WriteVarintField(Stream s, int field, ulong value)
    {
        WriteTag(s, field, 0);
        WriteVarint(s, value);
    }

    private static void WriteString(Stream s, int field, string value) => WriteBytes(s, field, Encoding.UTF8.GetBytes(value));

    private static void WriteBytes(Stream s, int field, byte[] value)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)value.Length);
        s.Write(value);
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        s.WriteByte((byte)value);
    }
}
