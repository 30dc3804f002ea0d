namespace Splitwise.Simulation.Transfer;

/// <summary>
/// The engine's view of KV-cache transfers in a Splitwise cluster: maps instances to machines and their InfiniBand
/// links (one <see cref="KvLinkNetwork"/> over the cluster's machines), applies the transfer policy, and sizes each
/// transfer from the source instance's KV bytes per token (GQA-aware unless the run asked for SplitwiseSim's rule).
/// Transfer ids are the engine's request slots.
/// </summary>
public sealed class ClusterKvTransfers
{
    private readonly int[] _machine;
    private readonly long[] _kvPerToken;
    private readonly int[] _layers;
    private readonly KvLinkNetwork _network;

    public ClusterKvTransfers(IReadOnlyList<InstanceSpec> instances, KvTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(instances);
        if (instances.Count == 0)
        {
            throw new ArgumentException("no instances", nameof(instances));
        }

        Options = options ?? KvTransferOptions.Default;
        _machine = new int[instances.Count];
        _kvPerToken = new long[instances.Count];
        _layers = new int[instances.Count];
        int machines = 0;
        foreach (InstanceSpec spec in instances)
        {
            machines = Math.Max(machines, spec.MachineIndex + 1);
        }

        var bandwidth = new double[machines];
        for (int i = 0; i < instances.Count; i++)
        {
            InstanceSpec spec = instances[i];
            _machine[i] = spec.MachineIndex;
            _kvPerToken[i] = spec.KvBytesPerToken;
            _layers[i] = spec.Model.Layers;
            bandwidth[spec.MachineIndex] = spec.Machine.InfinibandBytesPerSecond;
        }

        for (int m = 0; m < machines; m++)
        {
            if (bandwidth[m] <= 0)
            {
                bandwidth[m] = 1; // a machine index with no instance: never used
            }
        }

        _network = new KvLinkNetwork(bandwidth);
    }

    public KvTransferOptions Options { get; }

    /// <summary>The links, for inspection.</summary>
    public KvLinkNetwork Network => _network;

    /// <summary>True when both instances are on one machine: the KV stays in place (or crosses NVLink, not modelled).</summary>
    public bool SameMachine(int a, int b) => _machine[a] == _machine[b];

    public bool IsLayerWise(int promptTokens) => Options.IsLayerWise(promptTokens);

    public void StartLayerWise(int slot, int from, int to, int promptTokens, long promptStart, long promptEnd) =>
        _network.StartLayerWise(slot, _machine[from], _machine[to], _kvPerToken[from] * promptTokens, _layers[from], promptStart, promptEnd);

    public void StartSerialized(int slot, int from, int to, int promptTokens, long now) =>
        _network.Start(slot, _machine[from], _machine[to], _kvPerToken[from] * promptTokens, now);

    public long NextEventTime() => _network.NextEventTime();

    public void Advance(long now, List<int> completed) => _network.Advance(now, completed);
}
