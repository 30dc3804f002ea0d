using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace Splitwise.Traces.Internals;

/// <summary>
/// Reads a trace file in blocks of whole lines, parses the blocks in parallel and hands back their chunks in file
/// order with bounded memory (a few blocks in flight).
/// </summary>
/// <remarks>
/// Plain files: block k owns the lines that start in <c>[dataStart + k·B, dataStart + (k+1)·B)</c>; each worker reads its
/// own byte range with <see cref="RandomAccess"/> (so reading is parallel too), skips the partial line at its start and
/// reads on past its end to finish its last line. Gzip files and pipes: one sequential reader cuts blocks at the last
/// newline and carries the rest over; parsing stays parallel. Line numbers are exact: each block counts its newlines
/// and errors are placed when the blocks are merged in order.
/// </remarks>
internal sealed class BlockPipeline : IDisposable
{
    /// <summary>Block size: large enough to amortise scheduling, small enough that a few in flight stay a few tens of MB.</summary>
    public const int DefaultBlockSize = 4 << 20;

    /// <summary>Longest line accepted (a data row is tens of bytes; anything this long is not a trace).</summary>
    public const int MaxLineLength = 16 << 20;

    private const int HeadSize = 1 << 20;

    private readonly string _path;
    private readonly TraceReadReport _report;
    private readonly bool _skipInvalid;
    private readonly int _blockSize;
    private readonly int _overhang;
    private readonly SafeFileHandle _handle;
    private readonly long _fileLength;
    private readonly Stream? _stream;
    // Shared by every pipeline in the process, so reading many traces (sweeps, tests, analyze of several files) does not
    // allocate fresh multi-MB blocks each time. Bounded: at most PoolLimit of each.
    private const int PoolLimit = 8;
    private static readonly ConcurrentBag<byte[]> s_buffers = [];
    private static readonly ConcurrentBag<TraceChunk> s_chunks = [];
    private readonly TraceLayout _layout;
    private readonly long _dataStart;

    // Sequential input (gzip, pipes): the first (decompressed) bytes, header and the data after it.
    private readonly byte[]? _streamHead;
    private long _gzipTotal;
    private byte _gzipLastByte;
    private readonly int _streamHeadLength;

    private BlockPipeline(string path, TraceReadOptions options, TraceReadReport report, int blockSize)
    {
        _path = path;
        _report = report;
        _skipInvalid = options.SkipInvalid;
        _blockSize = blockSize;
        _overhang = Math.Min(64 << 10, Math.Max(blockSize, 256));
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SplitwiseException($"{path}: no such file; give a trace file or a named trace (code-2023, conv-2023, code-2024, conv-2024)");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new SplitwiseException($"{path}: cannot be read ({ex.Message})");
        }

        try
        {
            // Regular files are read in parallel by offset. Anything else — a pipe (`<(zcat f.gz)`, /dev/stdin), or an
            // empty file — is read as one stream, like gzip.
            _fileLength = LengthOrZero(_handle);
            Span<byte> magic = stackalloc byte[2];
            byte[] head;
            int headLength;
            bool complete;
            if (_fileLength == 0)
            {
                var stream = new FileStream(_handle, FileAccess.Read, 1 << 16);
                int m = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
                Stream source = new PrefixStream(magic[..m].ToArray(), stream);
                _stream = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(source, CompressionMode.Decompress) : source;
                _fileLength = -1;
            }
            else if (RandomAccess.Read(_handle, magic, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                _stream = new GZipStream(new FileStream(_handle, FileAccess.Read, 1 << 16), CompressionMode.Decompress);
            }

            if (_stream is not null)
            {
                head = new byte[Math.Max(HeadSize, blockSize) + BlockParser.Slack + 1];
                headLength = FillFromStream(head, 0, HeadSize, out bool eof);
                complete = eof;
            }
            else
            {
                head = new byte[(int)Math.Min(HeadSize, _fileLength)];
                headLength = ReadFully(_handle, head, 0);
                complete = headLength == _fileLength;
            }

            _layout = TraceLayout.Resolve(head.AsSpan(0, headLength), complete, options.Format, path);
            _dataStart = _layout.DataOffset;
            if (_stream is not null)
            {
                _streamHead = head;
                _streamHeadLength = headLength;
            }

            report.Format = _layout.Format;
        }
        catch
        {
            _stream?.Dispose();
            _handle.Dispose();
            throw;
        }
    }

