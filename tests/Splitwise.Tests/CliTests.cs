using Splitwise.Cli;

namespace Splitwise.Tests;

public class CliTests
{
    [Fact]
    public async Task Unknown_option_is_a_usage_error_with_exit_code_2()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await SplitwiseCli.InvokeAsync(["--no-such-option"], new CliContext(output, error, interactive: false), TestContext.Current.CancellationToken);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--no-such-option", error.ToString(), StringComparison.Ordinal);
    }
}
