using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Splitwise.Tests.Replay;

/// <summary>
/// A raw-socket HTTP/1.1 server for client tests: each connection's request is read (headers + Content-Length
/// body) and handed to the script, which writes whatever bytes it likes (split, delayed, truncated) or resets.
/// In keep-alive mode the connection stays open after the script and the next request on it goes to the script too,
/// with its number on that connection.
/// </summary>
internal sealed class FakeHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<FakeRequest, Task> _script;
    private readonly bool _keepAlive;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _requests;

    /// <param name="script">Called with the 0-based request number, the stream and the socket after the request was read.</param>
    public FakeHttpServer(Func<int, NetworkStream, Socket, Task> script)
        : this(r => script(r.Number, r.Stream, r.Socket), keepAlive: false)
    {
    }

    /// <param name="script">Called with each request after it was read.</param>
    /// <param name="keepAlive">Read further requests on a connection after the script returns (until it closes).</param>
    public FakeHttpServer(Func<FakeRequest, Task> script, bool keepAlive)
    {
        _script = script;
        _keepAlive = keepAlive;
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public int Requests => Volatile.Read(ref _requests);

    public const string SseHeaders = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    public static async Task WriteAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(Bytes(text));
        await stream.FlushAsync();
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
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (socket)
                using (var stream = new NetworkStream(socket, ownsSocket: false))
                {
                    try
                    {
                        int onConnection = 0;
                        do
                        {
                            string body = await ReadRequestAsync(stream);
                            int n = Interlocked.Increment(ref _requests) - 1;
                            await _script(new FakeRequest(n, onConnection++, body, stream, socket));
                        }
                        while (_keepAlive && socket.Connected);

                        if (socket.Connected)
                        {
                            socket.Shutdown(SocketShutdown.Both);
                        }
                    }
                    catch (Exception)
                    {
                        // the client went away (e.g. its timeout fired)
                    }
                }
            });
        }
    }

    /// <summary>
    /// A llama.cpp-like server: answers each streaming request with keep-alive and a chunked SSE body of
    /// <paramref name="tokens"/> chunks, then drops the connection — the next request sent on it is reset.
    /// </summary>
    public static FakeHttpServer ClosingAfterEachResponse(int tokens) => new(
        async r =>
        {
            if (r.OnConnection > 0)
            {
                r.Socket.LingerState = new LingerOption(true, 0);
                r.Socket.Close();
                return;
            }

            var sse = new StringBuilder();
            for (int i = 0; i < tokens; i++)
            {
                sse.Append("data: {\"choices\":[{\"text\":\" a\"}]}\n\n");
            }

            sse.Append(System.Globalization.CultureInfo.InvariantCulture, $"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":1,\"completion_tokens\":{tokens}}}}}\n\ndata: [DONE]\n\n");
            byte[] body = Bytes(sse.ToString());
            await WriteChunkedSseAsync(r.Stream, sse.ToString());
        },
        keepAlive: true);

    /// <summary>A 200 keep-alive response with <paramref name="sse"/> as its one chunk.</summary>
    public static async Task WriteChunkedSseAsync(NetworkStream stream, string sse)
    {
        byte[] body = Bytes(sse);
        await WriteAsync(stream, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n"));
        await stream.WriteAsync(body);
        await WriteAsync(stream, "\r\n0\r\n\r\n");
    }

    private static async Task<string> ReadRequestAsync(NetworkStream stream)
    {
        var header = new StringBuilder();
        byte[] one = new byte[1];
        while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new IOException("closed");
            }

            header.Append((char)one[0]);
        }

        int length = 0;
        foreach (string line in header.ToString().Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        byte[] body = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = await stream.ReadAsync(body.AsMemory(read));
            if (n == 0)
            {
                throw new IOException("closed");
            }

            read += n;
        }

        return Encoding.UTF8.GetString(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception)
        {
        }

        _stop.Dispose();
    }
}

/// <summary>One request as the fake server read it.</summary>
/// <param name="Number">0-based over the server's life.</param>
/// <param name="OnConnection">0-based on its connection.</param>
/// <param name="Body">The request body.</param>
/// <param name="Stream">The connection's stream, to answer on.</param>
/// <param name="Socket">The connection's socket, to reset or close.</param>
internal sealed record FakeRequest(int Number, int OnConnection, string Body, NetworkStream Stream, Socket Socket);
