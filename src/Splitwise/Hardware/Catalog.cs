using System.Collections.Frozen;
using Splitwise.Models;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Splitwise.Hardware;

/// <summary>
/// The GPUs, machines and models a simulation can use: the built-in entries (<see cref="BuiltIn"/>), optionally
/// extended or overridden from a YAML or JSON file (<see cref="Load"/>). Names are case-insensitive.
/// </summary>
/// <remarks>Sources of every built-in number are listed in <c>docs/simulation.md</c>.</remarks>
public sealed class Catalog
{
    private const long GiB = 1L << 30;

    private Catalog(IEnumerable<GpuSpec> gpus, IEnumerable<MachineSpec> machines, IEnumerable<ModelSpec> models)
    {
        Gpus = gpus.ToFrozenDictionary(g => g.Name, StringComparer.OrdinalIgnoreCase);
        Machines = machines.ToFrozenDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
        Models = models.ToFrozenDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
    }

    public FrozenDictionary<string, GpuSpec> Gpus { get; }

    public FrozenDictionary<string, MachineSpec> Machines { get; }

    public FrozenDictionary<string, ModelSpec> Models { get; }

    /// <summary>The built-in catalog.</summary>
    public static Catalog BuiltIn { get; } = CreateBuiltIn();

    public GpuSpec Gpu(string name) => Gpus.TryGetValue(name, out GpuSpec? g) ? g
        : throw SplitwiseException.Usage($"unknown GPU '{name}'; known: {string.Join(", ", Gpus.Keys.Order(StringComparer.Ordinal))}");

    public MachineSpec Machine(string name) => Machines.TryGetValue(name, out MachineSpec? m) ? m
        : throw SplitwiseException.Usage($"unknown machine '{name}'; known: {string.Join(", ", Machines.Keys.Order(StringComparer.Ordinal))}; define yours under 'machines' (and its GPU under 'gpus') in a --catalog YAML file (docs/profile.md)");

    public ModelSpec Model(string name) => Models.TryGetValue(name, out ModelSpec? m) ? m
        : throw SplitwiseException.Usage($"unknown model '{name}'; known: {string.Join(", ", Models.Keys.Order(StringComparer.Ordinal))}; define yours under 'models' in a --catalog YAML file (layers, hidden, heads, kv_heads, head_dim, ffn_size, vocab, weight_gb, context_length: docs/profile.md)");

