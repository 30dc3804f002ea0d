using System.Net;
using System.Net.Sockets;
using System.Text;
using Splitwise.Traces;

namespace Splitwise.Tests.Traces;

/// <summary>Named traces resolve in the data directory and download over HTTP — from a server on 127.0.0.1, never the internet.</summary>
public sealed class NamedTracesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A minimal HTTP/1.1 server on loopback: per path a status, a body, and how many body bytes to really send.</summary>
    private sealed class LoopbackServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Dictionary<string, (int Status, byte[] Body, int Send, bool Stall)> _routes = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LoopbackServer()
        {
            _listener.Start();
            _loop = Task.Run(AcceptLoop);
        }

        public int Requests;

        public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/data/");

        public void Route(string path, int status, byte[] body, int? send = null, bool stall = false) => _routes[path] = (status, body, send ?? body.Length, stall);

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception)
                {
                    return;
                }

                _ = Task.Run(() => Serve(client));
            }
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            {
                try
                {
                    NetworkStream stream = client.GetStream();
                    var request = new StringBuilder();
                    byte[] buffer = new byte[4096];
                    while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int n = await stream.ReadAsync(buffer, _stop.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }

                    Interlocked.Increment(ref Requests);
                    string path = request.ToString().Split(' ')[1];
                    var (status, body, send, stall) = _routes.TryGetValue(path, out var r) ? r : (404, Encoding.ASCII.GetBytes("not found"), 9, false);
                    string head = $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Not Found")}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(body.AsMemory(0, send), _stop.Token);
                    await stream.FlushAsync(_stop.Token);
                    if (stall)
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }
                }
                catch (Exception)
                {
                    // The client went away or the server is stopping.
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }
    }

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];

        public Action<DownloadProgress>? OnReport { get; init; }

        public void Report(DownloadProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    private static byte[] TraceBytes(int rows)
    {
        var text = new StringBuilder("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        for (int i = 0; i < rows; i++)
        {
            text.Append("2023-11-16 18:17:03.9799600,").Append(i).Append(",1\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    [Fact]
    public void Names_are_recognised_and_paths_pass_through()
    {
        Assert.True(NamedTraces.IsNamed("conv-2023"));
        Assert.True(NamedTraces.IsNamed("CODE-2024"));
        Assert.False(NamedTraces.IsNamed("conv-2025"));
        Assert.False(NamedTraces.IsNamed("data/conv-2023.csv"));
        Assert.Equal("some/file.csv", NamedTraces.Resolve("some/file.csv", _dir.Path, ct: TestContext.Current.CancellationToken));
        Assert.Equal(["code-2023", "conv-2023", "code-2024", "conv-2024"], NamedTraces.Names);
        Assert.Equal("https://raw.githubusercontent.com/Azure/AzurePublicDataset/master/data/AzureLLMInferenceTrace_conv.csv", NamedTraces.OfficialUrl("conv-2023").ToString());
        Assert.Equal("https://azurepublicdatasettraces.blob.core.windows.net/azurellminfererencetrace/AzureLLMInferenceTrace_code_1week.csv", NamedTraces.OfficialUrl("code-2024").ToString());
    }

    [Fact]
    public void A_trace_already_in_the_data_directory_is_used_without_downloading()
    {
        string existing = _dir.WriteBytes("AzureLLMInferenceTrace_code.csv", TraceBytes(3));
        using var server = new LoopbackServer();
        Assert.Equal(existing, NamedTraces.Resolve("code-2023", _dir.Path, baseUrl: server.BaseUrl, ct: TestContext.Current.CancellationToken));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public void Missing_trace_is_downloaded_with_progress_and_reported()
    {
        byte[] body = TraceBytes(100_000);
        using var server = new LoopbackServer();
        server.Route("/data/AzureLLMInferenceTrace_conv.csv", 200, body);
        var progress = new Recorder();
        var log = new StringWriter();
        string dataDir = Path.Combine(_dir.Path, "cache", "splitwise");

        string path = NamedTraces.Resolve("conv-2023", dataDir, progress, server.BaseUrl, log, TestContext.Current.CancellationToken);

        Assert.Equal(Path.Combine(dataDir, "AzureLLMInferenceTrace_conv.csv"), path);
        Assert.Equal(body, File.ReadAllBytes(path));
        Assert.Equal(new DownloadProgress(body.Length, body.Length), progress.Reports[^1]);
        Assert.True(progress.Reports.Count >= 3);
        Assert.Contains($"downloading conv-2023 from {server.BaseUrl}AzureLLMInferenceTrace_conv.csv to {path}", log.ToString(), StringComparison.Ordinal);
        Assert.Contains($"to {path}", log.ToString().Split('\n')[1], StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(dataDir));
        Assert.Equal(100_000, TraceReader.Read(path).Count);

        // Second time: already there.
        NamedTraces.Resolve("conv-2023", dataDir, baseUrl: server.BaseUrl, ct: TestContext.Current.CancellationToken);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void Http_404_is_a_clear_error_and_leaves_no_file()
    {
        using var server = new LoopbackServer();
        var e = Assert.Throws<SplitwiseException>(() => NamedTraces.Resolve("code-2024", _dir.Path, baseUrl: server.BaseUrl, ct: TestContext.Current.CancellationToken));
        Assert.Contains($"downloading code-2024 from {server.BaseUrl}AzureLLMInferenceTrace_code_1week.csv failed: HTTP 404", e.Message, StringComparison.Ordinal);
        Assert.Contains(NamedTraces.BaseUrlVariable, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Interrupted_download_leaves_no_partial_file()
    {
        byte[] body = TraceBytes(50_000);
        using var server = new LoopbackServer();
        server.Route("/data/AzureLLMInferenceTrace_conv_1week.csv", 200, body, send: body.Length / 2);
        var e = Assert.Throws<SplitwiseException>(() => NamedTraces.Resolve("conv-2024", _dir.Path, baseUrl: server.BaseUrl, ct: TestContext.Current.CancellationToken));
        Assert.Contains("downloading conv-2024", e.Message, StringComparison.Ordinal);
        Assert.Contains("run again to retry", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Cancelled_download_leaves_no_partial_file()
    {
        byte[] body = TraceBytes(200_000);
        using var server = new LoopbackServer();
        server.Route("/data/AzureLLMInferenceTrace_code.csv", 200, body, send: body.Length / 2, stall: true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new Recorder { OnReport = p => { if (p.BytesDone > 0) { cts.Cancel(); } } };
        Assert.ThrowsAny<OperationCanceledException>(() => NamedTraces.Resolve("code-2023", _dir.Path, progress, server.BaseUrl, ct: cts.Token));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Unreachable_server_is_a_clear_error()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var e = Assert.Throws<SplitwiseException>(() => NamedTraces.Resolve("conv-2023", _dir.Path, baseUrl: new Uri($"http://127.0.0.1:{port}/"), ct: TestContext.Current.CancellationToken));
        Assert.Contains("downloading conv-2023 from", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }
}
