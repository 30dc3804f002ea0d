using System.Globalization;

namespace Splitwise.Tests.Profiling;

/// <summary>A <c>--catalog</c> file for a server nobody catalogued: model <c>tiny</c> on one <c>box-gpu</c> in machine
/// <c>box</c> (the shape docs/profile.md uses).</summary>
internal static class BoxCatalog
{
    public static string Yaml(double denseTflops = 1, double memoryGb = 2, double bandwidthGBps = 50, double weightGb = 0.5) => string.Create(CultureInfo.InvariantCulture, $$"""
        gpus:
          - { name: box-gpu, dense_tflops: {{denseTflops}}, memory_gb: {{memoryGb}}, memory_bandwidth_gbps: {{bandwidthGBps}}, tdp_watts: 65, idle_watts: 10, prompt_watts: 65, token_watts: 40 }
        machines:
          - { name: box, gpu: box-gpu, gpu_count: 1, nvlink_gbps: 1, infiniband_gbps: 1, provisioned_watts: 100, dollars_per_hour: 0.1 }
        models:
          - { name: tiny, layers: 8, hidden: 1024, heads: 16, kv_heads: 8, head_dim: 64, ffn_size: 2816, vocab: 32000, weight_gb: {{weightGb}}, context_length: 4096 }
        """);
}
