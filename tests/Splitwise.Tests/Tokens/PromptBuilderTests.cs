using CsCheck;
using Splitwise.Tokens;

namespace Splitwise.Tests.Tokens;

public class PromptBuilderTests
{
    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("o200k_base")]
    [InlineData("gpt2")]
    public void Prompts_re_encode_to_exactly_the_requested_length(string encoding)
    {
        var builder = new PromptBuilder(TextTokenizer.Create(encoding));
        int exact = 0, total = 0;
        Gen.Int[1, 8192].Sample(
            n =>
            {
                BuiltPrompt p = builder.Build(n, seed: (ulong)n * 31);
                total++;
                if (p.IsExact)
                {
                    exact++;
                }

                Assert.Equal(n, builder.Tokenizer.Count(p.Text));
            },
            iter: 150,
            seed: "0N0XIzNsQ0O2");
        Assert.Equal(total, exact);
    }

    [Fact]
    public void Same_length_and_seed_give_the_same_prompt_and_different_seeds_differ()
    {
        var builder = new PromptBuilder(TextTokenizer.Create("cl100k_base"));
        Assert.Equal(builder.Build(500, 7).Text, builder.Build(500, 7).Text);
        Assert.NotEqual(builder.Build(500, 7).Text, builder.Build(500, 8).Text);
    }

    [Fact]
    public void Filler_tokens_concatenate_to_exactly_one_token_each()
    {
        var builder = new PromptBuilder(TextTokenizer.Create("cl100k_base"));
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < 1000; i++)
        {
            text.Append(builder.FillerToken(42, i));
        }

        Assert.Equal(1000, builder.Tokenizer.Count(text.ToString()));
        Assert.Equal(builder.FillerToken(42, 17), builder.FillerToken(42, 17));
    }

    [Fact]
    public void Unknown_tokenizer_name_is_a_usage_error()
    {
        SplitwiseException ex = Assert.Throws<SplitwiseException>(() => TextTokenizer.Create("no_such_encoding"));
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains("cl100k_base", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_tokens_is_the_empty_prompt()
    {
        var builder = new PromptBuilder(TextTokenizer.Create("gpt2"));
        Assert.Equal("", builder.Build(0, 1).Text);
    }
}
