using CsCheck;
using Splitwise.Simulation;
using Splitwise.Traces;
using Trace = Splitwise.Traces.Trace;

namespace Splitwise.Tests.Traces;

/// <summary>Prefix hash chains (Mooncake <c>hash_ids</c>): read in memory and streamed, written back, sorted, rejected when bad.</summary>
public sealed class HashChainTests : IDisposable
{
    private const string Seed = "0000001diAk7";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Traces with chains of 0–12 ids (small ids that repeat, and full 64-bit ones) and arrivals at every resolution.</summary>
    private static readonly Gen<Trace> s_chained =
        from count in Gen.Int[0, 30]
        from arrivals in Gen.OneOf(Gen.Long[0, 30L * TimeSpan.TicksPerDay], Gen.Long[0, 10_000_000L].Select(ms => ms * TimeSpan.TicksPerMillisecond)).Array[count]
        from inputs in Gen.Int[0, 20_000].Array[count]
        from outputs in Gen.Int[0, 2_000].Array[count]
        from chains in Gen.OneOf(Gen.Long[0, 50], Gen.Long).Array[0, 12].Array[count]
        select Chained(arrivals, inputs, outputs, chains);

    private static Trace Chained(long[] arrivals, int[] inputs, int[] outputs, long[][] chains)
    {
        int[] offsets = new int[chains.Length + 1];
        for (int i = 0; i < chains.Length; i++)
        {
            offsets[i + 1] = offsets[i] + chains[i].Length;
        }

        return new Trace("chained", DateTimeOffset.UnixEpoch, arrivals, inputs, outputs, chains.Length, offsets, chains.SelectMany(c => c).ToArray());
    }

    private static long[][] Chains(Trace trace) => Enumerable.Range(0, trace.Count).Select(i => trace.HashChain(i).ToArray()).ToArray();

