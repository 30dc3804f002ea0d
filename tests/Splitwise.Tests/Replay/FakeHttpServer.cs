using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Splitwise.Tests.Replay;

/// <summary>
/// A raw-socket HTTP/1.1 server for client tests: each connection's request is read (headers + Content-Length
/// body) and handed to the script, which writes whatever bytes it likes (split, delayed, truncated) or resets.
/// </summary>
internal sealed class FakeHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, NetworkStream, Socket, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _requests;

    /// <param name="script">Called with the 0-based request number, the stream and the socket after the request was read.</param>
    public FakeHttpServer(Func<int, NetworkStream, Socket, Task> script)
    {
        _script = script;
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
                        await ReadRequestAsync(stream);
                        int n = Interlocked.Increment(ref _requests) - 1;
                        await _script(n, stream, socket);
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

    private static async Task ReadRequestAsync(NetworkStream stream)
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
