using System.Diagnostics;
using System.Globalization;
using Splitwise.IO;

namespace Splitwise.Traces;

/// <summary>Bytes downloaded so far and the total when the server says it.</summary>
public readonly record struct DownloadProgress(long BytesDone, long? BytesTotal);

/// <summary>
/// The public Azure LLM inference traces by name — <c>code-2023</c>, <c>conv-2023</c>, <c>code-2024</c>,
/// <c>conv-2024</c> — found in a data directory or downloaded there from their official URLs.
/// </summary>
/// <remarks>
/// The traces are published under CC-BY by Microsoft Azure (Azure/AzurePublicDataset); reports that show them must
/// attribute Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024.
/// </remarks>
public static class NamedTraces
{
    /// <summary>Environment variable naming the data directory.</summary>
    public const string DataDirVariable = "SPLITWISE_DATA";

    /// <summary>Environment variable replacing the download base URL for every named trace (mirrors, tests).</summary>
    public const string BaseUrlVariable = "SPLITWISE_TRACE_BASE_URL";

    private const string Url2023 = "https://raw.githubusercontent.com/Azure/AzurePublicDataset/master/data/";
    private const string Url2024 = "https://azurepublicdatasettraces.blob.core.windows.net/azurellminfererencetrace/";

    private static readonly (string Name, string File, string BaseUrl)[] s_traces =
    [
        ("code-2023", "AzureLLMInferenceTrace_code.csv", Url2023),
        ("conv-2023", "AzureLLMInferenceTrace_conv.csv", Url2023),
        ("code-2024", "AzureLLMInferenceTrace_code_1week.csv", Url2024),
        ("conv-2024", "AzureLLMInferenceTrace_conv_1week.csv", Url2024),
    ];

    /// <summary>The names, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(s_traces, t => t.Name);

    /// <summary>
    /// The default data directory: <c>$SPLITWISE_DATA</c> when set, else <c>$XDG_CACHE_HOME/splitwise</c>, else
    /// <c>~/.cache/splitwise</c>. (The CLI's <c>--data-dir</c> overrides it by passing <c>dataDir</c> to <see cref="Resolve"/>.)
    /// </summary>
    public static string DefaultDataDir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(DataDirVariable);
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }

            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg))
            {
                return Path.Combine(xdg, "splitwise");
            }

            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "splitwise");
        }
    }

    /// <summary>True when <paramref name="nameOrPath"/> is one of <see cref="Names"/> (case-insensitive).</summary>
    public static bool IsNamed(string nameOrPath) => IndexOf(nameOrPath) >= 0;

    /// <summary>The file name of a named trace, e.g. <c>AzureLLMInferenceTrace_conv.csv</c> for <c>conv-2023</c>.</summary>
    public static string FileName(string name) => s_traces[Require(name)].File;

    /// <summary>The official download URL of a named trace.</summary>
    public static Uri OfficialUrl(string name)
    {
        var t = s_traces[Require(name)];
        return new Uri(t.BaseUrl + t.File);
    }

    /// <summary>
    /// Returns a local path for a trace: a path that is not a named trace is returned unchanged; a named trace is
    /// <c>dataDir/&lt;file&gt;</c>, downloaded first if missing.
    /// </summary>
    /// <param name="nameOrPath">A named trace or a file path.</param>
    /// <param name="dataDir">The data directory; null for <see cref="DefaultDataDir"/>.</param>
    /// <param name="progress">Download progress (bytes), reported every MiB or so.</param>
    /// <param name="baseUrl">Download from <c>baseUrl/&lt;file&gt;</c> instead of the official URL; null for <c>$SPLITWISE_TRACE_BASE_URL</c>, else the official one.</param>
    /// <param name="log">Where to say what is downloaded from where to where.</param>
    /// <param name="ct">Cancels the download; the partial file is removed.</param>
    /// <remarks>
    /// The download streams into a temporary name in the data directory and is renamed only when complete (and, when
    /// the server sent a length, only when every byte arrived), so an interrupted download never leaves a partial
    /// file under the final name.
    /// </remarks>
    /// <exception cref="SplitwiseException">The download failed (HTTP status, network error, truncated body).</exception>
    public static string Resolve(string nameOrPath, string? dataDir, IProgress<DownloadProgress>? progress = null, Uri? baseUrl = null,
        TextWriter? log = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        int index = IndexOf(nameOrPath);
        if (index < 0)
        {
            return nameOrPath;
        }

        var (name, file, officialBase) = s_traces[index];
        string dir = Path.GetFullPath(string.IsNullOrEmpty(dataDir) ? DefaultDataDir : dataDir);
        string target = Path.Combine(dir, file);
        if (File.Exists(target))
        {
            return target;
        }

        string? envBase = Environment.GetEnvironmentVariable(BaseUrlVariable);
        string root = baseUrl?.ToString() ?? (string.IsNullOrEmpty(envBase) ? officialBase : envBase);
        if (!root.EndsWith('/'))
        {
            root += "/";
        }

        var url = new Uri(new Uri(root), file);
        log?.WriteLine($"downloading {name} from {url} to {target}");
        long bytes = Download(name, url, dir, target, progress, ct);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved {name} ({bytes:N0} bytes) to {target}"));
        return target;
    }

    private static long Download(string name, Uri url, string dir, string target, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string advice = $"check the network, set {BaseUrlVariable} to a mirror, or put {Path.GetFileName(target)} into {dir}";
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.UserAgent.ParseAdd("splitwise/1.0");
        HttpResponseMessage response;
        try
        {
            response = client.Send(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new SplitwiseException($"downloading {name} from {url} failed: {ex.Message}; {advice}", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new SplitwiseException(
                    $"downloading {name} from {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}; {advice}");
            }

            long? total = response.Content.Headers.ContentLength;
            Directory.CreateDirectory(dir);
            string temp = AtomicFile.TempName(target);
            try
            {
                long done = 0;
                using (ct.Register(response.Dispose))
                using (Stream source = response.Content.ReadAsStream(ct))
                using (var sink = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    byte[] buffer = new byte[1 << 16];
                    long reported = 0;
                    var clock = Stopwatch.StartNew();
                    progress?.Report(new DownloadProgress(0, total));
                    int n;
                    while ((n = source.Read(buffer)) > 0)
                    {
                        sink.Write(buffer, 0, n);
                        done += n;
                        if (done - reported >= (1 << 20) || clock.ElapsedMilliseconds >= 250)
                        {
                            progress?.Report(new DownloadProgress(done, total));
                            reported = done;
                            clock.Restart();
                        }
                    }

                    ct.ThrowIfCancellationRequested();
                }

                if (total is long expected && done != expected)
                {
                    throw new SplitwiseException(string.Create(CultureInfo.InvariantCulture,
                        $"downloading {name} from {url} stopped after {done:N0} of {expected:N0} bytes; run again to retry"));
                }

                progress?.Report(new DownloadProgress(done, total));
                File.Move(temp, target, overwrite: true);
                return done;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
            {
                TryDelete(temp);
                ct.ThrowIfCancellationRequested();
                throw new SplitwiseException($"downloading {name} from {url} failed: {ex.Message}; run again to retry, or {advice}", ex);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }
    }

    private static int IndexOf(string nameOrPath)
    {
        for (int i = 0; i < s_traces.Length; i++)
        {
            if (string.Equals(s_traces[i].Name, nameOrPath, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static int Require(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int i = IndexOf(name);
        return i >= 0 ? i : throw SplitwiseException.Usage($"unknown trace name \"{name}\"; named traces are {string.Join(", ", Names)}");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
