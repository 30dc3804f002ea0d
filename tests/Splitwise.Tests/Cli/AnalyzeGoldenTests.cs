using System.Globalization;
using System.Text;
using Splitwise.Reports;

namespace Splitwise.Tests.Cli;

/// <summary>
/// <c>analyze</c>'s JSON statistics and the figure data of its report on a trace generated here, against the golden
/// files in <c>Fixtures/analyze/</c>.
/// </summary>
public sealed class AnalyzeGoldenTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("analyze-golden").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>300 requests over about five minutes from a fixed linear congruential stream: gaps under 2 s in 100-ns
    /// ticks (every tenth exactly 1 s), prompts of 1–4096 tokens, outputs of 1–512.</summary>
    private string WriteTrace()
    {
        var sb = new StringBuilder("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        var t = new DateTime(2023, 11, 16, 18, 15, 0, DateTimeKind.Utc);
        uint x = 12345;
        uint Next(uint n)
        {
            x = (x * 1_103_515_245) + 12_345;
            return (x >> 8) % n;
        }

        for (int i = 0; i < 300; i++)
        {
            t = t.AddTicks(i % 10 == 0 ? 10_000_000 : Next(20_000_000));
            sb.Append(t.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append(',')
                .Append((Next(4096) + 1).ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append((Next(512) + 1).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return GoldenInputs.Write(_dir, "generated.csv", sb.ToString());
    }

    [Fact]
    public async Task Analyze_json_and_figure_data_match_the_golden_files()
    {
        string trace = WriteTrace();
        (int code, string json, string stderr) = await CliRun.RunAsync("analyze", trace, "--json", "--no-plots");
        Assert.True(code == 0, stderr);
        Golden.Check("analyze/statistics.json", json.Replace(_dir, "<dir>", StringComparison.Ordinal));
        TraceAnalysis analysis = TraceAnalyzer.AnalyzeFile(trace, "generated.csv", sampleSize: 100);
        Golden.Check("analyze/figures.txt", Golden.Describe(FigureData.Build([analysis])));
    }
}
