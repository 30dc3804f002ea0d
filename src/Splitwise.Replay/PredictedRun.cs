namespace Splitwise.Replay;

/// <summary>Per-request latencies the simulator predicts for the same requests (for measured-vs-predicted plots).</summary>
/// <param name="Design">The simulated design, e.g. <c>Baseline-H100 × 1</c>.</param>
/// <param name="TtftNs">Predicted TTFT per request.</param>
/// <param name="TpotNs">Predicted TPOT per request (requests with one output token excluded).</param>
/// <param name="E2eNs">Predicted E2E per request.</param>
public sealed record PredictedRun(string Design, long[] TtftNs, long[] TpotNs, long[] E2eNs)
{
    public LatencyStats Ttft => LatencyStats.FromNanoseconds((long[])TtftNs.Clone());

    public LatencyStats Tpot => LatencyStats.FromNanoseconds((long[])TpotNs.Clone());

    public LatencyStats E2e => LatencyStats.FromNanoseconds((long[])E2eNs.Clone());
}
