using Splitwise.Performance;
using Splitwise.Traces;

namespace Splitwise.Bench;

/// <summary>The benchmarks' inputs: conv-2023 from <c>SPLITWISE_DATA</c> and SplitwiseSim's profile from <c>SPLITWISE_PROFILE</c>.</summary>
internal static class BenchInputs
{
    public static Trace Conv2023() => TraceReader.Read(NamedTraces.Resolve("conv-2023", Env("SPLITWISE_DATA")));

    public static ProfileTable Profile() => ProfileTable.Load(Env("SPLITWISE_PROFILE"));

    private static string Env(string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException("set " + name);
}
