using Splitwise.Hardware;

namespace Splitwise.Designs;

/// <summary>What one machine type costs to own and to power: what provisioning optimises.</summary>
/// <param name="Machine">Machine catalog name, e.g. <c>dgx-a100</c>.</param>
/// <param name="DollarsPerHour">Price of one machine-hour.</param>
/// <param name="ProvisionedWatts">Power provisioned per machine.</param>
public readonly record struct MachineEconomics(string Machine, double DollarsPerHour, double ProvisionedWatts);

/// <summary>
/// A cluster design as provisioning sees it: baseline designs have one pool of machines that run both phases;
/// Splitwise designs have a prompt pool and a token pool of possibly different machine types.
/// </summary>
public sealed record DesignShape(string Name, MachineEconomics Prompt, MachineEconomics? Token)
{
    /// <summary>True for the phase-split designs (a prompt pool and a token pool).</summary>
    public bool IsSplit => Token is not null;

    /// <summary>$/hour of a baseline cluster of <paramref name="machines"/>, or a Splitwise cluster of
    /// <paramref name="prompt"/> + <paramref name="token"/> machines.</summary>
    public double DollarsPerHour(int machines, int prompt = 0, int token = 0) => IsSplit
        ? (prompt * Prompt.DollarsPerHour) + (token * Token!.Value.DollarsPerHour)
        : machines * Prompt.DollarsPerHour;

    /// <summary>Provisioned watts, like <see cref="DollarsPerHour"/>.</summary>
    public double ProvisionedWatts(int machines, int prompt = 0, int token = 0) => IsSplit
        ? (prompt * Prompt.ProvisionedWatts) + (token * Token!.Value.ProvisionedWatts)
        : machines * Prompt.ProvisionedWatts;
}

/// <summary>
/// The paper's six designs (MISSION.md §3) — the one registry every command builds designs from: Baseline-A100,
/// Baseline-H100 (one pool running both phases), Splitwise-AA, -HH, -HA (H100 prompt, A100 token) and -HHcap (token
/// machines power-capped to 70%, the profile's <c>h100-80gb-pcap</c> rows). A design names its machine types; prices
/// and provisioned power come from the machine catalog (<see cref="Catalog"/>, so a <c>--catalog</c> override reaches
/// provisioning): built in, DGX-A100 $17.6/h 6.5 kW, DGX-H100 $38/h 10.2 kW, capped token machines 7.14 kW.
/// </summary>
public static class SplitwiseDesignCatalog
{
    /// <summary>A design's machine types: the pool's for a baseline, the prompt and token pools' for Splitwise.</summary>
    public sealed record Definition(string Name, string PromptMachine, string? TokenMachine)
    {
        public bool IsSplit => TokenMachine is not null;
    }

    public static IReadOnlyList<Definition> Definitions { get; } =
    [
        new("baseline-a100", "dgx-a100", null),
        new("baseline-h100", "dgx-h100", null),
        new("splitwise-aa", "dgx-a100", "dgx-a100"),
        new("splitwise-hh", "dgx-h100", "dgx-h100"),
        new("splitwise-ha", "dgx-h100", "dgx-a100"),
        new("splitwise-hhcap", "dgx-h100", "dgx-h100-pcap"),
    ];

    /// <summary>The designs with the built-in catalog's economics.</summary>
    public static IReadOnlyList<DesignShape> All { get; } = [.. Definitions.Select(d => Shape(d, Catalog.BuiltIn))];

    /// <summary>The designs with <paramref name="catalog"/>'s economics.</summary>
    public static IReadOnlyList<DesignShape> AllWith(Catalog catalog) => [.. Definitions.Select(d => Shape(d, catalog))];

    /// <summary>Design names, for help texts and errors.</summary>
    public static string Names => string.Join(", ", Definitions.Select(d => d.Name));

    /// <summary>The definition of that name (case-insensitive); a usage error naming the known designs otherwise.</summary>
    public static Definition Find(string name, string where = "design")
    {
        ArgumentNullException.ThrowIfNull(name);
        return Definitions.FirstOrDefault(d => d.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw SplitwiseException.Usage($"{where}: unknown design '{name}'; known designs: {Names}");
    }

    /// <summary>The design of that name with the built-in catalog's economics.</summary>
    public static DesignShape Get(string name, string where = "design") => Shape(Find(name, where), Catalog.BuiltIn);

    /// <summary>The design of that name with <paramref name="catalog"/>'s economics.</summary>
    public static DesignShape Get(string name, Catalog catalog, string where = "design") => Shape(Find(name, where), catalog);

    private static DesignShape Shape(Definition d, Catalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new DesignShape(d.Name, Economics(catalog.Machine(d.PromptMachine)), d.TokenMachine is { } t ? Economics(catalog.Machine(t)) : null);
    }

    private static MachineEconomics Economics(MachineSpec m) => new(m.Name, m.DollarsPerHour, m.ProvisionedWatts);
}
