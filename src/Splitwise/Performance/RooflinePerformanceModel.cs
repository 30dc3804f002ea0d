using Splitwise.Hardware;
using Splitwise.Models;

namespace Splitwise.Performance;

/// <summary>
/// Global efficiency factors of the roofline model. The defaults were fitted once, by
/// <c>splitwise perf-model check --fit</c>, to every point of SplitwiseSim's <c>perf_model.csv</c> (all models, GPUs and
/// TPs at once); see docs/simulation.md for the fit and the meaning of each number.
/// </summary>
/// <param name="Compute">Fraction of the datasheet dense TFLOP/s reached by the GEMMs.</param>
/// <param name="Memory">Fraction of the HBM bandwidth reached when streaming weights and KV cache.</param>
/// <param name="Network">Fraction of the per-direction NVLink bandwidth reached by the all-reduces.</param>
/// <param name="AllReduceLatencyUs">Fixed latency of one all-reduce (two per layer), microseconds.</param>
/// <param name="IterationOverheadUs">Fixed per-iteration overhead (scheduling, sampling, launches), microseconds.</param>
public sealed record RooflineFactors(
    double Compute = 0.727,
    double Memory = 0.966,
    double Network = 0.181,
    double AllReduceLatencyUs = 131.8,
    double IterationOverheadUs = 3959)
{
    public static RooflineFactors Default { get; } = new();
}

/// <summary>
/// Iteration time from first principles: the larger of compute time (FLOPs over the GPUs' dense peak) and memory time
/// (weights, KV reads and writes over HBM bandwidth), plus the tensor-parallel all-reduces over NVLink (two per layer,
/// ring algorithm) and a fixed per-iteration overhead. Works for any catalog model and GPU.
/// </summary>
public sealed class RooflinePerformanceModel : IPerformanceModel
{
    private readonly double _flopsPerNs;
    private readonly double _bytesPerNs;
    private readonly double _linkBytesPerNs;
    private readonly double _blockFlopsPerToken;
    private readonly double _headFlopsPerSequence;
    private readonly double _attentionFlopsPerPair;
    private readonly double _weightBytes;
    private readonly double _kvBytesPerToken;
    private readonly double _activationBytesPerToken;
    private readonly int _layers;
    private readonly int _tp;
    private readonly double _allReduceLatencyNs;
    private readonly double _overheadNs;

    public RooflinePerformanceModel(ModelSpec model, GpuSpec gpu, int tensorParallel, double nvlinkGBps, RooflineFactors? factors = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentOutOfRangeException.ThrowIfLessThan(tensorParallel, 1);
        RooflineFactors f = factors ?? RooflineFactors.Default;
        Model = model;
        Gpu = gpu;
        TensorParallel = tensorParallel;
        Factors = f;
        _tp = tensorParallel;
        _layers = model.Layers;
        _flopsPerNs = gpu.DenseTflops * 1e12 * tensorParallel * f.Compute / 1e9;
        _bytesPerNs = gpu.MemoryBandwidthGBps * 1e9 * tensorParallel * f.Memory / 1e9;
        // NVLink figures are bidirectional; a ring all-reduce sends in one direction per step.
        _linkBytesPerNs = nvlinkGBps / 2 * 1e9 * f.Network / 1e9;
        _blockFlopsPerToken = 2.0 * model.BlockParameters;
        _headFlopsPerSequence = 2.0 * model.Vocab * model.Hidden;
        // QK^T and AV: 2 matmuls × 2 FLOPs per multiply-add × layers × query heads × head dim, per (query, key) pair.
        _attentionFlopsPerPair = 4.0 * model.Layers * model.Heads * model.HeadDim;
        _weightBytes = (double)(model.BlockParameters + ((long)model.Vocab * model.Hidden)) * model.BytesPerParam;
        _kvBytesPerToken = model.KvBytesPerToken(gqa: true);
        _activationBytesPerToken = (double)model.Hidden * model.BytesPerParam;
        _allReduceLatencyNs = f.AllReduceLatencyUs * 1e3;
        _overheadNs = f.IterationOverheadUs * 1e3;
    }

    public ModelSpec Model { get; }

    public GpuSpec Gpu { get; }

    public int TensorParallel { get; }

    public RooflineFactors Factors { get; }

    public long IterationNanoseconds(in BatchShape batch)
    {
        if (batch.IsEmpty)
        {
            return 0;
        }

        double tokens = batch.PromptTokens + (double)batch.DecodeRequests;
        double sequences = batch.Prompts + (double)batch.DecodeRequests;
        // Causal attention over each prompt: p²/2 pairs; prompts of one batch taken as equal-sized.
        double promptPairs = batch.Prompts > 0 ? (double)batch.PromptTokens * batch.PromptTokens / batch.Prompts / 2 : 0;
        // Chunks of a longer prompt also attend to the KV already cached for it, and read it.
        double flops = (_blockFlopsPerToken * tokens) + (_headFlopsPerSequence * sequences)
            + (_attentionFlopsPerPair * (promptPairs + batch.PromptContextPairs + batch.DecodeContextTokens));
        double bytes = _weightBytes + (_kvBytesPerToken * (batch.DecodeContextTokens + batch.PromptContextTokens + tokens));
        double roof = Math.Max(flops / _flopsPerNs, bytes / _bytesPerNs);
        double allReduce = 0;
        if (_tp > 1)
        {
            double message = tokens * _activationBytesPerToken;
            double perCall = _allReduceLatencyNs + (2.0 * (_tp - 1) / _tp * message / _linkBytesPerNs);
            allReduce = 2.0 * _layers * perCall;
        }

        return Math.Max(1, (long)Math.Round(roof + allReduce + _overheadNs));
    }
}
