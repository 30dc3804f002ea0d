using Splitwise.Simulation;
using Splitwise.Simulation.Transfer;

namespace Splitwise.Designs;

/// <summary>The Splitwise-specific settings of a cluster: KV transfers, scheduler thresholds, token-machine batching.</summary>
/// <param name="KvTransfer">Transfer mode and layer-wise threshold.</param>
/// <param name="Scheduler">Cluster-level scheduler thresholds.</param>
/// <param name="TokenMaxBatchRequests">Token machines batch as many requests as memory allows: this cap is only a
/// safety bound (SplitwiseSim's token instances are limited by memory, not by the 512-request limit of mixed batching).</param>
public sealed record SplitwiseOptions(KvTransferOptions? KvTransfer = null, SplitwiseSchedulerOptions? Scheduler = null, int TokenMaxBatchRequests = 1 << 20)
{
    public static SplitwiseOptions Default { get; } = new();
}

/// <summary>
/// The paper's Splitwise designs as engine clusters: <c>splitwise-aa</c> (DGX-A100 prompt and token machines),
/// <c>splitwise-hh</c> (DGX-H100 both), <c>splitwise-ha</c> (DGX-H100 prompt, DGX-A100 token) and
/// <c>splitwise-hhcap</c> (DGX-H100 prompt, DGX-H100 power-capped to 70% for tokens: the profile's
/// <c>h100-80gb-pcap</c> rows and 7.14 kW provisioned).
/// </summary>
public static class SplitwiseDesigns
{
    /// <summary>The Splitwise design names.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. SplitwiseDesignCatalog.Definitions.Where(d => d.IsSplit).Select(d => d.Name)];

    public static bool IsSplitwise(string design) => Names.Contains(design.ToLowerInvariant());

    /// <summary>True when a cluster has prompt or token pools (it needs the Splitwise scheduler and KV transfers).</summary>
    public static bool IsSplit(ClusterConfig cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.Pools.Any(p => p.Roles != InstanceRoles.Mixed);
    }

    /// <summary>
    /// Any named design: a baseline (<c>baseline-a100</c>, <c>baseline-h100</c>) of <paramref name="machines"/>, or a
    /// Splitwise design with <paramref name="promptMachines"/> and <paramref name="tokenMachines"/>. Pool sizes
    /// for a baseline, or a Splitwise design without them, are usage errors naming <paramref name="optionPrefix"/>'s
    /// options (<c>--prompt-machines</c>, or <c>--predict-prompt-machines</c> for replay's prediction).
    /// </summary>
    public static ClusterConfig Named(string design, int machines, int? promptMachines, int? tokenMachines, int tensorParallel = 8, string optionPrefix = "--")
    {
        ArgumentNullException.ThrowIfNull(design);
        string prompt = optionPrefix + "prompt-machines", token = optionPrefix + "token-machines";
        if (IsSplitwise(design))
        {
            string need = $"{design} needs {prompt} P and {token} T";
            return Create(design, promptMachines ?? throw SplitwiseException.Usage(need), tokenMachines ?? throw SplitwiseException.Usage(need), tensorParallel);
        }

        if (promptMachines is not null || tokenMachines is not null)
        {
            throw SplitwiseException.Usage($"{prompt} and {token} go with a Splitwise design ({string.Join(", ", Names)}), not {design}");
        }

        return ClusterConfig.ForDesign(design, machines, tensorParallel);
    }

    /// <summary>A Splitwise design with <paramref name="promptMachines"/> prompt and <paramref name="tokenMachines"/> token machines.</summary>
    public static ClusterConfig Create(string design, int promptMachines, int tokenMachines, int tensorParallel = 8)
    {
        ArgumentNullException.ThrowIfNull(design);
        if (promptMachines < 1 || tokenMachines < 1)
        {
            throw SplitwiseException.Usage($"{design} needs at least one prompt and one token machine (--prompt-machines P --token-machines T; got {promptMachines} and {tokenMachines})");
        }

        SplitwiseDesignCatalog.Definition d = SplitwiseDesignCatalog.Definitions.FirstOrDefault(x => x.IsSplit && x.Name.Equals(design, StringComparison.OrdinalIgnoreCase))
            ?? throw SplitwiseException.Usage($"unknown Splitwise design '{design}'; use {string.Join(", ", Names)}");
        (string prompt, string token) = (d.PromptMachine, d.TokenMachine!);
        return new ClusterConfig
        {
            Design = d.Name,
            Pools =
            [
                new PoolSpec(prompt, promptMachines, InstanceRoles.Prompt, tensorParallel),
                new PoolSpec(token, tokenMachines, InstanceRoles.Token, tensorParallel),
            ],
            Scheduler = "splitwise",
        };
    }

    /// <summary>
    /// The engine pieces of a phase-split cluster: token instances with memory-bound batching, the Splitwise
    /// scheduler, and the KV transfers over the machines' links.
    /// </summary>
    public static (IReadOnlyList<InstanceSpec> Instances, SplitwiseScheduler Scheduler, ClusterKvTransfers Transfers) Build(
        IReadOnlyList<InstanceSpec> instances, SplitwiseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        options ??= SplitwiseOptions.Default;
        var adjusted = new InstanceSpec[instances.Count];
        for (int i = 0; i < instances.Count; i++)
        {
            InstanceSpec spec = instances[i];
            // SplitwiseSim keeps 512 requests and 2048 tokens on token machines too (start_state/splitwise.yaml), which
            // matters when a token machine is borrowed for prompts.
            adjusted[i] = spec.Roles == InstanceRoles.Token && !spec.Limits.SplitwiseSimRules
                ? spec with { Limits = spec.Limits with { MaxBatchRequests = options.TokenMaxBatchRequests, MaxBatchTokens = int.MaxValue / 2 } }
                : spec;
        }

        return (adjusted, new SplitwiseScheduler(adjusted, options.Scheduler, splitwiseSim: instances.Count > 0 && instances[0].Limits.SplitwiseSimRules), new ClusterKvTransfers(adjusted, options.KvTransfer));
    }
}
