namespace Splitwise.Tests;

public class GoldenTests
{
    [Fact]
    public void A_difference_names_the_first_differing_line_and_shows_both_sides()
    {
        Assert.Null(Golden.Difference("a\nb\n", "a\nb\n"));
        Assert.Equal("first difference at line 2:\n  golden: b\n  actual: x", Golden.Difference("a\nb\nc\n", "a\nx\nc\n"));
        Assert.Equal("first difference at line 3:\n  golden: c\n  actual: (end of file)", Golden.Difference("a\nb\nc", "a\nb"));
        Assert.Equal("first difference at line 2:\n  golden: (end of file)\n  actual: more", Golden.Difference("a", "a\nmore"));
    }

    [Fact]
    public void A_mismatch_fails_with_the_difference_and_the_variable_that_regenerates()
    {
        // Never in update mode: the check would overwrite the golden file with this text.
        Assert.SkipWhen(Golden.Updating, $"{Golden.UpdateVariable}=1 rewrites golden files instead of comparing them");
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Golden.Check("reports/simulate-figures.txt", "figure nothing\n"));
        Assert.Contains("first difference at line 1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("actual: figure nothing", e.Message, StringComparison.Ordinal);
        Assert.Contains("SPLITWISE_UPDATE_GOLDEN=1", e.Message, StringComparison.Ordinal);
    }
}
