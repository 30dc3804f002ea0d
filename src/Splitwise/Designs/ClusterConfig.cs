using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Simulation;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Splitwise.Designs;

/// <summary>A group of identical machines with the same role.</summary>
/// <param name="Machine">Catalog machine name, e.g. <c>dgx-h100</c>.</param>
/// <param name="Count">Machines in the pool.</param>
/// <param name="Roles">Phases its instances run (<see cref="InstanceRoles.Mixed"/> for a baseline).</param>
/// <param name="TensorParallel">GPUs per instance.</param>
public sealed record PoolSpec(string Machine, int Count, InstanceRoles Roles = InstanceRoles.Mixed, int TensorParallel = 8);

/// <summary>
/// A cluster to simulate: its pools, the model, the performance model, the cluster scheduler and the machine-level
/// limits. Built from a named design (<see cref="ClusterConfig.ForDesign"/>) or a YAML file (<see cref="Load"/>).
/// </summary>
public sealed record ClusterConfig
{
    /// <summary>Design name for reports.</summary>
    public required string Design { get; init; }

    public required IReadOnlyList<PoolSpec> Pools { get; init; }

    public string Model { get; init; } = "llama2-70b";

    public PerformanceModelKind Performance { get; init; } = PerformanceModelKind.Profile;

    public string Scheduler { get; init; } = "token-jsq";

    public BatchLimits Limits { get; init; } = BatchLimits.Default;

    /// <summary>GQA-aware KV sizing; false reproduces SplitwiseSim (2 × hidden × layers × bytes per token).</summary>
    public bool Gqa { get; init; } = true;

    /// <summary>KV bytes kept free per instance (activations, fragmentation).</summary>
    public long KvReserveBytes { get; init; }

    /// <summary>Splitwise designs (prompt/token pools): KV transfer and scheduler settings; null for the defaults.</summary>
    public SplitwiseOptions? Splitwise { get; init; }

    /// <summary>The vLLM V1 engine personality (<c>--engine vllm</c>) and its settings; null: the SplitwiseSim-style
    /// engine (whole-request KV reservation, whole prompts, eviction without recompute).</summary>
    public VllmEngineOptions? Vllm { get; init; }

    /// <summary>True when instances run the vLLM V1 personality.</summary>
    public bool IsVllm => Vllm is not null;

    /// <summary>True when the run follows SplitwiseSim exactly (<c>--splitwise-sim</c>).</summary>
    public bool IsSplitwiseSim => Limits.SplitwiseSimRules;

    /// <summary>
    /// The same cluster with SplitwiseSim's rules (<c>--splitwise-sim</c>): KV sized without GQA, SplitwiseSim's memory
    /// reservation, its machine-level scheduler and, for Splitwise designs, its cluster-level scheduler and KV transfer.
    /// </summary>
    public ClusterConfig AsSplitwiseSim() =>
        this with { Gqa = false, Limits = Limits with { ReserveFullRequest = false, SplitwiseSimRules = true } };

    /// <summary>The designs this engine builds by name.</summary>
    public static IReadOnlyList<string> DesignNames { get; } = [.. SplitwiseDesignCatalog.Definitions.Where(d => !d.IsSplit).Select(d => d.Name)];

    /// <summary>A named design with <paramref name="machines"/> machines.</summary>
    public static ClusterConfig ForDesign(string design, int machines, int tensorParallel = 8)
    {
        if (machines < 1)
        {
            throw SplitwiseException.Usage($"--machines must be at least 1 (got {machines})");
        }

        SplitwiseDesignCatalog.Definition? d = SplitwiseDesignCatalog.Definitions.FirstOrDefault(x => !x.IsSplit && x.Name.Equals(design, StringComparison.OrdinalIgnoreCase))
            ?? throw SplitwiseException.Usage($"unknown design '{design}'; available: {string.Join(", ", DesignNames)}");
        return new ClusterConfig { Design = d.Name, Pools = [new PoolSpec(d.PromptMachine, machines, InstanceRoles.Mixed, tensorParallel)] };
    }

    /// <summary>Machines in the cluster.</summary>
    public int MachineCount => Pools.Sum(p => p.Count);

