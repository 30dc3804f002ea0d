using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Splitwise.Tests.Reports;

/// <summary>What a page did when a real browser loaded it.</summary>
internal sealed record PageCheck(IReadOnlyList<string> Errors, int Images, int ImagesLoaded, string Title);

/// <summary>
/// Loads a page in headless Chromium and watches it over the Chrome DevTools Protocol: console errors and assertions
/// (<c>Runtime.consoleAPICalled</c>), uncaught exceptions (<c>Runtime.exceptionThrown</c>), browser log errors such as
/// failed resource loads (<c>Log.entryAdded</c>), and whether every image decoded (<c>naturalWidth &gt; 0</c>).
/// </summary>
internal static class HeadlessChromium
{
    /// <summary>
    /// The browser: <c>$SPLITWISE_CHROMIUM</c>, else <c>/usr/bin/chromium</c>, else <c>chromium</c> on PATH. When none is
    /// there, the project's <c>scripts/install-chromium.sh</c> installs Debian's package (once per test run), so
    /// <c>dotnet test</c> on a fresh machine needs nothing done by hand. Fails under CI when still missing, skips elsewhere.
    /// </summary>
    public static string Require()
    {
        string? found = Find() ?? s_installed.Value;
        if (found is null)
        {
            const string Message = "headless Chromium not found and scripts/install-chromium.sh could not install it (install it or set SPLITWISE_CHROMIUM)";
            if (TestData.InCi)
            {
                Assert.Fail(Message + " — required under CI");
            }

            Assert.Skip(Message + " — skipped outside CI");
        }

        return found!;
    }

