using System.Text.Json;
using Splitwise.Tests.Replay;

namespace Splitwise.Tests.Cli;

/// <summary><c>simulate --slo</c> and <c>replay --slo</c> read the same text into the same SLOs and reject the same
/// mistakes with the same message.</summary>
public class SloParityTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => Cli.CliRunner.RunAsync(args);

    private static string WriteTrace(string dir)
    {
        string path = Path.Combine(dir, "tiny.csv");
        File.WriteAllText(path, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0000000,37,3\n2023-11-16 18:15:46.0100000,39,3\n2023-11-16 18:15:46.0200000,12,1\n");
        return path;
    }

    /// <summary>Every request gets a three-chunk stream with usage.</summary>
    private static FakeHttpServer StreamingServer() => new(async (_, stream, _) =>
        await FakeHttpServer.WriteAsync(stream, FakeHttpServer.SseHeaders
            + "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[{\"text\":\" b\"}]}\n\ndata: {\"choices\":[{\"text\":\" c\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":37,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n"));

    [Theory]
    [InlineData("ttft_p99=2s,tbt_p99=200ms")]
    [InlineData("itl_p99.9=50ms, e2e_p50=1.5m,ttft=2,tpot=1s")]
    [InlineData("ttft_p999=3000000ns,tpot_p90=750us,,ttft_p999=4ms")]
    public async Task Simulate_and_replay_read_the_same_slo_text_into_the_same_slos_and_goodput_rule(string slo)
    {
        string dir = Directory.CreateTempSubdirectory("slo-parity").FullName;
        try
        {
            string trace = WriteTrace(dir);
            var (simCode, _, simErr) = await Run("simulate", "--trace", trace, "--machines", "1", "--perf", "roofline", "--slo", slo, "--out", Path.Combine(dir, "sim"));
            Assert.True(simCode == 0, simErr);
            await using FakeHttpServer server = StreamingServer();
            var (repCode, _, repErr) = await Run("replay", "--endpoint", server.BaseAddress.ToString(), "--model", "m", "--trace", trace, "--speedup", "100",
                "--no-warmup", "--timeout", "10s", "--slo", slo, "--out", Path.Combine(dir, "rep"));
            Assert.True(repCode == 0, repErr);

            using JsonDocument sim = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "sim", "slo.json")));
            using JsonDocument rep = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "rep", "summary.json")));
            string[] simSlos = [.. sim.RootElement.GetProperty("slos").EnumerateArray().Select(e => $"{e.GetProperty("name").GetString()}={e.GetProperty("target").GetString()}")];
            string[] repSlos = [.. rep.RootElement.GetProperty("slo_verdicts").EnumerateArray().Select(e => $"{e.GetProperty("key").GetString()}={e.GetProperty("target").GetString()}")];
            Assert.NotEmpty(simSlos);
            Assert.Equal(simSlos, repSlos);
            Assert.Equal(sim.RootElement.GetProperty("goodput_rule").GetString(), rep.RootElement.GetProperty("goodput_rule").GetString());
            Assert.Equal(Splitwise.Designs.SloSet.Parse(slo).ToString(), rep.RootElement.GetProperty("slo").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("ttft_p99=2q")]
    [InlineData("ttft_p99=2s,latency_p50=1s")]
    [InlineData("ttft_p150=1s")]
    [InlineData("e2e_p50=-1x")]
    [InlineData(",")]
    public async Task Simulate_and_replay_reject_the_same_slo_text_with_the_same_one_line_error(string slo)
    {
        string dir = Directory.CreateTempSubdirectory("slo-parity").FullName;
        try
        {
            string trace = WriteTrace(dir);
            var (simCode, _, simErr) = await Run("simulate", "--trace", trace, "--machines", "1", "--perf", "roofline", "--slo", slo, "--out", Path.Combine(dir, "sim"));
            var (repCode, _, repErr) = await Run("replay", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--trace", trace, "--slo", slo, "--out", Path.Combine(dir, "rep"));
            Assert.Equal(ExitCodes.Usage, simCode);
            Assert.Equal(ExitCodes.Usage, repCode);
            Assert.StartsWith("error: --slo '", simErr, StringComparison.Ordinal);
            Assert.Equal(simErr, repErr);
            Assert.Single(simErr.TrimEnd().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
