namespace Splitwise.Tokens;

/// <summary>
/// Tokens that are a space and a short lowercase ASCII word and encode to themselves: a text made of them re-encodes
/// to exactly one token per piece under pre-tokenizers that split before a space-led word (GPT-2, cl100k, o200k,
/// Llama 3). Ordered by id, so selections by index are deterministic for a given tokenizer.
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
        int[] one = new int[1];
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            one[0] = id;
            string text;
            try
            {
                text = tokenizer.Decode(one);
            }
            catch (ArgumentException)
            {
                continue; // a hole in the id space
            }
            catch (KeyNotFoundException)
            {
                continue;
            }

            if (!IsSpaceWord(text))
            {
                continue;
            }

            IReadOnlyList<int> back = tokenizer.Encode(text);
            if (back.Count == 1 && back[0] == id)
            {
                ids.Add(id);
                texts.Add(text);
            }
        }

        if (ids.Count < 16)
        {
            throw new SplitwiseException(
                $"tokenizer {tokenizer.Name}: found only {ids.Count} single-token ' word' pieces to build prompts from; use a byte-level BPE tokenizer (cl100k_base, o200k_base, gpt2 or a BPE tokenizer.json)",
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
