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
/// The paper's six designs (MISSION.md §3): Baseline-A100, Baseline-H100, Splitwise-AA, -HH, -HA (H100 prompt,
/// A100 token) and -HHcap (token machines power-capped to 70%). Prices and provisioned power are the paper's
/// (DGX-A100 $17.6/h 6.5 kW; DGX-H100 $38/h 10.2 kW; capped token machines 7.14 kW at the same price); they match the
/// built-in machine catalog's <c>dgx-a100</c>, <c>dgx-h100</c> and <c>dgx-h100-pcap</c>.
/// </summary>
public static class SplitwiseDesignCatalog
{
    public static MachineEconomics DgxA100 { get; } = new("dgx-a100", 17.6, 6_500);

    public static MachineEconomics DgxH100 { get; } = new("dgx-h100", 38, 10_200);

    public static MachineEconomics DgxH100Capped { get; } = new("dgx-h100-pcap", 38, 7_140);

    public static IReadOnlyList<DesignShape> All { get; } =
    [
        new("baseline-a100", DgxA100, null),
        new("baseline-h100", DgxH100, null),
        new("splitwise-aa", DgxA100, DgxA100),
        new("splitwise-hh", DgxH100, DgxH100),
        new("splitwise-ha", DgxH100, DgxA100),
        new("splitwise-hhcap", DgxH100, DgxH100Capped),
    ];

    /// <summary>Design names, for help texts and errors.</summary>
    public static string Names => string.Join(", ", All.Select(d => d.Name));

    /// <summary>The design of that name (case-insensitive); a usage error naming the known designs otherwise.</summary>
    public static DesignShape Get(string name, string where = "design") =>
        All.FirstOrDefault(d => d.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw SplitwiseException.Usage($"{where}: unknown design '{name}'; known designs: {Names}");
}
