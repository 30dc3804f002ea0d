namespace Splitwise.Tests.Cli;

/// <summary>The design options shared by simulate, serve and replay's prediction: contradictions are usage errors, found before any work.</summary>
public class DesignOptionsTests
{
    private static async Task<(int Code, string Err)> Run(params string[] args)
    {
        // If a bad design were accepted, serve would run until stopped: stop it, so the test fails instead of hanging.
        (int code, _, string err) = await CliRunner.RunAsync(args, TimeSpan.FromSeconds(30));
        return (code, err);
    }

    [Theory]
    [InlineData("serve", "--design", "splitwise-hh", "--prompt-machines", "1")]
    [InlineData("serve", "--design", "baseline-h100", "--token-machines", "2")]
    [InlineData("simulate", "--design", "splitwise-aa")]
    [InlineData("serve", "--design", "splitwise-hh", "--prompt-machines", "1", "--token-machines", "1", "--kv-transfer", "carrier-pigeon")]
    public async Task Contradictory_designs_are_usage_errors(params string[] args)
    {
        string[] extra = args[0] == "serve" ? ["--perf", "roofline", "--port", "0"] : ["--perf", "roofline"];
        (int code, string err) = await Run([.. args, .. extra]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Matches("prompt-machines|kv-transfer", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Replay_checks_its_prediction_design_before_sending_anything()
    {
        // Port 9 (discard) on loopback: if replay sent anything it would fail with exit 1, not 2.
        string dir = Directory.CreateTempSubdirectory("replay-predict").FullName;
        try
        {
            (int code, string err) = await Run("replay", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--trace", Path.Combine(dir, "none.csv"),
                "--predict", "splitwise-hh", "--predict-prompt-machines", "2", "--out", Path.Combine(dir, "out"));
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("--predict-token-machines", err, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "out", "requests.csv")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
