using Splitwise.Hardware;
using Splitwise.Models;

namespace Splitwise.Simulation;

/// <summary>
/// The vLLM V1 engine personality (<c>--engine vllm</c>): its scheduler and paged KV-cache manager as of vLLM 0.11
/// (<c>vllm/v1/core/sched/scheduler.py</c>, <c>kv_cache_manager.py</c>, <c>block_pool.py</c>), with the defaults
/// <c>EngineArgs</c> picks for an OpenAI-compatible server (<c>vllm serve</c>). Null settings take those defaults.
/// </summary>
public sealed record VllmEngineOptions
{
    /// <summary>Token budget of a step (<c>--max-num-batched-tokens</c>); null: vLLM's server default for the GPU —
    /// 8192 on GPUs with at least 70 GiB that are not A100s (H100, H200, MI300X), else 2048.</summary>
    public int? MaxNumBatchedTokens { get; init; }

    /// <summary>Requests running at once (<c>--max-num-seqs</c>); null: 1024 on the large GPUs above, else 256.</summary>
    public int? MaxNumSeqs { get; init; }

    /// <summary>Tokens per KV block (<c>--block-size</c>).</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Share of each GPU's memory vLLM may use (<c>--gpu-memory-utilization</c>).</summary>
    public double GpuMemoryUtilization { get; init; } = 0.9;

    /// <summary>Automatic prefix caching (on by default in V1; <c>--no-enable-prefix-caching</c> turns it off).</summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>Most tokens of one prefill in a step (<c>--long-prefill-token-threshold</c>); 0: no cap beyond the budget.</summary>
    public int LongPrefillTokenThreshold { get; init; }

    /// <summary>
    /// Memory per GPU besides weights and KV cache: what vLLM's start-up profiling measures (activation peak of a
    /// <c>max_num_batched_tokens</c> forward pass, CUDA graphs, NCCL and allocator buffers) and subtracts before sizing
    /// the KV cache. vLLM logs it as "non-torch memory" plus "PyTorch activation peak memory" (plus CUDA graph memory):
    /// 2–4 GiB per GPU for a 70B model at tensor parallelism 8 with the default budget. Set it to what your server logs.
    /// </summary>
    public double OverheadGiBPerGpu { get; init; } = 3;

    /// <summary>The settings one instance runs with.</summary>
    /// <param name="machine">The machine type (its GPU decides the default budget).</param>
    /// <param name="gpus">GPUs of the instance (tensor parallelism).</param>
    /// <param name="model">The model (its weights).</param>
    /// <param name="kvBytesPerToken">KV bytes per token over all layers and GPUs.</param>
    /// <param name="extraReserveBytes">More memory kept free over the instance (the cluster's <c>kv_reserve_gb</c>).</param>
    public VllmLimits Resolve(MachineSpec machine, int gpus, ModelSpec model, long kvBytesPerToken, long extraReserveBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        GpuSpec gpu = machine.Gpu;
        bool large = gpu.MemoryBytes >= 70L * (1L << 30) && !gpu.Name.Contains("a100", StringComparison.OrdinalIgnoreCase);
        int budget = MaxNumBatchedTokens ?? (large ? 8192 : 2048);
        int seqs = MaxNumSeqs ?? (large ? 1024 : 256);
        double available = (GpuMemoryUtilization * gpu.MemoryBytes * gpus) - model.WeightBytes - (OverheadGiBPerGpu * (1L << 30) * gpus) - extraReserveBytes;
        long blockBytes = (long)BlockSize * kvBytesPerToken;
        long blocks = available > 0 ? (long)Math.Floor(available / blockBytes) : 0;
        return new VllmLimits(budget, seqs, BlockSize, (int)Math.Min(blocks, int.MaxValue), PrefixCaching, LongPrefillTokenThreshold, blockBytes);
    }

    private void Validate()
    {
        static void Check(bool ok, string what)
        {
            if (!ok)
            {
                throw SplitwiseException.Usage($"vLLM engine: {what}");
            }
        }

        Check(MaxNumBatchedTokens is null or >= 1, $"--max-num-batched-tokens must be at least 1 (got {MaxNumBatchedTokens})");
        Check(MaxNumSeqs is null or >= 1, $"--max-num-seqs must be at least 1 (got {MaxNumSeqs})");
        Check(BlockSize is >= 1 and <= 512 && 512 % BlockSize == 0, $"--block-size must divide 512, Mooncake's hash-chain block (1, 2, 4, 8, 16, 32, 64, 128, 256 or 512; got {BlockSize})");
        Check(GpuMemoryUtilization is > 0 and <= 1, $"--gpu-memory-utilization must be in (0, 1] (got {GpuMemoryUtilization})");
        Check(LongPrefillTokenThreshold >= 0, $"--long-prefill-token-threshold must be >= 0 (got {LongPrefillTokenThreshold})");
        Check(OverheadGiBPerGpu >= 0, $"the per-GPU overhead must be >= 0 GiB (got {OverheadGiBPerGpu})");
    }
}

/// <summary>The vLLM settings of one instance, resolved.</summary>
/// <param name="MaxNumBatchedTokens">Token budget per step.</param>
/// <param name="MaxNumSeqs">Requests running at once.</param>
/// <param name="BlockSize">Tokens per KV block.</param>
/// <param name="Blocks">KV blocks of the instance (vLLM's <c>num_gpu_blocks</c>, its null block included).</param>
/// <param name="PrefixCaching">Automatic prefix caching.</param>
/// <param name="LongPrefillTokenThreshold">Most tokens of one prefill per step (0: the budget).</param>
/// <param name="BlockBytes">KV bytes of one block.</param>
public readonly record struct VllmLimits(int MaxNumBatchedTokens, int MaxNumSeqs, int BlockSize, int Blocks, bool PrefixCaching, int LongPrefillTokenThreshold, long BlockBytes)
{
    /// <summary>KV bytes requests can use (the null block excluded).</summary>
    public long UsableBytes => Math.Max(0, Blocks - 1) * BlockBytes;
}
