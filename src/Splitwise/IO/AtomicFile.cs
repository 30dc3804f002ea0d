namespace Splitwise.IO;

/// <summary>
/// Writes a file under a temporary name in the same directory and renames it into place, so an interrupted run never
/// leaves a half-written result behind.
/// </summary>
public static class AtomicFile
{
    /// <summary>Creates the directory if needed, runs <paramref name="write"/> on a temporary file and renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Replace(path, write, static (temp, write) =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            write(stream);
            stream.Flush(flushToDisk: false);
        });
    }

    /// <summary>Writes text (UTF-8, no BOM) atomically.</summary>
    public static void WriteText(string path, Action<TextWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            write(writer);
        });
    }

    /// <summary>Writes a string (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string contents) => WriteText(path, w => w.Write(contents));

    /// <summary>Writes bytes atomically, in one unbuffered write (no copy, no stream buffer).</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes) => Replace(path, bytes, static (temp, b) =>
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        RandomAccess.Write(handle, b, 0);
    });

    /// <summary>Writes a string as UTF-8 (no BOM) atomically through a pooled buffer: the report's figure files and page,
    /// each written whole, without a <see cref="StreamWriter"/>'s and a stream's fresh 64 KiB buffers per file.</summary>
    public static void WriteAllUtf8(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(System.Text.Encoding.UTF8.GetMaxByteCount(contents.Length));
        try
        {
            int n = System.Text.Encoding.UTF8.GetBytes(contents, buffer);
            WriteAllBytes(path, buffer.AsSpan(0, n));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A temporary name next to <paramref name="fullPath"/>: hidden, unique per process and call.</summary>
    public static string TempName(string fullPath)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        string dir = Path.GetDirectoryName(fullPath) ?? ".";
        return Path.Combine(dir, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Creates the directory if needed, lets <paramref name="writeTemp"/> create and write the temporary file
    /// it is given, and renames that to <paramref name="path"/>; the temporary is deleted when anything fails.</summary>
    private static void Replace<TState>(string path, TState state, Action<string, TState> writeTemp)
        where TState : allows ref struct
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        string temp = TempName(full);
        try
        {
            writeTemp(temp, state);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
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
