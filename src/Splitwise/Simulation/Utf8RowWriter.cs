using System.Buffers.Text;
using System.Text;

namespace Splitwise.Simulation;

/// <summary>A minimal buffered UTF-8 CSV row writer for millions of numeric rows (invariant, allocation-free).</summary>
internal sealed class Utf8RowWriter(Stream stream) : IDisposable
{
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _pos;
    private bool _first = true;

    private Span<byte> Reserve(int n)
    {
        if (_pos + n > _buffer.Length)
        {
            Flush();
        }

        return _buffer.AsSpan(_pos);
    }

    private void Separator()
    {
        if (!_first)
        {
            Reserve(1)[0] = (byte)',';
            _pos++;
        }

        _first = false;
    }

    public void Raw(string ascii)
    {
        Separator();
        Span<byte> span = Reserve(ascii.Length * 3);
        _pos += Encoding.UTF8.GetBytes(ascii, span);
    }

    public void Empty() => Separator();

    public void Long(long value)
    {
        Separator();
        Utf8Formatter.TryFormat(value, Reserve(24), out int written);
        _pos += written;
    }

    /// <summary>Nanoseconds as seconds with nine decimals, exactly (integer arithmetic).</summary>
    public void Seconds(long ns)
    {
        Separator();
        Span<byte> span = Reserve(32);
        int w = 0;
        if (ns < 0)
        {
            span[w++] = (byte)'-';
            ns = -ns;
        }

        Utf8Formatter.TryFormat(ns / 1_000_000_000, span[w..], out int written);
        w += written;
        span[w++] = (byte)'.';
        long frac = ns % 1_000_000_000;
        for (int d = 8; d >= 0; d--)
        {
            span[w + d] = (byte)('0' + (frac % 10));
            frac /= 10;
        }

        _pos += w + 9;
    }

    public void EndRow()
    {
        Reserve(1)[0] = (byte)'\n';
        _pos++;
        _first = true;
    }

    public void Flush()
    {
        stream.Write(_buffer, 0, _pos);
        _pos = 0;
    }

    public void Dispose() => Flush();
}
