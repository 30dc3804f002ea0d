using Splitwise.Traces;
using Splitwise.Traces.Internals;

namespace Splitwise.Bench;

/// <summary>
/// <c>splitwise-bench traces-parse-single FILE</c>: the block parser alone on one thread over a file held in memory
/// (no I/O, no pipeline), five passes, with process CPU time — the per-core cost of parsing, which stays meaningful
/// when the machine is busy and wall-clock figures are not.
/// </summary>
internal static class TraceParserSingleThread
{
    public static int Run(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        int headerEnd = Array.IndexOf(data, (byte)'\n') + 1;
        var layout = TraceLayout.Resolve(data.AsSpan(0, 4096), false, TraceFormat.Auto, path);
        int block = 4 << 20;
        byte[] buffer = new byte[block + 100000];
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            long rows = 0;
            int pos = headerEnd;
            var result = new BlockResult { Chunk = new TraceChunk(200_000) };
            TimeSpan parseTime = TimeSpan.Zero;
            while (pos < data.Length)
            {
                int len = Math.Min(block, data.Length - pos);
                int nl = data.AsSpan(pos, len).LastIndexOf((byte)'\n');
                len = nl + 1;
                Array.Copy(data, pos, buffer, 0, len);
                buffer[len] = (byte)'\n';
                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                result.Reset();
                result.Chunk.Count = 0;
                BlockParser.Parse(buffer, 0, len, layout, false, result);
                parseTime += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
                rows += result.Chunk.Count;
                pos += len;
            }

            double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine($"cpu {cpu:F3} s = {cpu * 1e9 / rows:F1} ns/row; single thread: {rows:N0} rows, total {sw.Elapsed.TotalSeconds:F3} s, parse {parseTime.TotalSeconds:F3} s = {parseTime.TotalNanoseconds / rows:F1} ns/row, {data.Length / 1e6 / parseTime.TotalSeconds:F0} MB/s");
        }

        return 0;
    }
}
