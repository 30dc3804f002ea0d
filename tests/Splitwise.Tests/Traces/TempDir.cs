using System.IO.Compression;
using System.Text;

namespace Splitwise.Tests.Traces;

/// <summary>A temporary directory removed on dispose, with helpers to write trace fixtures into it.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("splitwise-traces-").FullName;

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> verbatim (no BOM, no newline translation).</summary>
    public string Write(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    public string WriteBytes(string name, byte[] bytes)
    {
        string file = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(file, bytes);
        return file;
    }

    /// <summary>Writes <paramref name="text"/> gzip-compressed.</summary>
    public string WriteGzip(string name, string text)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return WriteBytes(name, memory.ToArray());
    }

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
