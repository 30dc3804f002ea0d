namespace Splitwise.Tokens;

/// <summary>
/// Tokens that are a space and a short lowercase ASCII word and encode to themselves: a text made of them re-encodes
/// to one token per piece under pre-tokenizers that split before a space-led word (GPT-2, cl100k, o200k, Llama 3)
/// and SentencePiece models (Llama 2: <c>▁word</c> pieces; a dummy prefix before the first word is left to the
/// prompt builder's re-encoding). Ordered by id, so selections by index are deterministic for a given tokenizer.
/// </summary>
internal sealed class FillerVocabulary
{
    private FillerVocabulary(int[] ids, string[] texts)
    {
        Ids = ids;
        Texts = texts;
    }

    public int[] Ids { get; }

    public string[] Texts { get; }

    public int Count => Ids.Length;

    public static FillerVocabulary Build(TextTokenizer tokenizer)
    {
        var ids = new List<int>();
        var texts = new List<string>();
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            string? text;
            try
            {
                text = tokenizer.PieceText(id);
            }
            catch (ArgumentException)
            {
                continue; // a hole in the id space
            }
            catch (KeyNotFoundException)
            {
                continue;
            }

            if (text is null || !IsSpaceWord(text))
            {
                continue;
            }

            // A SentencePiece model with a dummy prefix adds the space itself: "word" is the piece "▁word".
            IReadOnlyList<int> back = tokenizer.Encode(text[1..]);
            if (back.Count != 1 || back[0] != id)
            {
                back = tokenizer.Encode(text);
            }

            if (back.Count == 1 && back[0] == id)
            {
                ids.Add(id);
                texts.Add(text);
            }
        }

        if (ids.Count < 16)
        {
            throw new SplitwiseException(
                $"tokenizer {tokenizer.Name}: found only {ids.Count} single-token ' word' pieces to build prompts from; give the served model's tokenizer.json or .model, or --tokenizer server",
                ExitCodes.Usage);
        }

        return new FillerVocabulary([.. ids], [.. texts]);
    }

    private static bool IsSpaceWord(string text)
    {
        if (text.Length < 3 || text.Length > 11 || text[0] != ' ')
        {
            return false;
        }

        for (int i = 1; i < text.Length; i++)
        {
            if (text[i] is < 'a' or > 'z')
            {
                return false;
            }
        }

        return true;
    }
}