    private static long LengthOrZero(SafeFileHandle handle)
    {
        try
        {
            return RandomAccess.GetLength(handle);
        }
        catch (Exception ex) when (ex is NotSupportedException or IOException)
        {
            return 0;
        }
    }

    public TraceLayout Layout => _layout;

    /// <summary>
    /// Rows the whole file probably holds, extrapolated from the rows of the first block (which covers the first
    /// <c>blockSize</c> data bytes): lets <see cref="TraceReader.Read(string, TraceReadOptions?)"/> allocate once.
    /// For gzip the decompressed size comes from the gzip trailer (exact below 4 GiB).
    /// </summary>
    public long EstimateRows(int firstBlockRows)
    {
        long dataBytes = _fileLength - _dataStart;
        if (_fileLength < 0)
        {
            return firstBlockRows * 8L;
        }

        if (_stream is not null)
        {
            Span<byte> trailer = stackalloc byte[4];
            dataBytes = _fileLength >= 18 && ReadFully(_handle, trailer, _fileLength - 4) == 4
                ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer) - _dataStart
                : 0;
        }

        if (dataBytes <= _blockSize || firstBlockRows == 0)
        {
            return firstBlockRows;
        }

        return (long)Math.Ceiling((double)dataBytes / _blockSize * firstBlockRows * 1.01) + 1024;
    }

    public static BlockPipeline Open(string path, TraceReadOptions options, TraceReadReport report, int blockSize = DefaultBlockSize)
        => new(path, options, report, blockSize);

    public void Dispose()
    {
        _stream?.Dispose();
        _handle.Dispose();
    }

    /// <summary>The chunks in file order. Each chunk returns to the pool when the enumeration moves past it.</summary>
    public IEnumerable<TraceChunk> Chunks()
    {
        var inflight = new Queue<Task<Block>>();
        int depth = Math.Max(2, Environment.ProcessorCount + 1);
        long line = _layout.HeaderLines + 1;
        long previousLast = long.MinValue;
        bool firstRows = true;
        IEnumerator<Task<Block>> producer = (_stream is null ? PlainBlocks() : StreamBlocks()).GetEnumerator();
        bool more = true;
        try
        {
            while (true)
            {
                while (more && inflight.Count < depth)
                {
                    more = producer.MoveNext();
                    if (more)
                    {
                        inflight.Enqueue(producer.Current);
                    }
                }

                if (inflight.Count == 0)
                {
                    break;
                }

                Block block = inflight.Dequeue().GetAwaiter().GetResult();
                BlockResult r = block.Result;
                foreach (BlockError e in r.Errors)
                {
                    long at = line + e.LocalLine;
                    if (r.Fatal)
                    {
                        ReturnChunk(r.Chunk);
                        throw new TraceFormatException(_path, at, e.Column, e.Reason + "; fix the row or pass --skip-invalid");
                    }

                    _report.AddError(TraceFormatException.Describe(_path, at, e.Column, e.Reason));
                }

                line += r.Lines;
                TraceChunk chunk = r.Chunk;
                _report.SkippedRows += r.Skipped;
                _report.OutOfOrder += r.OutOfOrder;
                if (chunk.Count > 0)
                {
                    if (chunk.ArrivalTicks[0] < previousLast)
                    {
                        _report.OutOfOrder++;
                    }

                    previousLast = chunk.ArrivalTicks[chunk.Count - 1];
                    if (firstRows)
                    {
                        _report.FirstOffsetMinutes = r.FirstOffsetMinutes;
                        firstRows = false;
                    }

                    _report.Rows = checked(_report.Rows + chunk.Count);
                    yield return chunk;
                }

                ReturnChunk(chunk);
            }
        }
        finally
        {
            // Let workers finish before the file and buffers go away; their errors no longer matter.
            foreach (Task<Block> t in inflight)
            {
                try
                {
                    t.Wait();
                }
                catch (AggregateException)
                {
                }
            }

            producer.Dispose();
        }
    }

    /// <summary>A few bytes already read from a stream, then the rest of it.</summary>
    private sealed class PrefixStream(byte[] prefix, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _position);
                prefix.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            return rest.Read(buffer);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class Block
    {
        public required BlockResult Result { get; init; }
    }

    private IEnumerable<Task<Block>> PlainBlocks()
    {
        long dataLength = _fileLength - _dataStart;
        long blocks = (dataLength + _blockSize - 1) / _blockSize;
        for (long k = 0; k < blocks; k++)
        {
            long index = k;
            yield return Task.Run(() => ReadAndParse(index));
        }
    }

    private Block ReadAndParse(long k)
    {
        long s = _dataStart + (k * _blockSize);
        long e = Math.Min(s + _blockSize, _fileLength);
        long readFrom = k == 0 ? s : s - 1;
        byte[] buffer = RentBuffer(_blockSize + _overhang + BlockParser.Slack + 2);
        try
        {
            int want = (int)Math.Min(e - readFrom + _overhang, _fileLength - readFrom);
            int n = ReadFully(_handle, buffer.AsSpan(0, want), readFrom);
            int from = 0;
            int endIndex = (int)(e - 1 - readFrom);
            if (k > 0)
            {
                int nl = buffer.AsSpan(0, endIndex + 1).IndexOf((byte)'\n');
                if (nl < 0)
                {
                    return Parsed(buffer, 0, 0);
                }

                from = nl + 1;
            }

            if (from > endIndex)
            {
                return Parsed(buffer, 0, 0);
            }

            int to;
            while (true)
            {
                int nl = buffer.AsSpan(endIndex, n - endIndex).IndexOf((byte)'\n');
                if (nl >= 0)
                {
                    to = endIndex + nl + 1;
                    break;
                }

                if (readFrom + n >= _fileLength)
                {
                    to = n;
                    break;
                }

                if (n - from > MaxLineLength)
                {
                    throw new TraceFormatException(_path, 0, 0, $"a line is longer than {MaxLineLength >> 20} MiB near byte {readFrom + from:N0}; is this a trace file?");
                }

                // A line runs past the overhang: read more.
                byte[] bigger = new byte[(buffer.Length * 2) + BlockParser.Slack];
                Array.Copy(buffer, bigger, n);
                ReturnBuffer(buffer);
                buffer = bigger;
                int more = (int)Math.Min(buffer.Length - BlockParser.Slack - 2 - n, _fileLength - readFrom - n);
                n += ReadFully(_handle, buffer.AsSpan(n, more), readFrom + n);
            }

            return Parsed(buffer, from, to);
        }
        finally
        {
            ReturnBuffer(buffer);
        }
    }

    private IEnumerable<Task<Block>> StreamBlocks()
    {
        byte[] buffer = _streamHead!;
        int length = _streamHeadLength;
        int start = (int)_dataStart;
        bool eof = false;
        while (true)
        {
            // Move unparsed bytes to the front and top the buffer up to one block.
            if (start > 0)
            {
                Array.Copy(buffer, start, buffer, 0, length - start);
                length -= start;
                start = 0;
            }

            if (!eof && length < _blockSize)
            {
                length += FillFromStream(buffer, length, _blockSize - length, out eof);
            }

            if (length == 0)
            {
                ReturnBuffer(buffer);
                yield break;
            }

            int nl = buffer.AsSpan(0, length).LastIndexOf((byte)'\n');
            int to;
            if (nl >= 0)
            {
                to = nl + 1;
            }
            else if (eof)
            {
                to = length;
            }
            else
            {
                if (length > MaxLineLength)
                {
                    throw new TraceFormatException(_path, 0, 0, $"a line is longer than {MaxLineLength >> 20} MiB; is this a trace file?");
                }

                // One line longer than a block: grow and read on.
                byte[] bigger = new byte[(buffer.Length * 2) + BlockParser.Slack];
                Array.Copy(buffer, bigger, length);
                buffer = bigger;
                length += FillFromStream(buffer, length, buffer.Length - BlockParser.Slack - 2 - length, out eof);
                continue;
            }

            // Hand the block to a worker; the tail goes to a fresh buffer first (the sentinel overwrites its first byte).
            byte[] next = RentBuffer(_blockSize + BlockParser.Slack + 2);
            int rest = length - to;
            if (next.Length < rest + BlockParser.Slack + 2)
            {
                next = new byte[rest + _blockSize + BlockParser.Slack + 2];
            }

            Array.Copy(buffer, to, next, 0, rest);
            byte[] mine = buffer;
            yield return Task.Run(() =>
            {
                try
                {
                    return Parsed(mine, 0, to);
                }
                finally
                {
                    ReturnBuffer(mine);
                }
            });
            buffer = next;
            length = rest;
            if (eof && rest == 0)
            {
                ReturnBuffer(buffer);
                yield break;
            }
        }
    }

    private Block Parsed(byte[] buffer, int from, int to)
    {
        buffer[to] = (byte)'\n';
        var result = new BlockResult { Chunk = RentChunk(Math.Max(16, (to - from) / 24)) };
        BlockParser.Parse(buffer, from, to, _layout, _skipInvalid, result);
        return new Block { Result = result };
    }

    private int FillFromStream(byte[] buffer, int offset, int count, out bool eof)
    {
        int total = 0;
        eof = false;
        try
        {
            while (total < count)
            {
                int n = _stream!.Read(buffer, offset + total, count - total);
                if (n == 0)
                {
                    eof = true;
                    CheckGzipEnd();
                    break;
                }

                total += n;
                _gzipTotal += n;
                _gzipLastByte = buffer[offset + total - 1];
            }
        }
        catch (InvalidDataException ex)
        {
            throw new SplitwiseException($"{_path}: the gzip data is corrupt or truncated ({ex.Message}); download or compress the file again");
        }

        return total;
    }

    /// <summary>
    /// .NET's GZipStream ends quietly on truncated data. A file cut mid-line is caught here: the data does not end
    /// with a newline and its length disagrees with the gzip trailer (ISIZE, the length mod 2^32). A file cut at a
    /// line end still ends in a valid row; files of several gzip members (bgzip) have a last-member ISIZE and pass.
    /// </summary>
    private void CheckGzipEnd()
    {
        if (_gzipTotal == 0 || _gzipLastByte == '\n' || _fileLength < 18 || _stream is PrefixStream)
        {
            return;
        }

        Span<byte> trailer = stackalloc byte[4];
        ReadFully(_handle, trailer, _fileLength - 4);
        uint size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        if (size != (uint)_gzipTotal)
        {
            throw new SplitwiseException(
                $"{_path}: the gzip data ends early ({_gzipTotal:N0} bytes decompressed, the gzip trailer says {size:N0}); the file is truncated: download or compress it again");
        }
    }

    private static int ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static byte[] RentBuffer(int size)
    {
        if (s_buffers.TryTake(out byte[]? b) && b.Length >= size)
        {
            return b;
        }

        return new byte[size];
    }

    private static void ReturnBuffer(byte[] buffer)
    {
        if (buffer.Length <= (DefaultBlockSize * 2) + (1 << 20) && s_buffers.Count < PoolLimit)
        {
            s_buffers.Add(buffer);
        }
    }

    private static TraceChunk RentChunk(int capacity)
    {
        if (s_chunks.TryTake(out TraceChunk? c))
        {
            c.Count = 0;
            c.HasHashChains = false;
            return c;
        }

        return new TraceChunk(capacity);
    }

    private static void ReturnChunk(TraceChunk chunk)
    {
        if (s_chunks.Count < PoolLimit)
        {
            s_chunks.Add(chunk);
        }
    }
}
