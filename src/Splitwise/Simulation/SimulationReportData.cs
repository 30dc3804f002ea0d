namespace Splitwise.Simulation;

/// <summary>
/// What a run's report draws beyond its summary: the latency distributions as quantiles (for CDFs) and the time series.
/// Bounded in size whatever the run's length.
/// </summary>
/// <param name="Percents">The percent levels of every quantile array, ascending (see <see cref="CdfPercents"/>).</param>
/// <param name="Quantiles">Per metric name of <see cref="SimulationSummary.MetricNames"/>: the value in seconds at
/// each of <see cref="Percents"/>, or empty when no request has the metric.</param>
/// <param name="Timeline">The time series.</param>
public sealed record SimulationReportData(double[] Percents, IReadOnlyDictionary<string, double[]> Quantiles, SimulationTimelineData Timeline)
{
    /// <summary>0, 0.1, …, 99.9 percent, then 99.95, 99.99 and 100: the CDF's shape and its tail.</summary>
    public static double[] CdfPercents { get; } =
        [.. Enumerable.Range(0, 1000).Select(i => i / 10.0), 99.95, 99.99, 100];

    /// <summary>Reads the quantiles off the recorder (values in ns, reported in seconds).</summary>
    public static SimulationReportData Create(SimulationRecorder recorder, SimulationTimelineData timeline)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        double[] p = CdfPercents;
        var q = new Dictionary<string, double[]>
        {
            ["ttft_times"] = Seconds(recorder.Ttft.Quantiles(p)),
            ["tbt_times"] = Seconds(recorder.Tbt.Quantiles(p)),
            ["response_times"] = Seconds(recorder.E2e.Quantiles(p)),
            ["queue_times"] = Seconds(recorder.Queue.Quantiles(p)),
            ["tpot_times"] = Seconds(recorder.Tpot.Quantiles(p)),
            ["tbt_max_times"] = Seconds(recorder.TbtMax.Quantiles(p)),
            ["kv_transfer_times"] = Seconds(recorder.KvTransfer.Quantiles(p)),
            ["second_token_times"] = Seconds(recorder.SecondToken.Quantiles(p)),
        };
        return new SimulationReportData(p, q, timeline);
    }

    private static double[] Seconds(double[] ns)
    {
        for (int i = 0; i < ns.Length; i++)
        {
            ns[i] /= 1e9;
        }

        return ns;
    }
}