    private static Catalog CreateBuiltIn()
    {
        // Datasheet compute, memory and TDP; idle/prompt/token power as fractions of TDP measured in the Splitwise
        // paper's characterisation (prompt at the power limit, token ≈ 45%, idle ≈ 15%) — see docs/simulation.md.
        var a100 = new GpuSpec("a100-80gb", 312, 80 * GiB, 2039, 400, 60, 400, 180);
        var h100 = new GpuSpec("h100-80gb", 989, 80 * GiB, 3352, 700, 100, 700, 315);
        // Capped at 70% of 700 W: prompts slow down (power-bound), decode barely changes (paper §III-F).
        var h100Cap = new GpuSpec("h100-80gb-pcap", 989 * 0.8, 80 * GiB, 3352, 490, 100, 490, 315);
        var h200 = new GpuSpec("h200-141gb", 989, 141_000_000_000, 4800, 700, 100, 700, 315);
        var b200 = new GpuSpec("b200-180gb", 2250, 180_000_000_000, 8000, 1000, 140, 1000, 450);
        GpuSpec[] gpus = [a100, h100, h100Cap, h200, b200];
        MachineSpec[] machines =
        [
            new("dgx-a100", a100, 8, 600, 200, 6_500, 17.6),
            new("dgx-h100", h100, 8, 900, 400, 10_200, 38),
            new("dgx-h100-pcap", h100Cap, 8, 900, 400, 7_140, 38),
            new("dgx-h200", h200, 8, 900, 400, 10_200, 50),
            new("dgx-b200", b200, 8, 1800, 400, 14_300, 80),
        ];
        ModelSpec[] models =
        [
            // Context lengths: max_position_embeddings of the models' Hugging Face configs.
            new("llama2-70b", 80, 8192, 64, 8, 128, 28672, 32000, 2, GatedMlp: true, WeightBytesOverride: 135_000_000_000, ContextLength: 4096),
            new("bloom-176b", 70, 14336, 112, 112, 128, 57344, 250880, 2, GatedMlp: false, WeightBytesOverride: 329_000_000_000, ContextLength: 2048),
            new("llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 128256, 2, GatedMlp: true, ContextLength: 131072),
            new("llama-3.1-70b", 80, 8192, 64, 8, 128, 28672, 128256, 2, GatedMlp: true, ContextLength: 131072),
        ];
        return new Catalog(gpus, machines, models);
    }

    /// <summary>
    /// The built-in catalog extended or overridden by a YAML or JSON file with lists <c>gpus</c>, <c>machines</c> and
    /// <c>models</c> (snake_case fields). An entry whose name exists replaces the fields it gives; a new name must give
    /// every field.
    /// </summary>
    public static Catalog Load(string path, Catalog? baseCatalog = null)
    {
        baseCatalog ??= BuiltIn;
        if (!File.Exists(path))
        {
            throw SplitwiseException.Usage($"catalog file '{path}' not found; pass an existing YAML or JSON file to --catalog");
        }

        CatalogFile file;
        try
        {
            IDeserializer deserializer = new StaticDeserializerBuilder(new YamlContext())
                .WithNamingConvention(UnderscoredNamingConvention.Instance)
                .Build();
            file = deserializer.Deserialize<CatalogFile?>(File.ReadAllText(path)) ?? new CatalogFile();
        }
        catch (YamlException ex)
        {
            string why = (ex.InnerException?.Message ?? ex.Message).ReplaceLineEndings(" ");
            throw new SplitwiseException(
                $"{path}:{ex.Start.Line}:{ex.Start.Column}: invalid catalog: {why}; expected lists 'gpus', 'machines', 'models' with snake_case fields",
                ExitCodes.Usage, ex);
        }

        var gpus = baseCatalog.Gpus.Values.ToDictionary(g => g.Name, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < file.Gpus.Count; i++)
        {
            GpuEntry e = file.Gpus[i];
            string where = $"{path}: gpus[{i}]";
            string name = e.Name ?? throw SplitwiseException.Usage($"{where}: field 'name' is required");
            gpus.TryGetValue(name, out GpuSpec? old);
            gpus[name] = new GpuSpec(
                name,
                e.DenseTflops ?? old?.DenseTflops ?? Missing<double>(where, "dense_tflops"),
                e.MemoryGb is { } gb ? (long)(gb * 1e9) : old?.MemoryBytes ?? Missing<long>(where, "memory_gb"),
                e.MemoryBandwidthGbps ?? old?.MemoryBandwidthGBps ?? Missing<double>(where, "memory_bandwidth_gbps"),
                e.TdpWatts ?? old?.TdpWatts ?? Missing<double>(where, "tdp_watts"),
                e.IdleWatts ?? old?.IdleWatts ?? Missing<double>(where, "idle_watts"),
                e.PromptWatts ?? old?.PromptWatts ?? Missing<double>(where, "prompt_watts"),
                e.TokenWatts ?? old?.TokenWatts ?? Missing<double>(where, "token_watts")).Validate(where);
        }

        var machines = baseCatalog.Machines.Values.ToDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < file.Machines.Count; i++)
        {
            MachineEntry e = file.Machines[i];
            string where = $"{path}: machines[{i}]";
            string name = e.Name ?? throw SplitwiseException.Usage($"{where}: field 'name' is required");
            machines.TryGetValue(name, out MachineSpec? old);
            GpuSpec gpu = e.Gpu is { } g
                ? gpus.TryGetValue(g, out GpuSpec? found) ? found : throw SplitwiseException.Usage($"{where}: unknown gpu '{g}'; define it under 'gpus' or use one of {string.Join(", ", gpus.Keys.Order(StringComparer.Ordinal))}")
                : old is not null ? gpus.GetValueOrDefault(old.Gpu.Name, old.Gpu) : Missing<GpuSpec>(where, "gpu");
            machines[name] = new MachineSpec(
                name,
                gpu,
                e.GpuCount ?? old?.GpuCount ?? Missing<int>(where, "gpu_count"),
                e.NvlinkGbps ?? old?.NvlinkGBps ?? Missing<double>(where, "nvlink_gbps"),
                e.InfinibandGbps ?? old?.InfinibandGbps ?? Missing<double>(where, "infiniband_gbps"),
                e.ProvisionedWatts ?? old?.ProvisionedWatts ?? Missing<double>(where, "provisioned_watts"),
                e.DollarsPerHour ?? old?.DollarsPerHour ?? Missing<double>(where, "dollars_per_hour")).Validate(where);
        }

        // Machines not redefined keep pointing at a GPU that may have been overridden.
        foreach (string key in machines.Keys.ToList())
        {
            MachineSpec m = machines[key];
            if (gpus.TryGetValue(m.Gpu.Name, out GpuSpec? g) && !ReferenceEquals(g, m.Gpu))
            {
                machines[key] = m with { Gpu = g };
            }
        }

        var models = baseCatalog.Models.Values.ToDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < file.Models.Count; i++)
        {
            ModelEntry e = file.Models[i];
            string where = $"{path}: models[{i}]";
            string name = e.Name ?? throw SplitwiseException.Usage($"{where}: field 'name' is required");
            models.TryGetValue(name, out ModelSpec? old);
            int heads = e.Heads ?? old?.Heads ?? Missing<int>(where, "heads");
            models[name] = new ModelSpec(
                name,
                e.Layers ?? old?.Layers ?? Missing<int>(where, "layers"),
                e.Hidden ?? old?.Hidden ?? Missing<int>(where, "hidden"),
                heads,
                e.KvHeads ?? old?.KvHeads ?? heads,
                e.HeadDim ?? old?.HeadDim ?? Missing<int>(where, "head_dim"),
                e.FfnSize ?? old?.FfnSize ?? Missing<int>(where, "ffn_size"),
                e.Vocab ?? old?.Vocab ?? Missing<int>(where, "vocab"),
                e.BytesPerParam ?? old?.BytesPerParam ?? 2,
                e.GatedMlp ?? old?.GatedMlp ?? true,
                e.WeightGb is { } w ? (long)(w * 1e9) : old?.WeightBytesOverride ?? 0,
                e.ContextLength ?? old?.ContextLength ?? 0).Validate(where);
        }

