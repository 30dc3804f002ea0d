using System.Globalization;
using Splitwise.Designs;

namespace Splitwise.Sweeps;

/// <summary>Settings shared by every point of a sweep (and by a provisioning search).</summary>
/// <param name="Model">Model catalog name, e.g. <c>llama2-70b</c>.</param>
/// <param name="Perf">Performance model: <c>profile</c> or <c>roofline</c>.</param>
/// <param name="Profile">SplitwiseSim-format profile CSV for the profile model; null for the default location.</param>
/// <param name="Seed">Root seed of every point (the same for all points: common random numbers make designs comparable).</param>
/// <param name="DurationSeconds">Simulate only the trace's first seconds; 0 for the whole trace.</param>
/// <param name="Slo">The SLOs every point is judged by.</param>
/// <param name="KvTransfer">KV-transfer mode for Splitwise designs: <c>auto</c>, <c>serialized</c> or <c>layerwise</c>.</param>
/// <param name="Gqa">GQA-aware KV sizing (default); false uses SplitwiseSim's 2 × hidden × layers × bytes per token.</param>
/// <param name="SplitwiseSim">Simulate with SplitwiseSim's rules (<c>--splitwise-sim</c>; implies no GQA).</param>
public sealed record SweepSettings(
    string Model = "llama2-70b",
    string Perf = "profile",
    string? Profile = null,
    long Seed = 1,
    double DurationSeconds = 0,
    SloSet? Slo = null,
    string KvTransfer = "auto",
    bool Gqa = true,
    bool SplitwiseSim = false)
{
    public static SweepSettings Default { get; } = new();

    /// <summary>The instance engine: <c>splitwise</c> (SplitwiseSim's instance, the default) or <c>vllm</c> (vLLM V1, with
    /// its defaults for the GPU; phase-split designs as prefill and decode instances).</summary>
    public string Engine { get; init; } = "splitwise";

    /// <summary>The SLO set (the paper's nine unless given).</summary>
    public SloSet Slos => Slo ?? SloSet.Paper;
}

/// <summary>
/// One simulation of a sweep: a design at a size, a trace at a rate. <see cref="Key"/> identifies it across runs,
/// shards and resumes; points sort by key.
/// </summary>
/// <param name="Design">Design name (<see cref="SplitwiseDesignCatalog"/>).</param>
/// <param name="Machines">Total machines (prompt + token for Splitwise designs).</param>
/// <param name="PromptMachines">Prompt pool size for Splitwise designs; 0 for baselines.</param>
/// <param name="TokenMachines">Token pool size for Splitwise designs; 0 for baselines.</param>
/// <param name="Trace">Trace name or file, as given in the config.</param>
/// <param name="Rate">Request rate (requests/s) the trace is scaled to; 0 for the trace's own timing.</param>
/// <param name="Settings">Sweep-wide settings.</param>
public sealed record SweepPoint(string Design, int Machines, int PromptMachines, int TokenMachines, string Trace, double Rate, SweepSettings Settings)
{
    /// <summary>A baseline point of <paramref name="machines"/> machines.</summary>
    public static SweepPoint Baseline(string design, int machines, string trace, double rate, SweepSettings settings) =>
        new(design, machines, 0, 0, trace, rate, settings);

    /// <summary>A Splitwise point of <paramref name="prompt"/> prompt and <paramref name="token"/> token machines.</summary>
    public static SweepPoint Split(string design, int prompt, int token, string trace, double rate, SweepSettings settings) =>
        new(design, prompt + token, prompt, token, trace, rate, settings);

    public bool IsSplit => PromptMachines > 0;

    /// <summary>
    /// The point's identity: <c>design|size|trace|rate|seed</c> with fixed-width numbers so that ordinal order groups
    /// by design, then size, trace and rate — e.g. <c>baseline-a100|m0040|conv-2023|r0005.500|s1</c> or
    /// <c>splitwise-aa|p0020t0015|conv-2023|rtrace|s1</c>.
    /// </summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Design}|{(IsSplit ? $"p{PromptMachines:D4}t{TokenMachines:D4}" : $"m{Machines:D4}")}|{Trace}|{RateKey}|s{Settings.Seed}");

    private string RateKey => Rate > 0 ? string.Create(CultureInfo.InvariantCulture, $"r{Rate:0000.000}") : "rtrace";

    /// <summary>The same point at another rate.</summary>
    public SweepPoint AtRate(double rate) => this with { Rate = rate };

    public override string ToString() => Key;
}
