using YamlDotNet.Serialization;

namespace Splitwise;

/// <summary>
/// Reflection-free YAML deserialisation of the catalog and cluster-config files, generated at build time
/// (Vecc.YamlDotNet.Analyzers.StaticGenerator), so the Native AOT tool reads them as the JIT build does.
/// </summary>
/// <remarks>Public because the generator declares its half public; the DTOs it names stay internal.</remarks>
[YamlStaticContext]
[YamlSerializable(typeof(Hardware.Catalog.CatalogFile))]
[YamlSerializable(typeof(Hardware.Catalog.GpuEntry))]
[YamlSerializable(typeof(Hardware.Catalog.MachineEntry))]
[YamlSerializable(typeof(Hardware.Catalog.ModelEntry))]
[YamlSerializable(typeof(Designs.ClusterConfig.ConfigFile))]
[YamlSerializable(typeof(Designs.ClusterConfig.LimitsEntry))]
[YamlSerializable(typeof(Designs.ClusterConfig.PoolEntry))]
[YamlSerializable(typeof(Designs.ClusterConfig.VllmEntry))]
public partial class YamlContext : StaticContext;
