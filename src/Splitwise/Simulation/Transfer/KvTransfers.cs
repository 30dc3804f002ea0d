namespace Splitwise.Simulation.Transfer;

/// <summary>How a request's KV cache moves from its prompt machine to its token machine.</summary>
public enum KvTransferMode
{
    /// <summary>Layer-wise above the threshold, serialized below it (the paper's policy).</summary>
    Auto,

    /// <summary>Always after the prompt phase completes, all at once.</summary>
    Serialized,

    /// <summary>Always layer by layer, overlapped with the prompt computation.</summary>
    LayerWise,
}

/// <summary>
/// The shape of a model's KV cache: bytes per token = 2 (K and V) × layers × KV heads × head dim × bytes per element.
/// GQA-aware: a model with grouped-query attention has fewer KV heads than attention heads.
/// </summary>
public readonly record struct KvCacheShape(int Layers, int KvHeads, int HeadDim, int BytesPerElement)
{
    /// <summary>Llama2-70B: 80 layers, 8 KV heads (GQA) of 128, FP16 — 320 KiB per token.</summary>
    public static KvCacheShape Llama2_70B => new(80, 8, 128, 2);

    /// <summary>BLOOM-176B: 70 layers, 112 heads of 128 (no GQA), FP16 — 3.9 MiB per token.</summary>
    public static KvCacheShape Bloom176B => new(70, 112, 128, 2);

    public long BytesPerToken => 2L * Layers * KvHeads * HeadDim * BytesPerElement;

    public long BytesFor(int tokens) => BytesPerToken * tokens;
}

/// <summary>KV transfer policy: the mode and the prompt size below which the transfer is serialized.</summary>
/// <param name="Mode">Auto (default), or force one mode for experiments such as the paper's serialized-vs-layer-wise comparison.</param>
/// <param name="LayerWiseThresholdTokens">Prompts with fewer tokens than this are serialized in <see cref="KvTransferMode.Auto"/>
/// (the paper: 512): their prompt phase is too short for per-layer transfers to pay off.</param>
public sealed record KvTransferOptions(KvTransferMode Mode = KvTransferMode.Auto, int LayerWiseThresholdTokens = 512)
{
    public static KvTransferOptions Default { get; } = new();

    /// <summary>The transfer modes by name, for help texts.</summary>
    public const string ModeNames = "auto, serialized or layerwise";

    /// <summary>The mode named <paramref name="text"/> (<c>auto</c>, <c>serialized</c>, <c>layerwise</c> or
    /// <c>layer-wise</c>, any case); a usage error naming <paramref name="where"/> otherwise. The one parser of the
    /// mode: simulate, serve, sweep and provision all call it.</summary>
    public static KvTransferMode ParseMode(string text, string where = "--kv-transfer")
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "auto" => KvTransferMode.Auto,
            "serialized" => KvTransferMode.Serialized,
            "layerwise" or "layer-wise" => KvTransferMode.LayerWise,
            _ => throw SplitwiseException.Usage($"{where} '{text}' is not a mode; use {ModeNames}"),
        };
    }

    /// <summary>True when a prompt of this size streams its KV layer by layer.</summary>
    public bool IsLayerWise(int promptTokens) => Mode switch
    {
        KvTransferMode.Serialized => false,
        KvTransferMode.LayerWise => true,
        _ => promptTokens >= LayerWiseThresholdTokens,
    };
}

/// <summary>
/// The KV-cache transfers of a Splitwise cluster: applies the transfer policy to each request and moves the bytes over
/// a <see cref="KvLinkNetwork"/>. The engine calls <see cref="OnPromptStart"/> when a request's prompt iteration starts
/// (its end is known then), <see cref="OnPromptDone"/> when it completes, and <see cref="Advance"/> at
/// <see cref="NextEventTime"/>; a transfer id that comes back completed means the token machine holds the KV cache.
/// </summary>
/// <remarks>The time a request waits for its KV after its prompt completes (<c>kv_transfer_time</c>) is the completion
/// time reported here minus the prompt completion: for a layer-wise transfer on an idle link, one layer's share of the
/// bytes over the bandwidth; for a serialized one, all the bytes over the bandwidth; more under contention.</remarks>
public sealed class KvTransfers
{
    private readonly KvLinkNetwork _network;

    public KvTransfers(KvLinkNetwork network, KvCacheShape shape, KvTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (shape.Layers < 1 || shape.KvHeads < 1 || shape.HeadDim < 1 || shape.BytesPerElement < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "every KV cache dimension must be positive");
        }

        _network = network;
        Shape = shape;
        Options = options ?? KvTransferOptions.Default;
    }

    public KvCacheShape Shape { get; }

    public KvTransferOptions Options { get; }

    public KvLinkNetwork Network => _network;

    /// <summary>A prompt iteration containing request <paramref name="id"/> runs from <paramref name="start"/> to
    /// <paramref name="end"/> on <paramref name="source"/>; a layer-wise transfer starts streaming now.</summary>
    public void OnPromptStart(int id, int source, int destination, int promptTokens, long start, long end)
    {
        if (source != destination && Options.IsLayerWise(promptTokens))
        {
            _network.StartLayerWise(id, source, destination, Shape.BytesFor(promptTokens), Shape.Layers, start, end);
        }
    }

    /// <summary>The prompt of request <paramref name="id"/> completed; a serialized transfer starts now. Returns false
    /// when no transfer is needed (same machine): the token phase can start at once.</summary>
    public bool OnPromptDone(int id, int source, int destination, int promptTokens, long now)
    {
        if (source == destination)
        {
            return false;
        }

        if (!Options.IsLayerWise(promptTokens))
        {
            _network.Start(id, source, destination, Shape.BytesFor(promptTokens), now);
        }

        return true;
    }

    /// <inheritdoc cref="KvLinkNetwork.NextEventTime"/>
    public long NextEventTime() => _network.NextEventTime();

    /// <inheritdoc cref="KvLinkNetwork.Advance"/>
    public void Advance(long now, List<int> completed) => _network.Advance(now, completed);
}
