using Splitwise.Hardware;
using Splitwise.Models;
using Splitwise.Performance;

namespace Splitwise.Simulation;

/// <summary>Which phases an instance runs.</summary>
[Flags]
public enum InstanceRoles
{
    /// <summary>Prompt (prefill) work.</summary>
    Prompt = 1,

    /// <summary>Token (decode) work.</summary>
    Token = 2,

    /// <summary>Both phases: a baseline or mixed-pool instance.</summary>
    Mixed = Prompt | Token,
}

/// <summary>Machine-level scheduler limits of one instance (SplitwiseSim's defaults).</summary>
/// <param name="MaxBatchRequests">Requests per iteration.</param>
/// <param name="MaxBatchTokens">Tokens per iteration: a prompt counts its size, a decode counts 1; a single prompt
/// larger than this runs alone.</param>
/// <param name="MaxPreemptions">After this many iterations evicted from the batch, a decoding request is admitted
/// before new prompts.</param>
/// <param name="ReserveFullRequest">True (default): a prompt is admitted only when the whole request's KV cache
/// (prompt + output tokens) fits, and that memory is reserved until the request finishes, so an admitted request never
/// waits for memory and an instance can never deadlock. False: SplitwiseSim's rule — the prompt reserves prompt + 1
/// tokens, the decode reserves output − 1 more when it starts; under memory pressure an instance can stall with
/// half-admitted requests, which are then reported as unfinished.</param>
/// <param name="SplitwiseSimRules">True: the machine-level scheduler is SplitwiseSim's <c>SplitwiseInstance</c> exactly,
/// quirks included (its pending queue sorted by preemptions at insertion time, every waiting task counted as
/// preempted, the last admission pass stopping at the first queued prompt), and Splitwise clusters move KV caches
/// as SplitwiseSim does (see <c>Simulator.SplitwiseSim.cs</c>). Engine-wide: every instance of a run has the same value.</param>
public readonly record struct BatchLimits(int MaxBatchRequests = 512, int MaxBatchTokens = 2048, int MaxPreemptions = 4, bool ReserveFullRequest = true, bool SplitwiseSimRules = false)
{
    public static BatchLimits Default => new(512, 2048, 4, true);
}

/// <summary>
/// One model instance: a group of GPUs on one machine running the model with tensor parallelism, with its
/// performance model, KV capacity, roles and batching limits.
/// </summary>
/// <param name="Name">Display name, e.g. <c>dgx-h100/3</c>.</param>
/// <param name="Machine">The machine type.</param>
/// <param name="MachineIndex">Index of the machine in the cluster (instances on one machine share it).</param>
/// <param name="Gpus">GPUs of this instance (its tensor parallelism).</param>
/// <param name="Model">The model served.</param>
/// <param name="Performance">Iteration time predictor.</param>
/// <param name="KvCapacityBytes">KV-cache bytes available: GPU memory × GPUs − weights − reserve.</param>
/// <param name="KvBytesPerToken">KV bytes per token (GQA-aware unless SplitwiseSim's rule is asked for).</param>
/// <param name="Roles">Phases this instance runs.</param>
/// <param name="Limits">Batching limits.</param>
public sealed record InstanceSpec(
    string Name,
    MachineSpec Machine,
    int MachineIndex,
    int Gpus,
    ModelSpec Model,
    IPerformanceModel Performance,
    long KvCapacityBytes,
    long KvBytesPerToken,
    InstanceRoles Roles,
    BatchLimits Limits)
{
    /// <summary>The vLLM V1 engine's settings when the instance runs that personality (<c>--engine vllm</c>); null for
    /// the SplitwiseSim-style engine. Engine-wide: every instance of a run has it or none does.</summary>
    public VllmLimits? Vllm { get; init; }

    /// <summary>KV capacity for a model on <paramref name="gpus"/> GPUs of a machine, minus a reserve.</summary>
    public static long KvCapacity(MachineSpec machine, int gpus, ModelSpec model, long reserveBytes = 0) =>
        (machine.Gpu.MemoryBytes * gpus) - model.WeightBytes - reserveBytes;
}
