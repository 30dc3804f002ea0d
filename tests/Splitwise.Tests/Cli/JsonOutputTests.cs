using System.Text.Json;

namespace Splitwise.Tests.Cli;

/// <summary>
/// The <c>--json</c> documents of <c>perf-model check</c> and <c>provision</c>, written through JSON nodes (no
/// reflection, for the Native AOT tool): every field present, with its JSON type, in the documented order.
/// </summary>
public sealed class JsonOutputTests
{
    [Fact]
    public async Task Perf_model_check_json_has_the_summary_factors_and_one_row_per_configuration()
    {
        (int code, string output, string err) = await CliRunner.RunAsync(["perf-model", "check", "--json", "--profile", TestData.PerfModel]);
        Assert.True(code == 0, err);
        JsonElement doc = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["profile", "profile_loo_mape", "profile_point_loo_mape", "roofline_median_ape", "roofline_cases", "factors", "rows"],
            doc.EnumerateObject().Select(p => p.Name));
        Assert.Equal(TestData.PerfModel, doc.GetProperty("profile").GetString());
        Assert.InRange(doc.GetProperty("profile_loo_mape").GetDouble(), 0, 1);
        Assert.Equal(["compute", "memory", "network", "allreduce_latency_us", "iteration_overhead_us"],
            doc.GetProperty("factors").EnumerateObject().Select(p => p.Name));
        JsonElement[] rows = doc.GetProperty("rows").EnumerateArray().ToArray();
        Assert.NotEmpty(rows);
        Assert.Equal(rows.Length, rows.Select(r => r.GetProperty("configuration").GetString()).Distinct().Count());
        Assert.All(rows, r => Assert.True(r.GetProperty("points").GetInt32() > 1));
        Assert.Equal(doc.GetProperty("roofline_cases").GetInt32(), rows.Sum(r => r.GetProperty("roofline_cases").GetInt32()));
    }

    [Fact]
    public async Task Provision_json_names_the_best_choice_and_each_design_searched()
    {
        (int code, string output, string err) = await CliRunner.RunAsync(
            ["provision", "--trace", "conv-2023", "--rate", "4", "--duration", "300", "--objective", "cost", "--design", "baseline-h100", "--design", "baseline-a100",
             "--max-machines", "8", "--json", "--data-dir", TestData.AzureDir, "--profile", TestData.PerfModel]);
        Assert.True(code == 0, err);
        JsonElement doc = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["question", "engine", "best", "simulations", "designs"], doc.EnumerateObject().Select(p => p.Name));
        Assert.Equal("minimize-cost", doc.GetProperty("question").GetString());
        Assert.Equal("splitwise", doc.GetProperty("engine").GetString());
        JsonElement best = doc.GetProperty("best");
        Assert.Equal(["design", "machines", "prompt_machines", "token_machines", "rate", "dollars_per_hour", "watts", "slo_worst_ratio", "goodput_rps"],
            best.EnumerateObject().Select(p => p.Name));
        Assert.True(best.GetProperty("slo_worst_ratio").GetDouble() <= 1);
        JsonElement[] designs = doc.GetProperty("designs").EnumerateArray().ToArray();
        Assert.Equal(["baseline-h100", "baseline-a100"], designs.Select(d => d.GetProperty("design").GetString()));
        Assert.Equal(doc.GetProperty("simulations").GetInt32(), designs.Sum(d => d.GetProperty("simulations").GetInt32()));
        Assert.Contains(designs, d => d.GetProperty("best").ValueKind == JsonValueKind.Object
            && d.GetProperty("best").GetProperty("dollars_per_hour").GetDouble() == best.GetProperty("dollars_per_hour").GetDouble());
    }

    [Fact]
    public async Task Provision_searches_on_the_vllm_engine_phase_split_designs_included()
    {
        async Task<JsonElement> Provision(params string[] extra)
        {
            (int code, string output, string err) = await CliRunner.RunAsync(
                ["provision", "--trace", "conv-2023", "--rate", "4", "--duration", "300", "--objective", "cost", "--design", "splitwise-hh",
                 "--max-machines", "8", "--json", "--data-dir", TestData.AzureDir, "--profile", TestData.PerfModel, .. extra]);
            Assert.True(code == 0, err);
            return JsonDocument.Parse(output).RootElement;
        }

        JsonElement vllm = await Provision("--engine", "vllm"), splitwise = await Provision();
        Assert.Equal("vllm", vllm.GetProperty("engine").GetString());
        Assert.Equal(JsonValueKind.Object, vllm.GetProperty("best").ValueKind);
        Assert.True(vllm.GetProperty("best").GetProperty("slo_worst_ratio").GetDouble() <= 1);
        // The engine is what was simulated: the same search on the other engine judges its points differently.
        Assert.NotEqual(splitwise.GetProperty("designs")[0].GetProperty("best").GetRawText(), vllm.GetProperty("designs")[0].GetProperty("best").GetRawText());

        (int bad, _, string error) = await CliRunner.RunAsync(["provision", "--trace", "conv-2023", "--rate", "4", "--engine", "vllm", "--splitwise-sim", "--data-dir", TestData.AzureDir]);
        Assert.Equal(ExitCodes.Usage, bad);
        Assert.Contains("--splitwise-sim", error, StringComparison.Ordinal);
    }
}
