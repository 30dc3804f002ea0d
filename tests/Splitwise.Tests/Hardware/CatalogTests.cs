using Splitwise.Hardware;

namespace Splitwise.Tests.Hardware;

public class CatalogTests
{
    [Fact]
    public void Kv_bytes_per_token_are_gqa_aware()
    {
        var llama = Catalog.BuiltIn.Model("llama2-70b");
        Assert.Equal(320 * 1024, llama.KvBytesPerToken(gqa: true));        // 2 × 80 × 8 × 128 × 2 B
        Assert.Equal(2L * 8192 * 80 * 2, llama.KvBytesPerToken(gqa: false)); // SplitwiseSim's rule
        var bloom = Catalog.BuiltIn.Model("bloom-176b");
        Assert.Equal(bloom.KvBytesPerToken(true), bloom.KvBytesPerToken(false)); // no GQA: both rules agree
        Assert.InRange(Catalog.BuiltIn.Model("llama-3.1-70b").Parameters, 69e9, 72e9);
        Assert.InRange(Catalog.BuiltIn.Model("llama-3.1-8b").Parameters, 7.5e9, 8.5e9);
    }

    [Fact]
    public void Machines_carry_the_papers_numbers()
    {
        var h100 = Catalog.BuiltIn.Machine("dgx-h100");
        Assert.Equal(8, h100.GpuCount);
        Assert.Equal(38, h100.DollarsPerHour);
        Assert.Equal(10_200, h100.ProvisionedWatts);
        Assert.Equal(400, h100.InfinibandGbps);
        Assert.Equal(17.6, Catalog.BuiltIn.Machine("dgx-a100").DollarsPerHour);
        Assert.Equal(7_140, Catalog.BuiltIn.Machine("dgx-h100-pcap").ProvisionedWatts);
    }

    [Fact]
    public void Catalog_file_overrides_and_extends()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("catalog").FullName, "c.yaml");
        File.WriteAllText(path, """
            gpus:
              - name: h100-80gb
                tdp_watts: 650
              - name: x1
                dense_tflops: 100
                memory_gb: 48
                memory_bandwidth_gbps: 1000
                tdp_watts: 300
                idle_watts: 30
                prompt_watts: 300
                token_watts: 150
            machines:
              - { name: box-x1, gpu: x1, gpu_count: 4, nvlink_gbps: 300, infiniband_gbps: 100, provisioned_watts: 2000, dollars_per_hour: 5 }
            """);
        Catalog c = Catalog.Load(path);
        Assert.Equal(650, c.Gpu("h100-80gb").TdpWatts);
        Assert.Equal(650, c.Machine("dgx-h100").Gpu.TdpWatts);
        Assert.Equal(3352, c.Gpu("h100-80gb").MemoryBandwidthGBps);
        Assert.Equal(4, c.Machine("box-x1").GpuCount);
        Assert.Equal(48_000_000_000, c.Machine("box-x1").Gpu.MemoryBytes);
    }

    [Fact]
    public void Catalog_errors_say_where_and_what()
    {
        string dir = Directory.CreateTempSubdirectory("catalog").FullName;
        string missing = Path.Combine(dir, "m.yaml");
        File.WriteAllText(missing, "gpus:\n  - name: new-gpu\n    dense_tflops: 10\n");
        var ex = Assert.Throws<SplitwiseException>(() => Catalog.Load(missing));
        Assert.Contains("gpus[0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("memory_gb", ex.Message, StringComparison.Ordinal);

        string bad = Path.Combine(dir, "b.yaml");
        File.WriteAllText(bad, "gpus:\n  - name: h100-80gb\n    warp_drive: 3\n");
        ex = Assert.Throws<SplitwiseException>(() => Catalog.Load(bad));
        Assert.StartsWith($"{bad}:3:", ex.Message, StringComparison.Ordinal);

        string invalid = Path.Combine(dir, "i.yaml");
        File.WriteAllText(invalid, "gpus:\n  - name: h100-80gb\n    tdp_watts: -5\n");
        ex = Assert.Throws<SplitwiseException>(() => Catalog.Load(invalid));
        Assert.Contains("tdp_watts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
    }
}
