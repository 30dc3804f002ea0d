using System.CommandLine;
using Splitwise.Designs;
using Splitwise.Hardware;
using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Cli.Commands;

/// <summary>
/// The cluster-design arguments shared by <c>simulate</c> and <c>serve</c>: <c>--design</c>, <c>--machines</c> for
/// baselines, <c>--prompt-machines</c>/<c>--token-machines</c> for Splitwise designs, <c>--tp</c>, and the Splitwise
/// settings (KV transfer mode, layer-wise threshold, the scheduler's pending-prompt limit). Create one per command and
/// <see cref="AddTo"/> it; <see cref="Resolve"/> gives the <see cref="ClusterConfig"/>.
/// </summary>
internal sealed class DesignOptions(int defaultMachines)
{
    public Option<string> Design { get; } = new("--design")
    {
        Description = $"Cluster design: {string.Join(", ", ClusterConfig.DesignNames.Concat(SplitwiseDesigns.Names))}",
        DefaultValueFactory = _ => "baseline-h100",
    };

    public Option<int> Machines { get; } = new("--machines")
    {
        Description = "Machines in a baseline cluster",
        DefaultValueFactory = _ => defaultMachines,
    };

    public Option<int?> PromptMachines { get; } = new("--prompt-machines") { Description = "Splitwise designs: machines in the prompt pool" };

    public Option<int?> TokenMachines { get; } = new("--token-machines") { Description = "Splitwise designs: machines in the token pool" };

    public Option<int?> TensorParallel { get; } = new("--tp") { Description = "GPUs per instance (tensor parallelism; default 8 = one instance per machine, or all of a --machine's GPUs)" };

    public Option<string?> Machine { get; } = new("--machine") { Description = "A baseline cluster of this catalog machine instead of the design's (e.g. one from --catalog, measured with 'splitwise profile')" };

    public Option<int?> MaxBatchRequests { get; } = new("--max-batch-requests") { Description = "Requests per iteration at most (default 512; a llama.cpp server: its --parallel slots)" };

    public Option<int?> MaxBatchTokens { get; } = new("--max-batch-tokens") { Description = "Batch tokens per iteration at most, a prompt counting its size and a decode 1 (default 2048, SplitwiseSim's)" };

    public Option<string> KvTransfer { get; } = new("--kv-transfer")
    {
        Description = "Splitwise designs: KV-cache transfer: auto (layer-wise from --layerwise-threshold prompt tokens, else serialized), serialized, layerwise",
        DefaultValueFactory = _ => "auto",
    };

    public Option<int> LayerwiseThreshold { get; } = new("--layerwise-threshold")
    {
        Description = "Splitwise designs: prompts with at least this many tokens transfer their KV layer-wise",
        DefaultValueFactory = _ => 512,
    };

    public Option<long> PromptPendingLimit { get; } = new("--prompt-pending-limit")
    {
        Description = "Splitwise designs: a prompt machine with queued prompts is overloaded above this many pending prompt tokens (SplitwiseSim: 8192)",
        DefaultValueFactory = _ => 8192,
    };

    public Option<string> Engine { get; } = new("--engine")
    {
        Description = "Instance engine: splitwise (SplitwiseSim's instance: whole prompts, whole-request KV, no prefix cache) or vllm (vLLM V1: token budget, chunked prefill, paged KV, prefix caching, recompute preemption; with a Splitwise design, prefill and decode instances joined by a KV connector)",
        DefaultValueFactory = _ => "splitwise",
    };

    public Option<int?> MaxNumBatchedTokens { get; } = new("--max-num-batched-tokens") { Description = "vLLM engine: token budget per step (default: vLLM's for the GPU: 8192 on H100/H200, 2048 on A100)" };

    public Option<int?> MaxNumSeqs { get; } = new("--max-num-seqs") { Description = "vLLM engine: requests running at once (default: 1024 on H100/H200, 256 on A100)" };

    public Option<int> BlockSize { get; } = new("--block-size") { Description = "vLLM engine: tokens per KV block", DefaultValueFactory = _ => 16 };

