using Splitwise.Common;

namespace Splitwise.Models;

/// <summary>A decoder-only transformer: the architecture numbers that size its compute, weights and KV cache.</summary>
/// <param name="Name">Catalog key, e.g. <c>llama2-70b</c>; also the <c>model</c> value of profile rows.</param>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="Hidden">Hidden (model) dimension.</param>
/// <param name="Heads">Attention (query) heads.</param>
/// <param name="KvHeads">Key/value heads (= <paramref name="Heads"/> without grouped-query attention).</param>
/// <param name="HeadDim">Dimension of one head.</param>
/// <param name="FfnSize">Feed-forward inner dimension.</param>
/// <param name="Vocab">Vocabulary size.</param>
/// <param name="BytesPerParam">Bytes per weight and per KV element (2 for FP16/BF16).</param>
/// <param name="GatedMlp">True for SwiGLU-style MLPs (three matrices), false for two (GELU).</param>
/// <param name="WeightBytesOverride">Weight bytes to reserve on the GPUs when not derived from the architecture
/// (SplitwiseSim's sizes: Llama2-70B 135 GB, BLOOM-176B 329 GB); 0 to derive.</param>
/// <param name="ContextLength">Longest prompt + output the model takes (its <c>max_position_embeddings</c>; what
/// vLLM reports as <c>max_model_len</c>); 0 when unknown.</param>
public sealed record ModelSpec(
    string Name,
    int Layers,
    int Hidden,
    int Heads,
    int KvHeads,
    int HeadDim,
    int FfnSize,
    int Vocab,
    int BytesPerParam,
    bool GatedMlp,
    long WeightBytesOverride = 0,
    int ContextLength = 0)
{
    /// <summary>Parameters of the transformer blocks (attention and MLP), the ones every token multiplies.</summary>
    public long BlockParameters
    {
        get
        {
            long h = Hidden;
            long attention = h * Heads * HeadDim + 2 * h * KvHeads * HeadDim + (long)Heads * HeadDim * h;
            long mlp = (GatedMlp ? 3 : 2) * h * FfnSize;
            return Layers * (attention + mlp);
        }
    }

    /// <summary>All parameters: blocks plus input embedding and output head.</summary>
    public long Parameters => BlockParameters + 2L * Vocab * Hidden;

    /// <summary>Bytes the weights occupy across the instance's GPUs.</summary>
    public long WeightBytes => WeightBytesOverride > 0 ? WeightBytesOverride : Parameters * BytesPerParam;

    /// <summary>
    /// KV-cache bytes per token: 2 (K and V) × layers × KV heads × head dim × bytes per element when
    /// <paramref name="gqa"/> is true; SplitwiseSim's 2 × hidden × layers × bytes (every head keeps K and V) otherwise.
    /// </summary>
    public long KvBytesPerToken(bool gqa = true) =>
        gqa ? 2L * Layers * KvHeads * HeadDim * BytesPerParam : 2L * Hidden * Layers * BytesPerParam;

    public ModelSpec Validate(string where)
    {
        CatalogField.Check(!string.IsNullOrWhiteSpace(Name), where, "name", "must not be empty");
        CatalogField.Check(Layers > 0, where, "layers", "must be > 0");
        CatalogField.Check(Hidden > 0, where, "hidden", "must be > 0");
        CatalogField.Check(Heads > 0, where, "heads", "must be > 0");
        CatalogField.Check(KvHeads > 0 && Heads % KvHeads == 0, where, "kv_heads", "must be > 0 and divide heads");
        CatalogField.Check(HeadDim > 0, where, "head_dim", "must be > 0");
        CatalogField.Check(FfnSize > 0, where, "ffn_size", "must be > 0");
        CatalogField.Check(Vocab > 0, where, "vocab", "must be > 0");
        CatalogField.Check(BytesPerParam is 1 or 2 or 4, where, "bytes_per_param", "must be 1, 2 or 4");
        CatalogField.Check(WeightBytesOverride >= 0, where, "weight_bytes", "must be >= 0");
        CatalogField.Check(ContextLength >= 0, where, "context_length", "must be >= 0 (0 = unknown)");
        return this;
    }
}