    private static readonly Lazy<string?> s_installed = new(InstallAndFind, LazyThreadSafetyMode.ExecutionAndPublication);

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("SPLITWISE_CHROMIUM");
        string?[] candidates = [env, "/usr/bin/chromium", .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "chromium"))];
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));
    }

    private static string? InstallAndFind()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string script = Path.Combine(d.FullName, "scripts", "install-chromium.sh");
            if (!File.Exists(script))
            {
                continue;
            }

            using var install = Process.Start(new ProcessStartInfo("bash", [script]) { UseShellExecute = false });
            install?.WaitForExit((int)TimeSpan.FromMinutes(10).TotalMilliseconds);
            return Find();
        }

        return null;
    }

    public static async Task<PageCheck> LoadAsync(string chromium, string htmlPath, CancellationToken cancellationToken)
    {
        string profile = Path.Combine(Path.GetTempPath(), "splitwise-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
        })
        {
            psi.ArgumentList.Add(arg);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + chromium);
        try
        {
            string? wsUrl = null;
            var stderr = new StringBuilder();
            while (wsUrl is null)
            {
                string? line = await process.StandardError.ReadLineAsync(timeout.Token);
                if (line is null)
                {
                    throw new InvalidOperationException("chromium exited before opening DevTools: " + stderr);
                }

                stderr.AppendLine(line);
                int at = line.IndexOf("ws://", StringComparison.Ordinal);
                if (line.Contains("DevTools listening on", StringComparison.Ordinal) && at >= 0)
                {
                    wsUrl = line[at..].Trim();
                }
            }

            _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
            _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            using var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await socket.ConnectAsync(new Uri(wsUrl), timeout.Token);
            var cdp = new Cdp(socket);
            JsonNode target = await cdp.CallAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, null, timeout.Token);
            JsonNode attached = await cdp.CallAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true }, null, timeout.Token);
            string session = attached["sessionId"]!.GetValue<string>();
            await cdp.CallAsync("Runtime.enable", [], session, timeout.Token);
            await cdp.CallAsync("Log.enable", [], session, timeout.Token);
            await cdp.CallAsync("Page.enable", [], session, timeout.Token);
            await cdp.CallAsync("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri }, session, timeout.Token);
            await cdp.WaitForEventAsync("Page.loadEventFired", session, timeout.Token);
            // Let late console messages (timers, image decode errors) arrive.
            await Task.Delay(300, timeout.Token);
            JsonNode result = await cdp.CallAsync("Runtime.evaluate", new JsonObject
            {
                ["expression"] = "JSON.stringify({ n: document.images.length, ok: Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length, title: document.title })",
                ["returnByValue"] = true,
            }, session, timeout.Token);
            JsonNode page = JsonNode.Parse(result["result"]!["value"]!.GetValue<string>())!;
            try
            {
                await cdp.CallAsync("Browser.close", [], null, timeout.Token);
            }
            catch (WebSocketException)
            {
                // The browser may drop the socket while closing.
            }

            return new PageCheck(cdp.Errors(session), page["n"]!.GetValue<int>(), page["ok"]!.GetValue<int>(), page["title"]!.GetValue<string>());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(CancellationToken.None);
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A minimal CDP client: commands by id, events buffered in arrival order.</summary>
    private sealed class Cdp(ClientWebSocket socket)
    {
        private readonly List<JsonNode> _events = [];
        private int _nextId;

        public async Task<JsonNode> CallAsync(string method, JsonObject parameters, string? session, CancellationToken ct)
        {
            int id = ++_nextId;
            var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
            if (session is not null)
            {
                message["sessionId"] = session;
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, ct);
            while (true)
            {
                JsonNode m = await ReceiveAsync(ct);
                if (m["id"]?.GetValue<int>() == id)
                {
                    return m["error"] is { } error
                        ? throw new InvalidOperationException($"CDP {method}: {error.ToJsonString()}")
                        : m["result"] ?? new JsonObject();
                }

                if (m["method"] is not null)
                {
                    _events.Add(m);
                }
            }
        }

        public async Task WaitForEventAsync(string method, string session, CancellationToken ct)
        {
            if (_events.Any(e => Is(e, method, session)))
            {
                return;
            }

            while (true)
            {
                JsonNode m = await ReceiveAsync(ct);
                if (m["method"] is not null)
                {
                    _events.Add(m);
                    if (Is(m, method, session))
                    {
                        return;
                    }
                }
            }
        }

        public IReadOnlyList<string> Errors(string session)
        {
            var errors = new List<string>();
            foreach (JsonNode e in _events.Where(e => e["sessionId"]?.GetValue<string>() == session))
            {
                JsonNode p = e["params"]!;
                switch (e["method"]!.GetValue<string>())
                {
                    case "Runtime.consoleAPICalled" when p["type"]!.GetValue<string>() is "error" or "assert":
                        errors.Add("console." + p["type"] + ": " + string.Join(" ", p["args"]!.AsArray().Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString())));
                        break;
                    case "Runtime.exceptionThrown":
                        errors.Add("exception: " + (p["exceptionDetails"]?["exception"]?["description"] ?? p["exceptionDetails"]?["text"]));
                        break;
                    case "Log.entryAdded" when p["entry"]!["level"]!.GetValue<string>() == "error":
                        errors.Add("log: " + p["entry"]!["text"] + " " + p["entry"]!["url"]);
                        break;
                    default:
                        break;
                }
            }

            return errors;
        }

        private static bool Is(JsonNode e, string method, string session) =>
            e["method"]?.GetValue<string>() == method && e["sessionId"]?.GetValue<string>() == session;

        private async Task<JsonNode> ReceiveAsync(CancellationToken ct)
        {
            byte[] buffer = new byte[1 << 16];
            using var message = new MemoryStream();
            while (true)
            {
                WebSocketReceiveResult r = await socket.ReceiveAsync(buffer, ct);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    throw new WebSocketException("DevTools closed the connection");
                }

                message.Write(buffer, 0, r.Count);
                if (r.EndOfMessage)
                {
                    return JsonNode.Parse(message.ToArray())!;
                }
            }
        }
    }
}