    public Option<double> GpuMemoryUtilization { get; } = new("--gpu-memory-utilization") { Description = "vLLM engine: share of GPU memory for weights, activations and KV cache", DefaultValueFactory = _ => 0.9 };

    public Option<bool> NoPrefixCaching { get; } = new("--no-prefix-caching") { Description = "vLLM engine: turn automatic prefix caching off" };

    public Option<int> LongPrefillThreshold { get; } = new("--long-prefill-token-threshold") { Description = "vLLM engine: most tokens of one prefill per step (0: the budget)", DefaultValueFactory = _ => 0 };

    public Option<double> VllmOverhead { get; } = new("--vllm-overhead-gib") { Description = "vLLM engine: GPU memory per GPU besides weights and KV (activation peak, CUDA graphs, NCCL; from your server's start-up log)", DefaultValueFactory = _ => 3 };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (Option o in (Option[])[Design, Machines, Machine, PromptMachines, TokenMachines, TensorParallel, MaxBatchRequests, MaxBatchTokens, KvTransfer, LayerwiseThreshold, PromptPendingLimit,
            Engine, MaxNumBatchedTokens, MaxNumSeqs, BlockSize, GpuMemoryUtilization, NoPrefixCaching, LongPrefillThreshold, VllmOverhead])
        {
            command.Options.Add(o);
        }
    }

    /// <summary>A baseline's pool moved to <paramref name="machine"/>: all its GPUs per instance unless <paramref name="tp"/> says otherwise.</summary>
    internal static ClusterConfig OnMachine(ClusterConfig baseline, string machine, int? tp, Catalog catalog)
    {
        if (SplitwiseDesigns.IsSplit(baseline) || baseline.Pools.Count != 1)
        {
            throw SplitwiseException.Usage($"a machine override makes a baseline cluster of one machine type, not {baseline.Design}; for Splitwise pools or mixed machine types give a cluster YAML with 'pools'");
        }

        MachineSpec spec = catalog.Machine(machine);
        PoolSpec pool = baseline.Pools[0];
        return baseline with
        {
            Design = $"baseline-{spec.Name}",
            Pools = [pool with { Machine = spec.Name, TensorParallel = tp ?? Math.Min(8, spec.GpuCount) }],
        };
    }

    /// <summary>
    /// The cluster: from <paramref name="configPath"/> (a YAML cluster description) when given, else the named design
    /// (on <c>--machine</c>'s machines when given, looked up in <paramref name="catalog"/>); with the Splitwise settings
    /// applied either way. A contradiction (pool sizes for a baseline) is a usage error.
    /// </summary>
    public ClusterConfig Resolve(ParseResult parseResult, string? configPath = null, Catalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        string design = parseResult.GetValue(Design)!;
        int? prompt = parseResult.GetValue(PromptMachines), token = parseResult.GetValue(TokenMachines);
        int? tp = parseResult.GetValue(TensorParallel);
        ClusterConfig cluster;
        if (parseResult.GetValue(Machine) is { } machine)
        {
            if (configPath is not null)
            {
                throw SplitwiseException.Usage("--machine with --config: the config's pools name their machines; give one of them");
            }

            cluster = OnMachine(SplitwiseDesigns.Named(design, parseResult.GetValue(Machines), prompt, token, tp ?? 8), machine, tp, catalog ?? Catalog.BuiltIn);
        }
        else if (configPath is not null)
        {
            cluster = ClusterConfig.Load(configPath);
            if (tp is { } tpOverride)
            {
                cluster = cluster with { Pools = [.. cluster.Pools.Select(p => p with { TensorParallel = tpOverride })] };
            }
        }
        else
        {
            cluster = SplitwiseDesigns.Named(design, parseResult.GetValue(Machines), prompt, token, tp ?? 8);
        }

        if (!SplitwiseDesigns.IsSplit(cluster) && (prompt is not null || token is not null))
        {
            throw SplitwiseException.Usage("--prompt-machines and --token-machines go with a Splitwise design (--design splitwise-aa, -hh, -ha or -hhcap)");
        }

        KvTransferMode kvMode = KvTransferOptions.ParseMode(parseResult.GetValue(KvTransfer)!);
        if (parseResult.GetValue(LayerwiseThreshold) < 1 || parseResult.GetValue(PromptPendingLimit) < 1)
        {
            throw SplitwiseException.Usage("--layerwise-threshold and --prompt-pending-limit must be positive");
        }

        if (parseResult.GetValue(MaxBatchRequests) is { } maxRequests)
        {
            cluster = cluster with { Limits = cluster.Limits with { MaxBatchRequests = maxRequests >= 1 ? maxRequests : throw SplitwiseException.Usage($"--max-batch-requests {maxRequests}: must be at least 1") } };
        }

        if (parseResult.GetValue(MaxBatchTokens) is { } maxTokens)
        {
            cluster = cluster with { Limits = cluster.Limits with { MaxBatchTokens = maxTokens >= 1 ? maxTokens : throw SplitwiseException.Usage($"--max-batch-tokens {maxTokens}: must be at least 1") } };
        }

        return cluster with
        {
            Splitwise = new SplitwiseOptions(
                new KvTransferOptions(kvMode, parseResult.GetValue(LayerwiseThreshold)),
                new SplitwiseSchedulerOptions(parseResult.GetValue(PromptPendingLimit))),
            Vllm = ResolveEngine(parseResult, cluster),
        };
    }

    private VllmEngineOptions? ResolveEngine(ParseResult parseResult, ClusterConfig cluster)
    {
        string engine = parseResult.GetValue(Engine)!.ToLowerInvariant();
        bool vllm = engine switch
        {
            "splitwise" => false,
            "vllm" => true,
            _ => throw SplitwiseException.Usage($"--engine '{engine}' is not one of splitwise, vllm"),
        };
        if (!vllm)
        {
            Option[] vllmOnly = [MaxNumBatchedTokens, MaxNumSeqs, BlockSize, GpuMemoryUtilization, NoPrefixCaching, LongPrefillThreshold, VllmOverhead];
            if (vllmOnly.FirstOrDefault(o => parseResult.GetResult(o) is { Implicit: false }) is { } given)
            {
                throw SplitwiseException.Usage($"{given.Name} sets the vLLM engine; add --engine vllm");
            }

            return cluster.Vllm;
        }

        if (SplitwiseDesigns.IsSplit(cluster) && parseResult.GetResult(KvTransfer) is { Implicit: false } && parseResult.GetValue(KvTransfer)!.ToLowerInvariant() != "serialized")
        {
            throw SplitwiseException.Usage($"--kv-transfer {parseResult.GetValue(KvTransfer)} with --engine vllm: vLLM's KV connector pulls the KV cache after the prefill (serialized); drop the flag or give serialized");
        }

        // A config's vllm: settings stay unless a flag sets them.
        VllmEngineOptions o = cluster.Vllm ?? new VllmEngineOptions();
        bool Given(Option option) => parseResult.GetResult(option) is { Implicit: false };
        return o with
        {
            MaxNumBatchedTokens = Given(MaxNumBatchedTokens) ? parseResult.GetValue(MaxNumBatchedTokens) : o.MaxNumBatchedTokens,
            MaxNumSeqs = Given(MaxNumSeqs) ? parseResult.GetValue(MaxNumSeqs) : o.MaxNumSeqs,
            BlockSize = Given(BlockSize) ? parseResult.GetValue(BlockSize) : o.BlockSize,
            GpuMemoryUtilization = Given(GpuMemoryUtilization) ? parseResult.GetValue(GpuMemoryUtilization) : o.GpuMemoryUtilization,
            PrefixCaching = Given(NoPrefixCaching) ? !parseResult.GetValue(NoPrefixCaching) : o.PrefixCaching,
            LongPrefillTokenThreshold = Given(LongPrefillThreshold) ? parseResult.GetValue(LongPrefillThreshold) : o.LongPrefillTokenThreshold,
            OverheadGiBPerGpu = Given(VllmOverhead) ? parseResult.GetValue(VllmOverhead) : o.OverheadGiBPerGpu,
        };
    }
}