    /// <summary>A Mooncake value as written by hand: plain integers, and spellings the fast line reader leaves to the JSON
    /// reader (signs, fractions, exponents, leading zeros, 19+ digits, strings, null).</summary>
    private static readonly Gen<string> s_number = Gen.Frequency(
        (12, Gen.Long[0, 2_000_000].Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (2, Gen.Long[0, long.MaxValue].Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (1, Gen.OneOfConst("0", "00", "007", "-0", "-3", "1.0", "2.5", "1e3", "1E+2", "9223372036854775808", "99999999999999999999",
            "2147483647", "2147483648", "100000000000", "100000000001", "\"12\"", "null", "true", "1x", "[]")));

    private static readonly Gen<string> s_space = Gen.OneOfConst("", "", "", " ", "  ", "\t");

    /// <summary>One Mooncake line: the four keys in any order (sometimes one missing or doubled), odd spacing, sometimes
    /// trailing text.</summary>
    private static readonly Gen<string> s_line =
        from order in Gen.Int[0, 3].Array[3, 5]
        from values in s_number.Array[5]
        from ids in s_number.Array[0, 6]
        from spaces in s_space.Array[8]
        from tail in Gen.Frequency((20, Gen.Const("")), (1, Gen.OneOfConst(" x", "}", ",", "{}")))
        select MooncakeLine(order, values, ids, spaces, tail);

    private static string MooncakeLine(int[] order, string[] values, string[] ids, string[] spaces, string tail)
    {
        string[] keys = ["timestamp", "input_length", "output_length", "hash_ids"];
        var fields = new List<string>();
        for (int k = 0; k < order.Length; k++)
        {
            string value = order[k] == 3 ? "[" + spaces[4] + string.Join("," + spaces[5], ids) + spaces[6] + "]" : values[k];
            fields.Add($"\"{keys[order[k]]}\"{spaces[1]}:{spaces[2]}{value}");
        }

        return spaces[0] + "{" + spaces[3] + string.Join("," + spaces[7], fields) + "}" + spaces[0] + tail;
    }

    private static (Trace? Trace, int Skipped) ReadOrNull(string path, TraceReadOptions options)
    {
        try
        {
            Trace trace = TraceReader.Read(path, options, out TraceReadReport report);
            return (trace, report.SkippedRows);
        }
        catch (SplitwiseException)
        {
            return (null, -1); // no line kept
        }
    }

    [Fact]
    public void Mooncake_lines_read_alike_by_the_fast_reader_and_the_JSON_reader()
    {
        // The same lines, each also with an unknown key first (which only the JSON reader reads, skipping it): the same
        // lines kept, with the same arrivals, sizes and chains.
        s_line.Array[1, 25].Sample(lines =>
        {
            string plain = _dir.PathOf($"{Guid.NewGuid():N}.jsonl"), slow = _dir.PathOf($"{Guid.NewGuid():N}.jsonl");
            File.WriteAllText(plain, string.Join("\n", lines) + "\n");
            File.WriteAllText(slow, string.Join("\n", lines.Select(l => l.Insert(l.IndexOf('{', StringComparison.Ordinal) + 1, "\"note\": \"{\", "))) + "\n");
            var options = new TraceReadOptions { Sort = false, Format = TraceFormat.Mooncake, SkipInvalid = true };
            (Trace? a, int skippedA) = ReadOrNull(plain, options);
            (Trace? b, int skippedB) = ReadOrNull(slow, options);
            Assert.Equal(skippedB, skippedA);
            Assert.Equal(b is null, a is null);
            if (a is null || b is null)
            {
                return;
            }

            Assert.Equal(b.Arrivals.ToArray(), a.Arrivals.ToArray());
            Assert.Equal(b.Inputs.ToArray(), a.Inputs.ToArray());
            Assert.Equal(b.Outputs.ToArray(), a.Outputs.ToArray());
            Assert.Equal(b.HasHashChains, a.HasHashChains);
            Assert.Equal(Chains(b), Chains(a));
            File.Delete(plain);
            File.Delete(slow);
        }, seed: Seed, iter: 400, threads: 1);
    }

    [Fact]
    public void Mooncake_round_trip_keeps_arrivals_sizes_and_chains_exactly()
    {
        s_chained.Sample(trace =>
        {
            string file = _dir.PathOf($"{Guid.NewGuid():N}.jsonl");
            TraceWriter.Write(trace, file, TraceFormat.Mooncake);
            Trace back = TraceReader.Read(file, new TraceReadOptions { Sort = false, Format = TraceFormat.Mooncake });
            Assert.Equal(trace.Arrivals.ToArray(), back.Arrivals.ToArray());
            Assert.Equal(trace.Inputs.ToArray(), back.Inputs.ToArray());
            Assert.Equal(trace.Outputs.ToArray(), back.Outputs.ToArray());
            Assert.Equal(trace.Count > 0, back.HasHashChains);
            Assert.Equal(Chains(trace), Chains(back));

            // Written again, the bytes are the same: the writer is a function of the trace.
            string again = _dir.PathOf($"{Guid.NewGuid():N}.jsonl");
            TraceWriter.Write(back, again, TraceFormat.Mooncake);
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(again));
            File.Delete(file);
            File.Delete(again);
        }, seed: Seed, iter: 60, threads: 1);
    }

    [Fact]
    public void Mooncake_writer_spells_lines_as_mooncake_does()
    {
        var trace = new Trace("t", DateTimeOffset.UnixEpoch, [0, 274_820_000, 274_835_001], [6955, 4, 1], [52, 3, 2], 3, [0, 3, 3, 4], [46, 47, 48, -5]);
        var text = new StringWriter();
        TraceWriter.Write(trace, text, TraceFormat.Mooncake);
        Assert.Equal(
            "{\"timestamp\": 0, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47, 48]}\n" +
            "{\"timestamp\": 27482, \"input_length\": 4, \"output_length\": 3, \"hash_ids\": []}\n" +
            "{\"timestamp\": 27483.5001, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [-5]}\n",
            text.ToString());

        var plain = new StringWriter();
        TraceWriter.Write(new Trace("t", DateTimeOffset.UnixEpoch, [10_000], [1], [2], 1), plain, TraceFormat.Mooncake);
        Assert.Equal("{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 2}\n", plain.ToString());
    }

    [Fact]
    public void Csv_formats_drop_chains_and_say_so()
    {
        Trace trace = Chained([0], [600], [1], [[1, 2]]);
        Assert.True(TraceWriter.DropsHashChains(trace, TraceFormat.Azure2024));
        Assert.True(TraceWriter.DropsHashChains(trace, TraceFormat.Vidur));
        Assert.False(TraceWriter.DropsHashChains(trace, TraceFormat.Mooncake));
        Assert.False(TraceWriter.DropsHashChains(new Trace("x", DateTimeOffset.UnixEpoch, [0], [1], [1], 1), TraceFormat.Vidur));
        string file = _dir.PathOf("dropped.csv");
        TraceWriter.Write(trace, file, TraceFormat.Vidur);
        Assert.False(TraceReader.Read(file).HasHashChains);
    }

    [Fact]
    public void Streaming_in_tiny_blocks_gives_the_same_chains_as_reading_whole()
    {
        s_chained.Sample(trace =>
        {
            string file = _dir.PathOf($"{Guid.NewGuid():N}.jsonl");
            TraceWriter.Write(trace, file, TraceFormat.Mooncake);
            var streamed = new List<long[]>();
            var options = new TraceReadOptions { Format = TraceFormat.Mooncake };
            foreach (TraceChunk chunk in TraceReader.ReadChunks(file, options, new TraceReadReport(file), blockSize: 300))
            {
                Assert.True(chunk.HasHashChains);
                Assert.Equal(0, chunk.HashOffsets[0]);
                for (int i = 0; i < chunk.Count; i++)
                {
                    streamed.Add(chunk.HashChain(i).ToArray());
                }
            }

            Assert.Equal(Chains(trace), streamed.ToArray());
            File.Delete(file);
        }, seed: Seed, iter: 30, threads: 1);
    }

    [Fact]
    public void Sorting_moves_each_chain_with_its_row()
    {
        string file = _dir.Write("unsorted.jsonl",
            "{\"timestamp\": 30, \"input_length\": 3, \"output_length\": 1, \"hash_ids\": [3, 33]}\n" +
            "{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]}\n" +
            "{\"timestamp\": 20, \"input_length\": 2, \"output_length\": 1}\n" +
            "{\"timestamp\": 10, \"input_length\": 4, \"output_length\": 1, \"hash_ids\": [4, 44, 444]}\n");
        Trace trace = TraceReader.Read(file, null, out TraceReadReport report);
        Assert.True(report.Sorted);
        Assert.Equal([1, 4, 2, 3], trace.Inputs.ToArray());
        Assert.Equal([[1L], [4L, 44, 444], [], [3L, 33]], Chains(trace));
    }

    [Fact]
    public void Arrival_sources_hand_out_the_chains_of_each_fill_from_memory_and_from_chunks()
    {
        s_chained.Sample(trace =>
        {
            string file = _dir.PathOf($"{Guid.NewGuid():N}.jsonl");
            TraceWriter.Write(trace, file, TraceFormat.Mooncake);
            var options = new TraceReadOptions { Format = TraceFormat.Mooncake };
            Trace sorted = TraceReader.Read(file, options);
            long[][] expected = Chains(sorted);
            ArrivalSource memory = ArrivalSource.FromTrace(sorted);
            ArrivalSource streamed = ArrivalSource.FromChunks(TraceReader.ReadChunks(file, options, new TraceReadReport(file), blockSize: 256));
            if (sorted.IsSorted && trace.IsSorted)
            {
                Assert.Equal(expected, Drain(streamed));
            }

            Assert.Equal(expected, Drain(memory));
            Assert.Equal(sorted.Count > 0, memory.HasHashChains);
            File.Delete(file);
        }, seed: Seed, iter: 30, threads: 1);
    }

    [Fact]
    public void A_streamed_source_whose_chains_start_mid_file_gives_the_earlier_rows_empty_chains()
    {
        string file = _dir.Write("late.jsonl",
            "{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1}\n" +
            "{\"timestamp\": 2, \"input_length\": 1, \"output_length\": 1}\n" +
            "{\"timestamp\": 3, \"input_length\": 1, \"output_length\": 1}\n" +
            "{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]}\n" +
            "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [2, 3]}\n" +
            "{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 1}\n");
        ArrivalSource streamed = ArrivalSource.FromChunks(TraceReader.ReadChunks(file, null, new TraceReadReport(file), blockSize: 64));
        Assert.Equal([[], [], [], [1L], [2L, 3], []], Drain(streamed));
        Assert.True(streamed.HasHashChains);
        Trace whole = TraceReader.Read(file);
        Assert.Equal([[], [], [], [1L], [2L, 3], []], Chains(whole));
    }

    private static long[][] Drain(ArrivalSource source)
    {
        var chains = new List<long[]>();
        long[] t = new long[7];
        int[] x = new int[7], y = new int[7];
        int n;
        while ((n = source.Fill(t, x, y)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                chains.Add(source.HashChain(i).ToArray());
            }
        }

        return chains.ToArray();
    }

    [Theory]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [1, \"a\"]}", 73, "hash_ids: element 1 \"a\" is not a block id (an integer)")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [1, 2.5]}", 73, "hash_ids: element 1 2.5 is not an integer block id")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [99999999999999999999]}", 70, "hash_ids: element 0 99999999999999999999 is not an integer block id")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": 7}", 69, "hash_ids: 7 is not an array of block ids")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [[1]]}", 70, "hash_ids: element 0 an array is not a block id")]
    [InlineData("{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": null}", 69, "hash_ids: null is not an array")]
    public void Bad_hash_ids_are_one_line_with_line_and_column(string line, int column, string why)
    {
        string file = _dir.Write("bad.jsonl", "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [0]}\n\n" + line + "\n");
        var e = Assert.Throws<TraceFormatException>(() => TraceReader.Read(file));
        Assert.Equal(3, e.Line);
        Assert.Equal(column, e.Column);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"{file}:3:{column}: {why}", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; fix the row or pass --skip-invalid", e.Message, StringComparison.Ordinal);

        // Streamed, the same error; skipped, the good row keeps its chain and the bad row's ids are rolled back.
        Assert.Throws<TraceFormatException>(() => TraceReader.ReadChunks(file).Sum(c => c.Count));
        Trace kept = TraceReader.Read(file, new TraceReadOptions { SkipInvalid = true }, out TraceReadReport report);
        Assert.Equal(1, report.SkippedRows);
        Assert.Equal(1, kept.Count);
        Assert.Equal([0L], kept.HashChain(0).ToArray());
        Assert.Equal(1, kept.HashOffsets![1]);
    }
}