    /// <summary>The instances of this cluster, in pool order (machine by machine).</summary>
    public IReadOnlyList<InstanceSpec> BuildInstances(Catalog catalog, ProfileTable? profile)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var model = catalog.Model(Model);
        var instances = new List<InstanceSpec>();
        int machineIndex = 0;
        foreach (PoolSpec pool in Pools)
        {
            MachineSpec machine = catalog.Machine(pool.Machine);
            if (pool.TensorParallel < 1 || pool.TensorParallel > machine.GpuCount)
            {
                throw SplitwiseException.Usage($"tensor parallelism {pool.TensorParallel} does not fit a {machine.Name} with {machine.GpuCount} GPUs; use 1..{machine.GpuCount}");
            }

            int perMachine = machine.GpuCount / pool.TensorParallel;
            IPerformanceModel perf = PerformanceModels.Create(Performance, model, machine.Gpu, pool.TensorParallel, machine, profile);
            long capacity = InstanceSpec.KvCapacity(machine, pool.TensorParallel, model, KvReserveBytes);
            long kvPerToken = model.KvBytesPerToken(Gqa);
            VllmLimits? vllm = Vllm?.Resolve(machine, pool.TensorParallel, model, kvPerToken, KvReserveBytes);
            if (vllm is { } v)
            {
                capacity = v.UsableBytes; // what the blocks hold
            }

            for (int m = 0; m < pool.Count; m++, machineIndex++)
            {
                for (int k = 0; k < perMachine; k++)
                {
                    string name = perMachine == 1 ? $"{machine.Name}/{machineIndex}" : $"{machine.Name}/{machineIndex}.{k}";
                    instances.Add(new InstanceSpec(name, machine, machineIndex, pool.TensorParallel, model, perf, capacity, kvPerToken, pool.Roles, Limits) { Vllm = vllm });
                }
            }
        }

