using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Profiling;

public class ProfileCommandTests
{
    [Theory]
    [InlineData("--prompt-sizes", "128,abc", "--prompt-sizes '128,abc': 'abc' is not a positive integer")]
    [InlineData("--batch-sizes", "1,1", "--batch-sizes '1,1': a size is listed twice")]
    [InlineData("--output-tokens", "2", "--output-tokens 2: must be at least 4")]
    [InlineData("--max-batch-tokens", "64", "no grid point has prompt size × batch size <= --max-batch-tokens 64")]
    [InlineData("--hardware", "a,b", "--hardware 'a,b': give a GPU name without commas")]
    public async Task Bad_flags_are_one_usage_line(string flag, string value, string message)
    {
        (int code, _, string err) = await CliRunner.RunAsync(["profile", "--endpoint", "http://127.0.0.1:9", "--model", "m", flag, value]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task An_unreachable_server_is_one_failure_line_and_no_profile()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("profile-cli").FullName, "p.csv");
        // Port 9 (discard) on loopback: nothing listens there.
        (int code, _, string err) = await CliRunner.RunAsync(["profile", "--endpoint", "http://127.0.0.1:9", "--model", "m", "-o", path, "--no-calibrate"]);
        Assert.Equal(ExitCodes.Failure, code);
        string last = err.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: the first request to http://127.0.0.1:9/v1/completions failed: connection_refused", last, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