        return new Catalog(gpus.Values, machines.Values, models.Values);
    }

    private static T Missing<T>(string where, string field) =>
        throw SplitwiseException.Usage($"{where}: field '{field}' is required for a new entry");

    // YAML data transfer objects: every field optional so an override can give only what changes. Internal, not
    // private: the reflection-free YAML context (Splitwise.YamlContext) names them.
    internal sealed class CatalogFile
    {
        public List<GpuEntry> Gpus { get; set; } = [];

        public List<MachineEntry> Machines { get; set; } = [];

        public List<ModelEntry> Models { get; set; } = [];
    }

    internal sealed class GpuEntry
    {
        public string? Name { get; set; }

        public double? DenseTflops { get; set; }

        public double? MemoryGb { get; set; }

        public double? MemoryBandwidthGbps { get; set; }

        public double? TdpWatts { get; set; }

        public double? IdleWatts { get; set; }

        public double? PromptWatts { get; set; }

        public double? TokenWatts { get; set; }
    }

    internal sealed class MachineEntry
    {
        public string? Name { get; set; }

        public string? Gpu { get; set; }

        public int? GpuCount { get; set; }

        public double? NvlinkGbps { get; set; }

        public double? InfinibandGbps { get; set; }

        public double? ProvisionedWatts { get; set; }

        public double? DollarsPerHour { get; set; }
    }

    internal sealed class ModelEntry
    {
        public string? Name { get; set; }

        public int? Layers { get; set; }

        public int? Hidden { get; set; }

        public int? Heads { get; set; }

        public int? KvHeads { get; set; }

        public int? HeadDim { get; set; }

        public int? FfnSize { get; set; }

        public int? Vocab { get; set; }

        public int? ContextLength { get; set; }

        public int? BytesPerParam { get; set; }

        public bool? GatedMlp { get; set; }

        public double? WeightGb { get; set; }
    }
}