        return instances;
    }

    /// <summary>
    /// Reads a cluster description:
    /// <code>
    /// design: my-cluster          # a name for reports
    /// model: llama2-70b
    /// performance: profile        # or roofline
    /// scheduler: token-jsq        # round-robin, jsq, token-jsq, prefix (vLLM engine; prefix:3:2:2 sets its weights)
    /// gqa: true
    /// kv_reserve_gb: 0
    /// limits: { max_batch_requests: 512, max_batch_tokens: 2048, max_preemptions: 4 }
    /// engine: splitwise           # or vllm (colocated or phase-split pools), with optional settings:
    /// vllm: { max_num_batched_tokens: 8192, max_num_seqs: 1024, block_size: 16, gpu_memory_utilization: 0.9,
    ///         prefix_caching: true, long_prefill_token_threshold: 0, overhead_gib_per_gpu: 3 }
    /// pools:
    ///   - { machine: dgx-h100, count: 20, roles: mixed, tensor_parallel: 8 }
    /// </code>
    /// Pools with <c>roles: prompt</c> and <c>roles: token</c> (and optionally <c>mixed</c>) make a phase-split cluster:
    /// the Splitwise scheduler and KV transfers, as the named Splitwise designs (the scheduler field is then unused).
    /// </summary>
    public static ClusterConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw SplitwiseException.Usage($"cluster config '{path}' not found; pass an existing YAML file to --config");
        }

        ConfigFile file;
        try
        {
            file = new StaticDeserializerBuilder(new YamlContext()).WithNamingConvention(UnderscoredNamingConvention.Instance).Build()
                .Deserialize<ConfigFile?>(File.ReadAllText(path)) ?? new ConfigFile();
        }
        catch (YamlException ex)
        {
            string why = (ex.InnerException?.Message ?? ex.Message).ReplaceLineEndings(" ");
            throw new SplitwiseException($"{path}:{ex.Start.Line}:{ex.Start.Column}: invalid cluster config: {why}", ExitCodes.Usage, ex);
        }

        if (file.Pools.Count == 0)
        {
            throw SplitwiseException.Usage($"{path}: 'pools' is empty; list at least one pool (machine, count, roles)");
        }

        var pools = new List<PoolSpec>();
        for (int i = 0; i < file.Pools.Count; i++)
        {
            PoolEntry p = file.Pools[i];
            string where = $"{path}: pools[{i}]";
            if (string.IsNullOrWhiteSpace(p.Machine))
            {
                throw SplitwiseException.Usage($"{where}: field 'machine' is required (e.g. dgx-h100)");
            }

            if (p.Count < 1)
            {
                throw SplitwiseException.Usage($"{where}: field 'count' must be at least 1");
            }

            InstanceRoles roles = (p.Roles ?? "mixed").ToLowerInvariant() switch
            {
                "mixed" => InstanceRoles.Mixed,
                "prompt" => InstanceRoles.Prompt,
                "token" => InstanceRoles.Token,
                _ => throw SplitwiseException.Usage($"{where}: roles '{p.Roles}' is not one of mixed, prompt, token"),
            };
            pools.Add(new PoolSpec(p.Machine, p.Count, roles, p.TensorParallel ?? 8));
        }

        bool anyPrompt = pools.Any(p => p.Roles == InstanceRoles.Prompt), anyToken = pools.Any(p => p.Roles == InstanceRoles.Token);
        if (anyPrompt != anyToken)
        {
            throw SplitwiseException.Usage($"{path}: a phase-split cluster needs both a 'roles: prompt' and a 'roles: token' pool (it has only {(anyPrompt ? "prompt" : "token")}); add the other, or use roles: mixed");
        }

        var limits = new BatchLimits(
            file.Limits?.MaxBatchRequests ?? 512, file.Limits?.MaxBatchTokens ?? 2048, file.Limits?.MaxPreemptions ?? 4);
        if (limits.MaxBatchRequests < 1 || limits.MaxBatchTokens < 1 || limits.MaxPreemptions < 0)
        {
            throw SplitwiseException.Usage($"{path}: limits must be positive (max_batch_requests, max_batch_tokens >= 1, max_preemptions >= 0)");
        }

        VllmEngineOptions? vllm = (file.Engine?.ToLowerInvariant()) switch
        {
            null or "splitwise" when file.Vllm is null => null,
            null or "splitwise" => throw SplitwiseException.Usage($"{path}: 'vllm:' settings need 'engine: vllm'"),
            "vllm" => FromEntry(file.Vllm),
            _ => throw SplitwiseException.Usage($"{path}: engine '{file.Engine}' is not one of splitwise, vllm"),
        };

        return new ClusterConfig
        {
            Design = file.Design ?? Path.GetFileNameWithoutExtension(path),
            Vllm = vllm,
            Pools = pools,
            Model = file.Model ?? "llama2-70b",
            Performance = file.Performance is null ? PerformanceModelKind.Profile : PerformanceModels.Parse(file.Performance),
            Scheduler = file.Scheduler ?? "token-jsq",
            Limits = limits,
            Gqa = file.Gqa ?? true,
            KvReserveBytes = (long)((file.KvReserveGb ?? 0) * 1e9),
        };
    }

    private static VllmEngineOptions FromEntry(VllmEntry? e)
    {
        var defaults = new VllmEngineOptions();
        return new VllmEngineOptions
        {
            MaxNumBatchedTokens = e?.MaxNumBatchedTokens,
            MaxNumSeqs = e?.MaxNumSeqs,
            BlockSize = e?.BlockSize ?? defaults.BlockSize,
            GpuMemoryUtilization = e?.GpuMemoryUtilization ?? defaults.GpuMemoryUtilization,
            PrefixCaching = e?.PrefixCaching ?? defaults.PrefixCaching,
            LongPrefillTokenThreshold = e?.LongPrefillTokenThreshold ?? defaults.LongPrefillTokenThreshold,
            OverheadGiBPerGpu = e?.OverheadGibPerGpu ?? defaults.OverheadGiBPerGpu,
        };
    }

    // Internal, not private: the reflection-free YAML context (Splitwise.YamlContext) names the YAML DTOs.
    internal sealed class ConfigFile
    {
        public string? Design { get; set; }

        public string? Model { get; set; }

        public string? Performance { get; set; }

        public string? Scheduler { get; set; }

        public bool? Gqa { get; set; }

        public double? KvReserveGb { get; set; }

        public LimitsEntry? Limits { get; set; }

        public string? Engine { get; set; }

        public VllmEntry? Vllm { get; set; }

        public List<PoolEntry> Pools { get; set; } = [];
    }

    internal sealed class VllmEntry
    {
        public int? MaxNumBatchedTokens { get; set; }

        public int? MaxNumSeqs { get; set; }

        public int? BlockSize { get; set; }

        public double? GpuMemoryUtilization { get; set; }

        public bool? PrefixCaching { get; set; }

        public int? LongPrefillTokenThreshold { get; set; }

        public double? OverheadGibPerGpu { get; set; }
    }

    internal sealed class LimitsEntry
    {
        public int? MaxBatchRequests { get; set; }

        public int? MaxBatchTokens { get; set; }

        public int? MaxPreemptions { get; set; }
    }

    internal sealed class PoolEntry
    {
        public string? Machine { get; set; }

        public int Count { get; set; }

        public string? Roles { get; set; }

        public int? TensorParallel { get; set; }
    }
}
