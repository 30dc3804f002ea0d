using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Splitwise.Reports.Rendering;

/// <summary>
/// Encodes pixels as a PNG: indexed colour (one byte a pixel) when the image has at most 256 colours, as chart images
/// usually do, else 8-bit RGB; no filter. The zlib stream is written here (<see cref="Deflate"/>), not by zlib.
/// </summary>
/// <remarks>Deterministic. Cost: one pass of the match search (vectorised prefix compares) over rows made a few at a
/// time as the compressor reads them, Adler-32 and CRC-32 — well under a millisecond for a 900 × 500 chart; no buffer
/// for the whole image's rows.</remarks>
public static class PngEncoder
{
    /// <summary>Encodes RGB pixels (3 bytes each, row by row); the palette, when there is one, is in first-seen order.</summary>
    /// <param name="rgb">The pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="scratch">Optional buffer of at least width × height bytes for the indices, reused across calls.</param>
    public static byte[] Encode(byte[] rgb, int width, int height, byte[]? scratch = null)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.Length != width * height * 3)
        {
            throw new ArgumentException($"expected {width * height * 3} bytes of RGB, got {rgb.Length}", nameof(rgb));
        }

        byte[] indices = scratch is not null && scratch.Length >= width * height ? scratch : new byte[width * height];
        byte[]? palette = TryIndex(rgb, width * height, indices);
        var rows = palette is null ? new PixelRows(rgb, width * 3) : new PixelRows(indices, width);
        return Write(ref rows, width, height, palette, palette is null ? 3 : 1);
    }

    /// <summary>Rows of bytes laid out whole (RGB or indices), each given its filter byte 0.</summary>
    private readonly struct PixelRows(byte[] pixels, int rowLength) : Deflate.IRowSource
    {
        public void Row(int y, Span<byte> destination)
        {
            destination[0] = 0; // filter: none
            pixels.AsSpan(y * rowLength, rowLength).CopyTo(destination[1..]);
        }
    }

    /// <summary>Encodes a canvas of palette indices (<see cref="Rasterizer"/>'s): indexed when at most 256 of the
    /// palette's colours are used (unused entries are dropped then, keeping the palette's order), else RGB.</summary>
    /// <param name="pixels">Palette index per pixel, row by row.</param>
    /// <param name="palette">RGB as 0xRRGGBB per index.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="scratch">Buffers reused across calls (a canvas keeps one); null: rented per call.</param>
    public static byte[] EncodeIndexed(ReadOnlySpan<ushort> pixels, ReadOnlySpan<int> palette, int width, int height, Scratch? scratch = null) =>
        EncodeCanvas(pixels, [], palette, width, height, scratch);

    /// <summary><see cref="EncodeIndexed(ReadOnlySpan{ushort}, ReadOnlySpan{int}, int, int, Scratch?)"/>, setting each
    /// row of <paramref name="clear"/> (the same pixels, or empty) to index 0 once the compressor has read it: a canvas
    /// is white again after encoding, cleared while its rows are in the cache instead of in a pass of its own.</summary>
    internal static byte[] EncodeCanvas(ReadOnlySpan<ushort> pixels, Span<ushort> clear, ReadOnlySpan<int> palette, int width, int height, Scratch? scratch)
    {
        if (pixels.Length != width * height)
        {
            throw new ArgumentException($"expected {width * height} pixels, got {pixels.Length}", nameof(pixels));
        }

        int[]? remap = null;
        int colours = palette.Length;
        if (colours > 256)
        {
            // Blending can leave colours in the palette that no pixel kept: count the ones in use.
            remap = new int[colours];
            foreach (ushort p in pixels)
            {
                remap[p] = 1;
            }

            int used = 0;
            for (int i = 0; i < colours; i++)
            {
                remap[i] = remap[i] == 0 ? -1 : used++;
            }

            colours = used;
        }

        bool indexed = colours <= 256;
        byte[]? plte = null;
        if (indexed)
        {
            plte = new byte[3 * colours];
            for (int i = 0; i < palette.Length; i++)
            {
                int k = remap is null ? i : remap[i];
                if (k >= 0)
                {
                    (plte[3 * k], plte[(3 * k) + 1], plte[(3 * k) + 2]) = ((byte)(palette[i] >> 16), (byte)(palette[i] >> 8), (byte)palette[i]);
                }
            }
        }

        var rows = new CanvasRows(pixels, clear, palette, remap, width, indexed);
        return Write(ref rows, width, height, plte, indexed ? 1 : 3, scratch);
    }

    /// <summary>A canvas' rows as the data stream wants them (filter byte 0, then indices or RGB), made one at a time
    /// while the compressor reads them: no buffer for the whole image (an RGB one is 1.35 MB at 900 × 500).</summary>
    private readonly ref struct CanvasRows(ReadOnlySpan<ushort> pixels, Span<ushort> clear, ReadOnlySpan<int> palette, int[]? remap, int width, bool indexed) : Deflate.IRowSource
    {
        private readonly ReadOnlySpan<ushort> _pixels = pixels;
        private readonly Span<ushort> _clear = clear;
        private readonly ReadOnlySpan<int> _palette = palette;

        public void Row(int y, Span<byte> row)
        {
            row[0] = 0; // filter: none
            ReadOnlySpan<ushort> source = _pixels.Slice(y * width, width);
            if (!indexed)
            {
                for (int x = 0; x < width; x++)
                {
                    int c = _palette[source[x]];
                    (row[1 + (3 * x)], row[2 + (3 * x)], row[3 + (3 * x)]) = ((byte)(c >> 16), (byte)(c >> 8), (byte)c);
                }
            }
            else if (remap is not null)
            {
                for (int x = 0; x < width; x++)
                {
                    row[1 + x] = (byte)remap[source[x]];
                }
            }
            else
            {
                Narrow(source, row[1..]);
            }

            if (!_clear.IsEmpty)
            {
                _clear.Slice(y * width, width).Clear();
            }
        }
    }

    /// <summary>An encoder's output buffer, kept by a canvas so that each figure does not allocate a fresh one.</summary>
    public sealed class Scratch
    {
        private byte[] _output = [];

        /// <summary>Allocates the output buffer for a width × height image up front, large enough for the RGB form, and
        /// leaves it unwritten: only the pages a PNG's bytes reach are ever mapped (a chart's PNG is a tenth of it or
        /// less), and a canvas that meets an RGB figure does not allocate 1.5 MB more in the middle of the report.</summary>
        public void Reserve(int width, int height) => _ = Output(((3 * width) + 1) * height);

        internal byte[] Output(int rawLength) => OutputLength(rawLength) <= _output.Length ? _output : _output = GC.AllocateUninitializedArray<byte>(OutputLength(rawLength));

        // Worst case of the fixed-code deflate, 9 bits a byte, and the chunks around it.
        internal static int OutputLength(int rawLength) => 64 + (256 * 3) + (rawLength / 8 * 9) + 64;
    }

    /// <summary>The PNG of the rows (each a filter byte and the row's bytes).</summary>
    private static byte[] Write<TRows>(ref TRows rows, int width, int height, byte[]? palette, int bytesPerPixel, Scratch? scratch = null)
        where TRows : Deflate.IRowSource, allows ref struct
    {
        int rowBytes = (width * bytesPerPixel) + 1, rawLength = rowBytes * height;
        byte[] buffer = scratch?.Output(rawLength) ?? ArrayPool<byte>.Shared.Rent(Scratch.OutputLength(rawLength));
        var output = new Span<byte>(buffer);
        int at = 0;
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        signature.CopyTo(output);
        at += signature.Length;
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = (byte)(palette is null ? 2 : 3); // RGB or indexed
        at = Chunk(output, at, "IHDR"u8, ihdr);
        if (palette is not null)
        {
            at = Chunk(output, at, "PLTE"u8, palette);
        }

        // IDAT: the chunk's data is written in place, then its length and CRC around it.
        int length = Deflate.Compress(ref rows, height, rowBytes, bytesPerPixel, output[(at + 8)..]);
        BinaryPrimitives.WriteInt32BigEndian(output[at..], length);
        "IDAT"u8.CopyTo(output[(at + 4)..]);
        uint crc = Crc32.Update(0xFFFFFFFFu, output.Slice(at + 4, 4 + length)) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(output[(at + 8 + length)..], crc);
        at += 12 + length;
        at = Chunk(output, at, "IEND"u8, []);
        byte[] png = GC.AllocateUninitializedArray<byte>(at); // every byte is copied in; a large one is not zeroed first
        output[..at].CopyTo(png);
        if (scratch is null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return png;
    }

    private static int Chunk(Span<byte> output, int at, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteInt32BigEndian(output[at..], data.Length);
        type.CopyTo(output[(at + 4)..]);
        data.CopyTo(output[(at + 8)..]);
        uint crc = Crc32.Update(0xFFFFFFFFu, output.Slice(at + 4, 4 + data.Length)) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(output[(at + 8 + data.Length)..], crc);
        return at + 12 + data.Length;
    }

    /// <summary>Indices below 256 to bytes.</summary>
    private static void Narrow(ReadOnlySpan<ushort> source, Span<byte> destination)
    {
        int x = 0;
        if (Sse2.IsSupported)
        {
            ref ushort s = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source);
            ref byte d = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
            for (; x + 16 <= source.Length; x += 16)
            {
                Vector128<short> a = Vector128.LoadUnsafe(ref s, (nuint)x).AsInt16();
                Vector128<short> b = Vector128.LoadUnsafe(ref s, (nuint)(x + 8)).AsInt16();
                Sse2.PackUnsignedSaturate(a, b).StoreUnsafe(ref d, (nuint)x);
            }
        }

        for (; x < source.Length; x++)
        {
            destination[x] = (byte)source[x];
        }
    }

    /// <summary>The palette (RGB triples; white first) with the indices written into <paramref name="indices"/>, or
    /// null when there are more than 256 colours. Runs of white — most of a chart — are skipped with a vectorised search.</summary>
    private static byte[]? TryIndex(byte[] rgb, int pixels, byte[] indices)
    {
        const int Slots = 1024; // open addressing, at most 256 used
        Span<int> keys = stackalloc int[Slots];
        Span<byte> values = stackalloc byte[Slots];
        keys.Fill(-1);
        var palette = new byte[256 * 3];
        palette[0] = palette[1] = palette[2] = 255;
        keys[Slot(0xFFFFFF)] = 0xFFFFFF;
        int colours = 1;
        int last = 0xFFFFFF;
        byte lastIndex = 0;
        ReadOnlySpan<byte> all = rgb.AsSpan(0, pixels * 3);
        for (int i = 0; i < pixels; i++)
        {
            int p = i * 3;
            if (all[p] == 255 && all[p + 1] == 255 && all[p + 2] == 255)
            {
                // Skip to the next byte that is not 255; the pixel holding it is the next non-white one.
                int next = all[p..].IndexOfAnyExcept((byte)255);
                int end = next < 0 ? pixels : (p + next) / 3;
                indices.AsSpan(i, end - i).Clear();
                if (end == pixels)
                {
                    break;
                }

                i = end;
                p = i * 3;
            }

            int c = (all[p] << 16) | (all[p + 1] << 8) | all[p + 2];
            if (c != last)
            {
                int slot = Slot(c);
                while (keys[slot] != c && keys[slot] != -1)
                {
                    slot = (slot + 1) & (Slots - 1);
                }

                if (keys[slot] == -1)
                {
                    if (colours == 256)
                    {
                        return null;
                    }

                    keys[slot] = c;
                    values[slot] = (byte)colours;
                    palette[3 * colours] = all[p];
                    palette[(3 * colours) + 1] = all[p + 1];
                    palette[(3 * colours) + 2] = all[p + 2];
                    colours++;
                }

                (last, lastIndex) = (c, values[slot]);
            }

            indices[i] = lastIndex;
        }

        return palette.AsSpan(0, 3 * colours).ToArray();

        static int Slot(int c) => (int)((uint)(c * -1640531535) >> 22);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320), slicing by 8 bytes.</summary>
    internal static class Crc32
    {
        private static readonly uint[] s_table = Table();

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            ReadOnlySpan<uint> t = s_table;
            while (data.Length >= 8)
            {
                uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc, hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
                crc = t[(7 * 256) + (int)(lo & 0xFF)] ^ t[(6 * 256) + (int)((lo >> 8) & 0xFF)] ^ t[(5 * 256) + (int)((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (int)(lo >> 24)]
                    ^ t[(3 * 256) + (int)(hi & 0xFF)] ^ t[(2 * 256) + (int)((hi >> 8) & 0xFF)] ^ t[256 + (int)((hi >> 16) & 0xFF)] ^ t[(int)(hi >> 24)];
                data = data[8..];
            }

            foreach (byte b in data)
            {
                crc = t[(int)((crc ^ b) & 0xFF)] ^ (crc >> 8);
            }

            return crc;
        }

        private static uint[] Table()
        {
            var t = new uint[8 * 256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                t[n] = c;
            }

            for (int s = 1; s < 8; s++)
            {
                for (int n = 0; n < 256; n++)
                {
                    uint prev = t[((s - 1) * 256) + n];
                    t[(s * 256) + n] = t[(int)(prev & 0xFF)] ^ (prev >> 8);
                }
            }

            return t;
        }
    }
}
