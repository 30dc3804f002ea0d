using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Splitwise.Replay;

/// <summary>
/// An in-process OpenAI-style streaming endpoint on 127.0.0.1 that answers every request with the same short SSE
/// stream (keep-alive, chunked), for warming the replay client's own code paths — HTTP send, connection pool, SSE
/// parsing, result bookkeeping — without loading, or leaving anything in the caches and metrics of, the target.
/// </summary>
/// <remarks>Requests are not parsed beyond their framing (headers and <c>Content-Length</c> body).</remarks>
internal sealed class LoopbackEndpoint : IAsyncDisposable
{
    private static readonly byte[] s_response = BuildResponse();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _requests;

    public LoopbackEndpoint()
    {
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    /// <summary>The base URL to point a client at.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>Requests answered so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    private static byte[] BuildResponse()
    {
        var sse = new StringBuilder();
        sse.Append("data: {\"choices\":[{\"index\":0,\"text\":\" warm\",\"finish_reason\":null}]}\n\n");
        sse.Append("data: {\"choices\":[{\"index\":0,\"text\":\" up\",\"finish_reason\":\"length\"}]}\n\n");
        sse.Append("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":16,\"completion_tokens\":2,\"total_tokens\":18,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n");
        sse.Append("data: [DONE]\n\n");
        byte[] body = Encoding.UTF8.GetBytes(sse.ToString());
        string head = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n");
        return [.. Encoding.ASCII.GetBytes(head), .. body, .. "\r\n0\r\n\r\n"u8];
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            byte[] buffer = new byte[64 * 1024];
            int filled = 0;
            try
            {
                while (true)
                {
                    // Headers up to the blank line, then Content-Length bytes of body.
                    int headerEnd;
                    while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        if (filled == buffer.Length)
                        {
                            return; // not a request this endpoint sends itself
                        }

                        int n = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        filled += n;
                    }

                    int total = headerEnd + 4 + ContentLength(buffer.AsSpan(0, headerEnd));
                    while (filled < total)
                    {
                        if (total > buffer.Length)
                        {
                            Array.Resize(ref buffer, total);
                        }

                        int n = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        filled += n;
                    }

                    Interlocked.Increment(ref _requests);
                    await stream.WriteAsync(s_response, _stop.Token);
                    Buffer.BlockCopy(buffer, total, buffer, 0, filled - total);
                    filled -= total;
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the client closed the connection, or the endpoint is stopping
            }
        }
    }

    private static int ContentLength(ReadOnlySpan<byte> headers)
    {
        string text = Encoding.ASCII.GetString(headers);
        foreach (string line in text.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(line.AsSpan("Content-Length:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture, out int length))
            {
                return length;
            }
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }

        _stop.Dispose();
    }
}
