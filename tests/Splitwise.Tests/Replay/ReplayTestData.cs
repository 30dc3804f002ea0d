using Splitwise.Replay;
using Splitwise.Traces;

namespace Splitwise.Tests.Replay;

internal static class ReplayTestData
{
    /// <summary>A trace of <paramref name="count"/> requests every <paramref name="gapMs"/> ms.</summary>
    public static Trace Uniform(int count, double gapMs, int input = 50, int output = 4)
    {
        long[] arrivals = new long[count];
        int[] inputs = new int[count];
        int[] outputs = new int[count];
        for (int i = 0; i < count; i++)
        {
            arrivals[i] = (long)(i * gapMs * TimeSpan.TicksPerMillisecond);
            inputs[i] = input + i;
            outputs[i] = output;
        }

        return new Trace("uniform", DateTimeOffset.UnixEpoch, arrivals, inputs, outputs, count);
    }

    public static ReplayOptions Options(Uri endpoint, string outDir) => new()
    {
        Endpoint = endpoint,
        Model = "llama2-70b",
        OutputDirectory = outDir,
        Timeout = TimeSpan.FromSeconds(5),
    };

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "splitwise-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
