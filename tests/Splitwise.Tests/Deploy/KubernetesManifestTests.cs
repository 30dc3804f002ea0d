using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using YamlDotNet.RepresentationModel;

namespace Splitwise.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests of <c>docs/deploy/</c>: <c>kubectl apply --dry-run=client</c> accepts them, and the values
/// that must agree between them (shard count, config map, volumes) do.
/// </summary>
/// <remarks>
/// A client dry run still asks an API server for its resource list (to map <c>kind</c> to a REST path) and for the
/// live object (to compute the apply). With no cluster here, a loopback stand-in answers both: the discovery documents
/// for <c>v1</c> and <c>batch/v1</c>, and 404 for every object. Schema validation needs the server's OpenAPI document,
/// so it runs with <c>--validate=false</c>; on a real cluster <c>kubectl apply --dry-run=server</c> validates fully.
/// </remarks>
public sealed class KubernetesManifestTests
{
    private static string Manifest(string name) => Path.Combine(DeployEnvironment.RepoRoot, "docs", "deploy", name);

    [Fact]
    public async Task Kubectl_client_dry_run_accepts_the_sweep_and_merge_jobs()
    {
        string kubectl = DeployEnvironment.OnPath("kubectl") ?? DeployEnvironment.Missing("kubectl (apt-get install kubernetes-client)");
        await using WebApplication api = await StartDiscoveryStandInAsync();
        string dir = Directory.CreateTempSubdirectory("splitwise-kubectl-").FullName;
        string kubeconfig = Path.Combine(dir, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: stand-in, cluster: {server: "{{{api.Urls.First()}}}"}}]
            users: [{name: nobody, user: {}}]
            contexts: [{name: stand-in, context: {cluster: stand-in, user: nobody, namespace: default}}]
            current-context: stand-in
            """, TestContext.Current.CancellationToken);

        (int code, string output, string err) = await DeployEnvironment.RunAsync(kubectl,
            ["apply", "--dry-run=client", "--validate=false", "--cache-dir", Path.Combine(dir, "cache"),
             "-f", Manifest("sweep-indexed-job.yaml"), "-f", Manifest("sweep-merge-job.yaml")],
            TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig });

        Assert.True(code == 0, err);
        Assert.Equal(["job.batch/splitwise-sweep created (dry run)", "job.batch/splitwise-sweep-merge created (dry run)"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Indexed_job_shard_count_equals_completions_and_both_jobs_share_config_and_results()
    {
        YamlMappingNode sweep = Load("sweep-indexed-job.yaml");
        YamlMappingNode merge = Load("sweep-merge-job.yaml");
        YamlMappingNode spec = Map(sweep, "spec");
        Assert.Equal("Indexed", Scalar(spec, "completionMode"));
        int completions = int.Parse(Scalar(spec, "completions"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(int.Parse(Scalar(spec, "parallelism"), System.Globalization.CultureInfo.InvariantCulture), 1, completions);

        YamlMappingNode container = Container(sweep);
        var env = ((YamlSequenceNode)container.Children["env"]).Cast<YamlMappingNode>().ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        Assert.Equal(completions.ToString(System.Globalization.CultureInfo.InvariantCulture), env["SPLITWISE_SHARDS"]);

        // The merge reads what the sweep wrote: the same config map and results claim, mounted at the same paths.
        Assert.Equal(Volumes(sweep)["config"], Volumes(merge)["config"]);
        Assert.Equal(Volumes(sweep)["results"], Volumes(merge)["results"]);
        Assert.Equal(Mounts(sweep)["config"], Mounts(merge)["config"]);
        Assert.Equal(Mounts(sweep)["results"], Mounts(merge)["results"]);
        string sweepArgs = string.Join(' ', ((YamlSequenceNode)container.Children["args"]).Select(n => ((YamlScalarNode)n).Value));
        string mergeArgs = string.Join(' ', ((YamlSequenceNode)Container(merge).Children["args"]).Select(n => ((YamlScalarNode)n).Value));
        Assert.Contains($"--out {Mounts(sweep)["results"]}", sweepArgs, StringComparison.Ordinal);
        Assert.Contains($"sweep merge {Mounts(merge)["results"]} --config {Mounts(merge)["config"]}/sweep.yaml", mergeArgs, StringComparison.Ordinal);
        Assert.Contains($"--config {Mounts(sweep)["config"]}/sweep.yaml", sweepArgs, StringComparison.Ordinal);
    }

    private static YamlMappingNode Load(string name)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Manifest(name)))
        {
            stream.Load(reader);
        }

        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[key];

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[key]).Value!;

    private static YamlMappingNode PodSpec(YamlMappingNode job) => Map(Map(Map(job, "spec"), "template"), "spec");

    private static YamlMappingNode Container(YamlMappingNode job) => (YamlMappingNode)Assert.Single((YamlSequenceNode)PodSpec(job).Children["containers"]);

    /// <summary>Volume name → its source (config map or claim name).</summary>
    private static Dictionary<string, string> Volumes(YamlMappingNode job) =>
        ((YamlSequenceNode)PodSpec(job).Children["volumes"]).Cast<YamlMappingNode>().ToDictionary(
            v => Scalar(v, "name"),
            v => v.Children.TryGetValue("configMap", out YamlNode? cm) ? "configMap:" + Scalar((YamlMappingNode)cm, "name")
                : "claim:" + Scalar(Map(v, "persistentVolumeClaim"), "claimName"));

    /// <summary>Volume name → mount path.</summary>
    private static Dictionary<string, string> Mounts(YamlMappingNode job) =>
        ((YamlSequenceNode)Container(job).Children["volumeMounts"]).Cast<YamlMappingNode>().ToDictionary(m => Scalar(m, "name"), m => Scalar(m, "mountPath"));

    /// <summary>Answers kubectl's discovery requests for v1 and batch/v1, and 404 for any object.</summary>
    private static async Task<WebApplication> StartDiscoveryStandInAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        app.MapGet("/version", () => Results.Json(new { major = "1", minor = "32", gitVersion = "v1.32.0-stand-in" }));
        app.MapGet("/api", () => Results.Json(new { kind = "APIVersions", versions = new[] { "v1" } }));
        app.MapGet("/apis", () => Results.Json(new
        {
            kind = "APIGroupList",
            apiVersion = "v1",
            groups = new[] { new { name = "batch", versions = new[] { new { groupVersion = "batch/v1", version = "v1" } }, preferredVersion = new { groupVersion = "batch/v1", version = "v1" } } },
        }));
        app.MapGet("/api/v1", () => Resources("v1", "configmaps", "configmap", "ConfigMap"));
        app.MapGet("/apis/batch/v1", () => Resources("batch/v1", "jobs", "job", "Job"));
        app.MapFallback((HttpContext context) => Results.Json(
            new { kind = "Status", apiVersion = "v1", status = "Failure", reason = "NotFound", code = 404, message = $"{context.Request.Path} not found" },
            statusCode: StatusCodes.Status404NotFound));
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static IResult Resources(string groupVersion, string plural, string singular, string kind) => Results.Json(new
    {
        kind = "APIResourceList",
        apiVersion = "v1",
        groupVersion,
        resources = new[] { new { name = plural, singularName = singular, namespaced = true, kind, verbs = new[] { "create", "get", "patch" } } },
    });
}
