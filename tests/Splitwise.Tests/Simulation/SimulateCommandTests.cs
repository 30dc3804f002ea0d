using Splitwise.Tests.Cli;

namespace Splitwise.Tests.Simulation;

public class SimulateCommandTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.RunAsync(args);

    private static string WriteTrace(string dir)
    {
        string path = Path.Combine(dir, "tiny.csv");
        File.WriteAllText(path, """
            TIMESTAMP,ContextTokens,GeneratedTokens
            2023-11-16 18:15:46.6805900,374,44
            2023-11-16 18:15:50.9951690,396,109
            2023-11-16 18:15:51.0000000,2500,3
            2023-11-16 18:15:52.1234567,12,1
            """.Replace("\r", "", StringComparison.Ordinal) + "\n");
        return path;
    }

    [Fact]
    public async Task Simulate_with_slos_reports_each_ratio_and_goodput_in_summary_json()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-slo").FullName;
        try
        {
            string trace = WriteTrace(dir);
            string outDir = Path.Combine(dir, "out");
            // An absolute TTFT bound no request can meet and a generous E2E bound every request meets.
            var (code, stdout, stderr) = await Run("simulate", "--trace", trace, "--machines", "2", "--perf", "roofline", "--slo", "ttft_p50=1ns,e2e_p99=1000s", "--out", outDir);
            Assert.True(code == 0, stderr);
            Assert.Contains("FAIL", stdout, StringComparison.Ordinal);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            System.Text.Json.JsonElement slo = doc.RootElement.GetProperty("slo");
            Assert.False(slo.GetProperty("all_pass").GetBoolean());
            var slos = slo.GetProperty("slos").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e);
            Assert.Equal(2, slos.Count);
            Assert.False(slos["ttft_p50"].GetProperty("pass").GetBoolean());
            Assert.True(slos["ttft_p50"].GetProperty("ratio").GetDouble() > 1);
            Assert.True(slos["e2e_p99"].GetProperty("pass").GetBoolean());
            Assert.True(slos["e2e_p99"].GetProperty("ratio").GetDouble() < 1);
            Assert.Equal(0, slo.GetProperty("good_requests").GetInt32());
            Assert.Equal("roofline", doc.RootElement.GetProperty("performance_model").GetString());
            Assert.Equal(2, doc.RootElement.GetProperty("machines").GetInt32());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Simulate_writes_the_four_outputs_with_splitwise_sim_columns()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-cli").FullName;
        try
        {
            string trace = WriteTrace(dir);
            string outDir = Path.Combine(dir, "out");
            var (code, stdout, stderr) = await Run("simulate", "--trace", trace, "--machines", "2", "--perf", "roofline", "--out", outDir);
            Assert.True(code == 0, stderr);
            Assert.Contains("4 requests, 4 finished", stdout, StringComparison.Ordinal);
            string header = File.ReadLines(Path.Combine(outDir, "summary.csv")).First();
            foreach (string column in new[] { "ttft_times_p99", "tbt_times_p50", "response_times_p90", "queue_times_mean", "tpot_times_p999", "energy_kwh", "cost_usd" })
            {
                Assert.Contains(column, header.Split(','));
            }

            Assert.Equal(5, File.ReadAllLines(Path.Combine(outDir, "requests.csv")).Length);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "instances.csv")).Length);
            Assert.Contains("\"all_finished\": true", File.ReadAllText(Path.Combine(outDir, "summary.json")), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Simulate_with_config_file_and_json_output()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-cli").FullName;
        try
        {
            string trace = WriteTrace(dir);
            string config = Path.Combine(dir, "cluster.yaml");
            File.WriteAllText(config, "design: mine\nperformance: roofline\nscheduler: round-robin\npools:\n  - { machine: dgx-a100, count: 1 }\n  - { machine: dgx-h100, count: 1, tensor_parallel: 4 }\n");
            var (code, stdout, stderr) = await Run("simulate", "--trace", trace, "--config", config, "--json", "--out", Path.Combine(dir, "o"));
            Assert.True(code == 0, stderr);
            Assert.Contains("\"design\": \"mine\"", stdout, StringComparison.Ordinal);
            Assert.Contains("\"instances\": 3", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_config_with_prompt_and_token_pools_is_the_named_splitwise_design()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-cli").FullName;
        try
        {
            string trace = WriteTrace(dir);
            string config = Path.Combine(dir, "split.yaml");
            File.WriteAllText(config, "design: my-split\nperformance: roofline\npools:\n  - { machine: dgx-h100, count: 2, roles: prompt }\n  - { machine: dgx-a100, count: 1, roles: token }\n");
            var (code, _, stderr) = await Run("simulate", "--trace", trace, "--config", config, "--out", Path.Combine(dir, "yaml"));
            Assert.True(code == 0, stderr);
            (code, _, stderr) = await Run("simulate", "--trace", trace, "--design", "splitwise-ha", "--prompt-machines", "2", "--token-machines", "1", "--perf", "roofline", "--out", Path.Combine(dir, "named"));
            Assert.True(code == 0, stderr);
            string yaml = File.ReadAllText(Path.Combine(dir, "yaml", "requests.csv")), named = File.ReadAllText(Path.Combine(dir, "named", "requests.csv"));
            Assert.Equal(named, yaml);
            Assert.Contains(",done,", yaml, StringComparison.Ordinal);
            Assert.Contains("dgx-a100", File.ReadAllText(Path.Combine(dir, "yaml", "instances.csv")), StringComparison.Ordinal);

            File.WriteAllText(config, "pools:\n  - { machine: dgx-h100, count: 2, roles: prompt }\n  - { machine: dgx-h100, count: 1, roles: mixed }\n");
            (code, _, stderr) = await Run("simulate", "--trace", trace, "--config", config, "--out", Path.Combine(dir, "bad"));
            Assert.Equal(ExitCodes.Usage, code);
            Assert.Contains("roles: token", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("--design", "baseline-z100", false)]
    [InlineData("--perf", "magic", false)]
    [InlineData("--scheduler", "random-ish", false)]
    [InlineData("--machines", "0", false)]
    [InlineData("--horizon", "-5s", false)]
    [InlineData("--engine", "sglang", false)]
    [InlineData("--max-num-seqs", "8", false)] // a vLLM setting without --engine vllm
    [InlineData("--block-size", "48", true)]
    [InlineData("--gpu-memory-utilization", "1.5", true)]
    [InlineData("--design", "splitwise-hh", true)] // the vLLM engine runs colocated clusters only
    public async Task Bad_options_are_one_line_usage_errors(string option, string value, bool vllm)
    {
        string dir = Directory.CreateTempSubdirectory("simulate-cli").FullName;
        try
        {
            string[] perf = option == "--perf" ? [] : ["--perf", "roofline"];
            string[] engine = vllm ? ["--engine", "vllm"] : [];
            var (code, _, stderr) = await Run(["simulate", "--trace", WriteTrace(dir), .. perf, .. engine, option, value, "--out", Path.Combine(dir, "o")]);
            Assert.Equal(ExitCodes.Usage, code);
            Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Three turns of one conversation in Mooncake's format: each turn's chain repeats the previous turn's ids.</summary>
    private static string WriteThreeTurns(string dir)
    {
        string trace = Path.Combine(dir, "turns.jsonl");
        File.WriteAllText(trace, string.Join('\n',
            "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 20, \"hash_ids\": [1, 2, 3]}",
            "{\"timestamp\": 60000, \"input_length\": 1700, \"output_length\": 20, \"hash_ids\": [1, 2, 4, 5]}",
            "{\"timestamp\": 120000, \"input_length\": 2300, \"output_length\": 20, \"hash_ids\": [1, 2, 4, 6, 7]}") + "\n");
        return trace;
    }

    [Fact]
    public async Task Simulate_with_the_vllm_engine_reports_its_prefix_cache_and_cached_tokens_per_request()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-vllm").FullName;
        try
        {
            string trace = WriteThreeTurns(dir);
            string outDir = Path.Combine(dir, "out");
            var (code, stdout, stderr) = await Run("simulate", "--trace", trace, "--machines", "1", "--perf", "roofline", "--engine", "vllm", "--out", outDir);
            Assert.True(code == 0, stderr);
            Assert.Contains("vLLM engine: prefix cache hit", stdout, StringComparison.Ordinal);

            // Turn 2 shares two 512-token chain blocks with turn 1, turn 3 three with turn 2.
            string[] lines = File.ReadAllLines(Path.Combine(outDir, "requests.csv"));
            int column = Array.IndexOf(lines[0].Split(','), "cached_tokens");
            Assert.Equal(["0", "1024", "1536"], lines.Skip(1).Select(l => l.Split(',')[column]));
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
            System.Text.Json.JsonElement vllm = doc.RootElement.GetProperty("vllm");
            Assert.Equal(1024 + 1536, vllm.GetProperty("prefix_hit_tokens").GetInt64());
            Assert.Equal(1100 + 1700 + 2300, vllm.GetProperty("prefix_query_tokens").GetInt64());
            Assert.Equal(2, vllm.GetProperty("prefix_hit_requests").GetInt64());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_config_with_engine_vllm_is_the_same_flags_and_a_flag_overrides_it()
    {
        string dir = Directory.CreateTempSubdirectory("simulate-vllm-config").FullName;
        try
        {
            string trace = WriteThreeTurns(dir);
            string config = Path.Combine(dir, "vllm.yaml");
            File.WriteAllText(config, "performance: roofline\nengine: vllm\nvllm: { max_num_batched_tokens: 512, block_size: 32, prefix_caching: false }\npools:\n  - { machine: dgx-h100, count: 1 }\n");
            async Task<string> Requests(string name, params string[] args)
            {
                var (code, _, stderr) = await Run(["simulate", "--trace", trace, "--out", Path.Combine(dir, name), .. args]);
                Assert.True(code == 0, stderr);
                return File.ReadAllText(Path.Combine(dir, name, "requests.csv"));
            }

            string yaml = await Requests("yaml", "--config", config);
            string flags = await Requests("flags", "--machines", "1", "--perf", "roofline", "--engine", "vllm", "--max-num-batched-tokens", "512", "--block-size", "32", "--no-prefix-caching");
            Assert.Equal(flags, yaml);
            Assert.DoesNotContain(",1024,", yaml, StringComparison.Ordinal); // caching off: no hits

            // A flag overrides only what it sets: --block-size 16 keeps the config's budget and caching off.
            Assert.Equal(
                await Requests("flags16", "--machines", "1", "--perf", "roofline", "--engine", "vllm", "--max-num-batched-tokens", "512", "--no-prefix-caching"),
                await Requests("yaml16", "--config", config, "--engine", "vllm", "--block-size", "16"));

            // Phase-split pools on the vLLM engine: the config is the Splitwise design's flags.
            File.WriteAllText(config, "performance: roofline\nengine: vllm\npools:\n  - { machine: dgx-h100, count: 1, roles: prompt }\n  - { machine: dgx-h100, count: 1, roles: token }\n");
            string split = await Requests("split-yaml", "--config", config);
            Assert.Equal(await Requests("split-flags", "--design", "splitwise-hh", "--prompt-machines", "1", "--token-machines", "1", "--perf", "roofline", "--engine", "vllm"), split);
            Assert.Contains(",0,1,done,", split, StringComparison.Ordinal); // prefill on instance 0, decode on 1
            var (layerwise, _, layerwiseError) = await Run("simulate", "--trace", trace, "--design", "splitwise-hh", "--prompt-machines", "1", "--token-machines", "1", "--engine", "vllm", "--kv-transfer", "layerwise", "--out", Path.Combine(dir, "bad"));
            Assert.Equal(ExitCodes.Usage, layerwise);
            Assert.Contains("KV connector", layerwiseError, StringComparison.Ordinal);

            // A scheduler the cluster cannot use is named, not silently replaced or half applied.
            foreach ((string[] args, string why) in new[]
            {
                (new[] { "--design", "splitwise-hh", "--prompt-machines", "1", "--token-machines", "1", "--scheduler", "jsq" }, "with a phase-split design"),
                (new[] { "--machines", "2", "--engine", "vllm", "--scheduler", "prefix:3:2:2:256" }, "P/D threshold"),
            })
            {
                var (code, _, error) = await Run(["simulate", "--trace", trace, "--perf", "roofline", "--out", Path.Combine(dir, "bad"), .. args]);
                Assert.Equal(ExitCodes.Usage, code);
                Assert.Contains(why, error, StringComparison.Ordinal);
            }

            foreach ((string text, string why) in new[]
            {
                ("engine: sglang\npools:\n  - { machine: dgx-h100, count: 1 }\n", "engine 'sglang'"),
                ("vllm: { block_size: 32 }\npools:\n  - { machine: dgx-h100, count: 1 }\n", "need 'engine: vllm'"),
            })
            {
                File.WriteAllText(config, text);
                var (code, _, stderr) = await Run("simulate", "--trace", trace, "--config", config, "--out", Path.Combine(dir, "bad"));
                Assert.Equal(ExitCodes.Usage, code);
                Assert.Contains(why, stderr, StringComparison.Ordinal);
                Assert.Contains(config, stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
