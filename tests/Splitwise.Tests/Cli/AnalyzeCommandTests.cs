using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using Splitwise.Reports;
using Splitwise.Tests.Reports;

namespace Splitwise.Tests.Cli;

public class AnalyzeCommandTests
{
    [Fact]
    public async Task Analyze_json_reports_the_published_facts_of_both_real_traces()
    {
        string code = TestData.CodeTrace, conv = TestData.ConvTrace;
        (int exit, string stdout, string stderr) = await CliRun.RunAsync("analyze", code, conv, "--json", "--no-plots");
        Assert.True(exit == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement[] traces = [.. doc.RootElement.GetProperty("traces").EnumerateArray()];
        Assert.Equal(2, traces.Length);
        Assert.Contains("ISCA 2024", doc.RootElement.GetProperty("attribution").GetString(), StringComparison.Ordinal);

        // The facts MISSION.md states, and the same figures computed here independently by sorting the columns.
        AssertTrace(traces[0], code, requests: 8819, inputMedian: 1469, inputMax: 7437, outputMedian: 13, outputMax: 1899, spanSeconds: 3436);
        AssertTrace(traces[1], conv, requests: 19366, inputMedian: 1020, inputMax: 14050, outputMedian: 129, outputMax: 1000, spanSeconds: 3502);
    }

    private static void AssertTrace(JsonElement t, string path, int requests, int inputMedian, int inputMax, int outputMedian, int outputMax, int spanSeconds)
    {
        Assert.Equal(requests, t.GetProperty("requests").GetInt64());
        Assert.Equal(inputMedian, t.GetProperty("input_tokens").GetProperty("p50").GetInt32());
        Assert.Equal(inputMax, t.GetProperty("input_tokens").GetProperty("max").GetInt32());
        Assert.Equal(outputMedian, t.GetProperty("output_tokens").GetProperty("p50").GetInt32());
        Assert.Equal(outputMax, t.GetProperty("output_tokens").GetProperty("max").GetInt32());
        Assert.Equal(spanSeconds, t.GetProperty("span_seconds").GetDouble(), 0.5);

        string[][] rows = [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))];
        int[] x = [.. rows.Select(r => int.Parse(r[1], CultureInfo.InvariantCulture)).Order()];
        int[] y = [.. rows.Select(r => int.Parse(r[2], CultureInfo.InvariantCulture)).Order()];
        Assert.Equal(rows.Length, requests);
        foreach ((string key, double p) in new[] { ("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9) })
        {
            int rank = (int)Math.Ceiling((decimal)p / 100m * x.Length);
            Assert.Equal(x[rank - 1], t.GetProperty("input_tokens").GetProperty(key).GetInt32());
            Assert.Equal(y[rank - 1], t.GetProperty("output_tokens").GetProperty(key).GetInt32());
        }

        Assert.Equal(x.Average(), t.GetProperty("input_tokens").GetProperty("mean").GetDouble(), 5);
        Assert.Equal(x[0], t.GetProperty("input_tokens").GetProperty("min").GetInt32());
        Assert.Equal(y[0], t.GetProperty("output_tokens").GetProperty("min").GetInt32());
    }

    [Fact]
    public async Task Analyze_writes_every_figure_as_png_and_svg_and_a_report()
    {
        using var dir = new CliRun.TempDir();
        (int exit, string stdout, string stderr) = await CliRun.RunAsync("analyze", TestData.ConvTrace, TestData.CodeTrace, "--out", dir.Path, "--sample", "2000");
        Assert.True(exit == 0, stderr);
        Assert.Contains("19,366", stdout, StringComparison.Ordinal);
        Assert.Contains("ISCA 2024", stdout, StringComparison.Ordinal);

        string[] expected = ["cdf-input-tokens", "cdf-output-tokens"];
        foreach (string slug in new[] { "azurellminferencetrace_conv.csv", "azurellminferencetrace_code.csv" })
        {
            expected = [.. expected, .. new[] { "arrivals", "input-tokens", "output-tokens", "scatter", "requests-per-minute", "tokens-per-minute" }.Select(k => $"{slug}-{k}")];
        }

        foreach (string id in expected)
        {
            FigureDataTests.AssertPng(File.ReadAllBytes(dir.File(id + ".png")), FigureRenderer.Width, FigureRenderer.Height);
            Assert.Equal("svg", XDocument.Load(dir.File(id + ".svg")).Root!.Name.LocalName);
        }

        string html = File.ReadAllText(dir.File("report.html"));
        Assert.Equal(expected.Length, html.Split("data:image/svg+xml;base64,").Length - 1);
        Assert.Contains("Patel et al.", html, StringComparison.Ordinal);
        Assert.Contains("AzurePublicDataset", html, StringComparison.Ordinal);
        Assert.Contains("19,366", html, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        Assert.Equal(expected.Length * 2 + 1, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public async Task Unknown_trace_is_a_usage_error_on_one_line()
    {
        (int exit, string stdout, string stderr) = await CliRun.RunAsync("analyze", "no-such-trace.csv", "--no-plots");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("no-such-trace.csv", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_format_name_is_a_usage_error()
    {
        using var dir = new CliRun.TempDir();
        File.WriteAllText(dir.File("t.csv"), "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,1,2\n");
        (int exit, _, string stderr) = await CliRun.RunAsync("analyze", dir.File("t.csv"), "--format", "parquet", "--no-plots");
        Assert.Equal(2, exit);
        Assert.Contains("parquet", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_argument_is_a_usage_error()
    {
        (int exit, _, _) = await CliRun.RunAsync("analyze");
        Assert.Equal(2, exit);
    }

    [Fact]
    public async Task Json_is_identical_run_to_run_and_multiple_traces_keep_their_order()
    {
        using var dir = new CliRun.TempDir();
        string a = dir.File("a.csv"), b = dir.File("b.csv");
        File.WriteAllText(a, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.0000000,10,2\n2023-11-16 18:17:04.5000000,30,4\n2023-11-16 18:18:05.0000000,20,3\n");
        File.WriteAllText(b, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.0000000,1,1\n2023-11-16 18:17:13.0000000,2,2\n");
        (int exit, string first, string err) = await CliRun.RunAsync("analyze", a, b, "--json", "--no-plots");
        Assert.True(exit == 0, err);
        (_, string second, _) = await CliRun.RunAsync("analyze", a, b, "--json", "--no-plots");
        Assert.Equal(first, second);
        using JsonDocument doc = JsonDocument.Parse(first);
        JsonElement t0 = doc.RootElement.GetProperty("traces")[0];
        Assert.Equal("a.csv", t0.GetProperty("name").GetString());
        Assert.Equal(20, t0.GetProperty("input_tokens").GetProperty("p50").GetInt32());
        Assert.Equal(62.0, t0.GetProperty("span_seconds").GetDouble(), 9);
        Assert.Equal(2 / 60.0, t0.GetProperty("peak_minute_rate_per_second").GetDouble(), 6);
        Assert.Equal(1.0, t0.GetProperty("pearson").GetDouble(), 9);
        Assert.Equal("b.csv", doc.RootElement.GetProperty("traces")[1].GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("traces")[1].GetProperty("inter_arrival_cv").ValueKind);
    }

    [Fact]
    public async Task Skip_invalid_reports_the_skipped_rows_and_without_it_the_bad_row_fails()
    {
        using var dir = new CliRun.TempDir();
        string path = dir.File("bad.csv");
        File.WriteAllText(path, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.0000000,10,2\n2023-11-16 18:17:04.0000000,12x,3\n2023-11-16 18:17:05.0000000,20,3\n");
        (int exit, string stdout, string stderr) = await CliRun.RunAsync("analyze", path, "--json", "--no-plots", "--skip-invalid");
        Assert.True(exit == 0, stderr);
        Assert.Contains("skipped 1 invalid rows", stderr, StringComparison.Ordinal);
        Assert.Contains("bad.csv:3", stderr, StringComparison.Ordinal);
        using (JsonDocument doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal(2, doc.RootElement.GetProperty("traces")[0].GetProperty("requests").GetInt64());
            Assert.Equal(1, doc.RootElement.GetProperty("traces")[0].GetProperty("skipped_rows").GetInt64());
        }

        (exit, stdout, stderr) = await CliRun.RunAsync("analyze", path, "--no-plots");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Contains("bad.csv:3", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_order_file_gets_the_same_statistics_as_the_sorted_file()
    {
        using var dir = new CliRun.TempDir();
        var rng = new Random(4);
        var rows = Enumerable.Range(0, 500)
            .Select(i => (T: new DateTime(2023, 11, 16, 18, 0, 0, DateTimeKind.Utc).AddTicks(rng.NextInt64(TimeSpan.TicksPerHour)), X: rng.Next(1, 9000), Y: rng.Next(1, 900)))
            .ToList();
        static string Csv(IEnumerable<(DateTime T, int X, int Y)> r) =>
            "TIMESTAMP,ContextTokens,GeneratedTokens\n" + string.Concat(r.Select(v => v.T.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + $",{v.X},{v.Y}\n"));
        File.WriteAllText(dir.File("shuffled.csv"), Csv(rows));
        File.WriteAllText(dir.File("sorted.csv"), Csv(rows.OrderBy(r => r.T)));
        (int exit, string shuffled, string err) = await CliRun.RunAsync("analyze", dir.File("shuffled.csv"), "--json", "--no-plots");
        Assert.True(exit == 0, err);
        Assert.Contains("arrivals earlier than the row before them", err, StringComparison.Ordinal);
        (_, string sorted, _) = await CliRun.RunAsync("analyze", dir.File("sorted.csv"), "--json", "--no-plots");
        using JsonDocument a = JsonDocument.Parse(shuffled), b = JsonDocument.Parse(sorted);
        JsonElement ta = a.RootElement.GetProperty("traces")[0], tb = b.RootElement.GetProperty("traces")[0];
        Assert.True(ta.GetProperty("out_of_order_rows").GetInt64() > 100);
        foreach (string key in new[] { "inter_arrival_cv", "mean_rate_per_second", "peak_minute_rate_per_second", "spearman", "pearson" })
        {
            Assert.Equal(tb.GetProperty(key).GetDouble(), ta.GetProperty(key).GetDouble(), 9);
        }
    }
}
