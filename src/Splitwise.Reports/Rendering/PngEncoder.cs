using System.Buffers.Binary;
using System.IO.Compression;

namespace Splitwise.Reports.Rendering;

/// <summary>
/// Encodes RGB pixels as a PNG: indexed colour (one byte a pixel, PLTE in first-seen order) when the image has at most
/// 256 colours, as chart images usually do, else 8-bit RGB; no filter, zlib at its fastest level.
/// </summary>
/// <remarks>Deterministic (the palette order is the scan order). Cost is dominated by deflate over 1 or 3 bytes a pixel.</remarks>
public static class PngEncoder
{
    /// <param name="rgb">The pixels, 3 bytes each, row by row.</param>
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

        byte[] raw = scratch is not null && scratch.Length >= width * height ? scratch : new byte[width * height];
        byte[]? palette = TryIndex(rgb, width * height, raw);
        int stride = palette is null ? width * 3 : width;
        using var output = new MemoryStream((width * height / 8) + 1024);
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = (byte)(palette is null ? 2 : 3); // RGB or indexed
        Chunk(output, "IHDR"u8, ihdr);
        if (palette is not null)
        {
            Chunk(output, "PLTE"u8, palette);
        }

        using var idat = new MemoryStream((width * height / 8) + 1024);
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] line = new byte[stride + 1]; // filter byte 0 (none), then the row
            for (int y = 0; y < height; y++)
            {
                if (palette is null)
                {
                    Buffer.BlockCopy(rgb, y * stride, line, 1, stride);
                }
                else
                {
                    Buffer.BlockCopy(raw, y * stride, line, 1, stride);
                }

                z.Write(line);
            }
        }

        Chunk(output, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        Chunk(output, "IEND"u8, []);
        return output.ToArray();
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

    private static void Chunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320), table-driven.</summary>
    internal static class Crc32
    {
        private static readonly uint[] s_table = Table();

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            uint[] t = s_table;
            foreach (byte b in data)
            {
                crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return crc;
        }

        private static uint[] Table()
        {
            var t = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                t[n] = c;
            }

            return t;
        }
    }
}
