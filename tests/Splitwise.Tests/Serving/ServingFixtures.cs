using Splitwise.Hardware;
using Splitwise.Performance;
using Splitwise.Serving;
using Splitwise.Simulation;

namespace Splitwise.Tests.Serving;

/// <summary>An affine iteration-time model: base + per prompt token + per decoding request.</summary>
internal sealed class AffinePerformanceModel(long baseNs, long perPromptTokenNs, long perDecodeNs) : IPerformanceModel
{
    public long IterationNanoseconds(in BatchShape batch) =>
        batch.IsEmpty ? 0 : baseNs + (batch.PromptTokens * perPromptTokenNs) + (batch.DecodeRequests * perDecodeNs);
}

internal static class ServingFixtures
{
    /// <summary>A one-instance cluster with a fast model (1 ms + 1 µs/prompt token + 10 µs/decode) and room for 100k tokens.</summary>
    public static EmulatedCluster FastCluster(int instances = 1, double speedup = 1) =>
        new([.. Enumerable.Range(0, instances).Select(i => Instance(i, new AffinePerformanceModel(1_000_000, 1_000, 10_000), 100_000L * 1024, 1024))], speedup);

    /// <summary>A DGX-H100 instance of Llama-2-70B with the given performance model and KV memory (default batch limits).</summary>
    public static InstanceSpec Instance(int machine, IPerformanceModel performance, long kvCapacityBytes, long kvBytesPerToken, InstanceRoles roles = InstanceRoles.Mixed) =>
        new($"test/{machine}", Catalog.BuiltIn.Machine("dgx-h100"), machine, 8, Catalog.BuiltIn.Model("llama2-70b"), performance, kvCapacityBytes, kvBytesPerToken, roles, BatchLimits.Default);

    /// <summary>A fast cluster served on a free port, with a client pointed at it.</summary>
    public static async Task<ServedCluster> ServeAsync(ServeOptions? options = null)
    {
        EmulatedCluster cluster = FastCluster();
        OpenAiServer server = await StartAsync(cluster, options);
        return new ServedCluster(cluster, server, new HttpClient { BaseAddress = server.BaseAddress });
    }

    public static async Task<OpenAiServer> StartAsync(EmulatedCluster cluster, ServeOptions? options = null) =>
        await OpenAiServer.StartAsync((options ?? new ServeOptions()) with { Port = 0 }, cluster, cancellationToken: TestContext.Current.CancellationToken);
}

/// <summary>An emulated cluster, its server and a client, disposed together.</summary>
internal sealed record ServedCluster(EmulatedCluster Cluster, OpenAiServer Server, HttpClient Http) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Cluster.Dispose();
    }
}
