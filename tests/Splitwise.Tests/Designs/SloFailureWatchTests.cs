using Splitwise.Designs;

namespace Splitwise.Tests.Designs;

/// <summary>
/// The failure watch that lets provisioning stop a failing point early must be exact: whenever it fires on part of a
/// run's requests, the evaluation of the whole run fails; and it does fire on badly overloaded runs.
/// </summary>
public class SloFailureWatchTests
{
    /// <summary>Alone: 100 ns per prompt token, then 1 µs per later token.</summary>
    private sealed class Alone : ISloReference
    {
        public IdealLatency For(int promptTokens, int outputTokens) => new(100L * promptTokens, (100L * promptTokens) + (1000L * (outputTokens - 1)));
    }

    private static readonly ISloReference s_reference = new Alone();

    [Theory]
    [InlineData("paper")]
    [InlineData("paper-lone")]
    [InlineData("ttft_p99=20us,tbt_p50=2us,e2e_p90=400us")]
    [InlineData("ttft_p50=3x,tbt_p99=2x")]
    public void A_watch_that_fires_means_the_whole_run_fails_and_it_fires_on_overload(string slo)
    {
        SloSet slos = SloSet.Parse(slo);
        int fired = 0, failed = 0;
        for (int c = 0; c < 400; c++)
        {
            var rng = new Random(c);
            int n = rng.Next(1, 300);
            double overload = rng.NextDouble() * 8; // latencies up to ~9x their ideal
            var inputs = new int[n];
            var outputs = new int[n];
            var ttft = new long[n];
            var e2e = new long[n];
            for (int i = 0; i < n; i++)
            {
                inputs[i] = rng.Next(1, 400);
                outputs[i] = rng.Next(1, 4) == 1 ? 1 : rng.Next(2, 50);
                IdealLatency ideal = s_reference.For(inputs[i], outputs[i]);
                if (rng.NextDouble() < 0.02 * overload)
                {
                    ttft[i] = e2e[i] = -1; // never finished
                    continue;
                }

                ttft[i] = (long)(ideal.TtftNs * (1 + (rng.NextDouble() * overload)));
                e2e[i] = ttft[i] + (long)((ideal.E2ENs - ideal.TtftNs) * (1 + (rng.NextDouble() * overload)));
            }

            SloReport report = SloEvaluator.Evaluate(slos, new SloRequests(inputs, outputs, ttft, e2e), s_reference, 1);
            var watch = new SloFailureWatch(slos, s_reference, n, outputs.Count(o => o > 1));
            bool fires = false;
            foreach (int i in Enumerable.Range(0, n).OrderBy(_ => rng.Next()))
            {
                fires |= watch.Observe(inputs[i], outputs[i], ttft[i], e2e[i]);
            }

            Assert.True(!fires || !report.AllPass, $"case {c}: the watch fired ({watch.Missed}) on a run that passes");
            fired += fires ? 1 : 0;
            failed += report.AllPass ? 0 : 1;
        }

        // Not vacuous: most failing runs are caught (the rest fail only by interpolation at a percentile's edge).
        Assert.True(fired > failed / 2, $"the watch fired on {fired} of {failed} failing runs");
    }
}
