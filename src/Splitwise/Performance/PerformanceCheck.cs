using System.Globalization;
using nietras.SeparatedValues;
using Splitwise.Hardware;

namespace Splitwise.Performance;

/// <summary>Accuracy of the performance models on one profiled configuration.</summary>
/// <param name="Key">Model, hardware, TP.</param>
/// <param name="Points">Distinct batch-token counts of the curve.</param>
/// <param name="PromptLooMape">Leave-one-out mean absolute percentage error of the profile model's prompt time over
/// the profile's rows: each measurement predicted by the model rebuilt without it.</param>
/// <param name="TokenLooMape">Same for the token time.</param>
/// <param name="PromptPointLooMape">Leave-one-point-out error of the prompt curve: each distinct batch-token count
/// predicted by interpolating (or extrapolating) the others — how well the curve generalises between profiled sizes.</param>
/// <param name="TokenPointLooMape">Same for the token curve.</param>
/// <param name="RooflineCases">Profile measurements (prompt and token times of each row group) compared with the roofline.</param>
/// <param name="RooflineMedianApe">Median absolute percentage error of the roofline over those measurements.</param>
/// <param name="RooflineMaxApe">Largest absolute percentage error of the roofline.</param>
public sealed record PerformanceCheckRow(
    ProfileKey Key, int Points, double PromptLooMape, double TokenLooMape, double PromptPointLooMape, double TokenPointLooMape, int RooflineCases, double RooflineMedianApe, double RooflineMaxApe);

/// <summary>The <c>perf-model check</c> report.</summary>
public sealed record PerformanceCheckReport(
    IReadOnlyList<PerformanceCheckRow> Rows, double ProfileLooMape, double ProfilePointLooMape, double RooflineMedianApe, int RooflineCases, RooflineFactors Factors);

/// <summary>
/// Checks the performance models against SplitwiseSim's profile: leave-one-out error of the profile model's
/// interpolation, and the roofline model's error against every measured row group (median over repeats) — prompt time
/// of batch_size prompts of prompt_size tokens, and the mean decode-iteration time of batch_size requests whose context
/// grows from prompt_size to prompt_size + token_size (taken at its midpoint).
/// </summary>
public static class PerformanceCheck
{
    /// <summary>One measured row group: configuration, shape and median times (ms).</summary>
    public readonly record struct Measurement(ProfileKey Key, int PromptSize, int BatchSize, int TokenSize, double PromptMs, double TokenMs);

    public static PerformanceCheckReport Run(ProfileTable table, string path, Catalog catalog, RooflineFactors? factors = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(catalog);
        factors ??= RooflineFactors.Default;
        List<Measurement> measurements = ReadMeasurements(path);
        var rows = new List<PerformanceCheckRow>();
        var allLoo = new List<double>();
        var allPointLoo = new List<double>();
        var allRoof = new List<double>();
        foreach (ProfileCurve curve in table.Curves.OrderBy(c => c.Key))
        {
            List<double> prompt = LeaveOneRowOut(curve.X, curve.PromptSamples), token = LeaveOneRowOut(curve.X, curve.TokenSamples);
            List<double> promptPoint = LeaveOneOut(curve.X, curve.PromptMs), tokenPoint = LeaveOneOut(curve.X, curve.TokenMs);
            allLoo.AddRange(prompt);
            allLoo.AddRange(token);
            allPointLoo.AddRange(promptPoint);
            allPointLoo.AddRange(tokenPoint);
            var roof = new List<double>();
            RooflinePerformanceModel? model = Roofline(curve.Key, catalog, factors);
            if (model is not null)
            {
                foreach (Measurement m in measurements.Where(m => m.Key == curve.Key))
                {
                    (double p, double t) = Predict(model, m);
                    roof.Add(Math.Abs(p - m.PromptMs) / m.PromptMs);
                    roof.Add(Math.Abs(t - m.TokenMs) / m.TokenMs);
                }
            }

            allRoof.AddRange(roof);
            rows.Add(new PerformanceCheckRow(curve.Key, curve.X.Length, prompt.Average(), token.Average(), promptPoint.Average(), tokenPoint.Average(), roof.Count,
                roof.Count == 0 ? double.NaN : Median(roof), roof.Count == 0 ? double.NaN : roof.Max()));
        }

        return new PerformanceCheckReport(rows, allLoo.Average(), allPointLoo.Average(), allRoof.Count == 0 ? double.NaN : Median(allRoof), allRoof.Count, factors);
    }

    /// <summary>
    /// Fits the global roofline factors to every measurement: coordinate descent on the mean absolute log error, all
    /// configurations at once (one set of factors for every GPU and model).
    /// </summary>
    public static RooflineFactors Fit(string path, Catalog catalog)
    {
        List<Measurement> measurements = ReadMeasurements(path);
        double Loss(RooflineFactors f)
        {
            double sum = 0;
            int n = 0;
            foreach (IGrouping<ProfileKey, Measurement> g in measurements.GroupBy(m => m.Key))
            {
                RooflinePerformanceModel? model = Roofline(g.Key, catalog, f);
                if (model is null)
                {
                    continue;
                }

                foreach (Measurement m in g)
                {
                    (double p, double t) = Predict(model, m);
                    sum += Math.Abs(Math.Log(p / m.PromptMs)) + Math.Abs(Math.Log(t / m.TokenMs));
                    n += 2;
                }
            }

            return sum / Math.Max(n, 1);
        }

        double[] x = [0.5, 0.6, 0.5, 50, 5000];
        double[] step = [0.2, 0.2, 0.2, 40, 4000];
        double[] lo = [0.05, 0.05, 0.05, 0, 0], hi = [1, 1, 1, 1000, 50_000];
        static RooflineFactors Make(double[] v) => new(v[0], v[1], v[2], v[3], v[4]);
        double best = Loss(Make(x));
        for (int round = 0; round < 40; round++)
        {
            bool improved = false;
            for (int i = 0; i < x.Length; i++)
            {
                foreach (int dir in new[] { -1, 1 })
                {
                    double[] y = (double[])x.Clone();
                    y[i] = Math.Clamp(y[i] + (dir * step[i]), lo[i], hi[i]);
                    double l = Loss(Make(y));
                    if (l < best)
                    {
                        best = l;
                        x = y;
                        improved = true;
                    }
                }
            }

            if (!improved)
            {
                for (int i = 0; i < step.Length; i++)
                {
                    step[i] /= 2;
                }
            }
        }

        return new RooflineFactors(Math.Round(x[0], 3), Math.Round(x[1], 3), Math.Round(x[2], 3), Math.Round(x[3], 1), Math.Round(x[4], 0));
    }

    private static (double PromptMs, double TokenMs) Predict(RooflinePerformanceModel model, in Measurement m)
    {
        double p = model.IterationNanoseconds(new BatchShape(m.PromptSize * m.BatchSize, m.BatchSize, 0, 0)) / 1e6;
        long context = (long)m.BatchSize * (m.PromptSize + (m.TokenSize / 2));
        double t = model.IterationNanoseconds(new BatchShape(0, 0, m.BatchSize, context)) / 1e6;
        return (p, t);
    }

    private static RooflinePerformanceModel? Roofline(ProfileKey key, Catalog catalog, RooflineFactors factors)
    {
        if (!catalog.Models.TryGetValue(key.Model, out var model) || !catalog.Gpus.TryGetValue(key.Hardware, out GpuSpec? gpu))
        {
            return null;
        }

        MachineSpec? machine = catalog.Machines.Values.Where(m => m.Gpu.Name == gpu.Name).OrderBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault();
        return new RooflinePerformanceModel(model, gpu, key.TensorParallel, machine?.NvlinkGBps ?? 600, factors);
    }

    /// <summary>
    /// Leave-one-row-out relative errors: each measurement predicted by the profile model rebuilt without it (the median
    /// at its x recomputed from the other repeats; when it was the only one, its x is interpolated from the others).
    /// </summary>
    internal static List<double> LeaveOneRowOut(long[] x, double[][] samples)
    {
        var errors = new List<double>();
        double[] medians = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            medians[i] = ProfileTable.Median([.. samples[i]]);
        }

        for (int i = 0; i < x.Length; i++)
        {
            for (int r = 0; r < samples[i].Length; r++)
            {
                double actual = samples[i][r];
                double predicted;
                if (samples[i].Length > 1)
                {
                    var rest = new List<double>(samples[i]);
                    rest.RemoveAt(r);
                    double[] y = (double[])medians.Clone();
                    y[i] = ProfileTable.Median(rest);
                    predicted = ProfileCurve.Interpolate(x, y, x[i]);
                }
                else if (x.Length > 2)
                {
                    predicted = LeaveOneOutPrediction(x, medians, i);
                }
                else
                {
                    continue; // one point left: nothing to interpolate from
                }

                errors.Add(Math.Abs(predicted - actual) / actual);
            }
        }

        return errors;
    }

    private static double LeaveOneOutPrediction(long[] x, double[] y, int i)
    {
        long[] xs = [.. x[..i], .. x[(i + 1)..]];
        double[] ys = [.. y[..i], .. y[(i + 1)..]];
        return ProfileCurve.Interpolate(xs, ys, x[i]);
    }

    /// <summary>Leave-one-point-out relative errors: each point predicted from the others (SciPy's interpolation).</summary>
    internal static List<double> LeaveOneOut(long[] x, double[] y)
    {
        var errors = new List<double>();
        if (x.Length < 3)
        {
            return errors;
        }

        long[] xs = new long[x.Length - 1];
        double[] ys = new double[y.Length - 1];
        for (int i = 0; i < x.Length; i++)
        {
            for (int j = 0, k = 0; j < x.Length; j++)
            {
                if (j != i)
                {
                    xs[k] = x[j];
                    ys[k++] = y[j];
                }
            }

            double predicted = ProfileCurve.Interpolate(xs, ys, x[i]);
            errors.Add(Math.Abs(predicted - y[i]) / y[i]);
        }

        return errors;
    }

    private static double Median(List<double> values) => ProfileTable.Median(values);

    /// <summary>Every (configuration, prompt_size, batch_size, token_size) group of the profile, medians over repeats.</summary>
    public static List<Measurement> ReadMeasurements(string path)
    {
        var groups = new Dictionary<(ProfileKey, int, int, int), (List<double> P, List<double> T)>();
        using SepReader reader = Sep.New(',').Reader(o => o with { CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
        int iModel = reader.Header.IndexOf("model"), iHw = reader.Header.IndexOf("hardware"), iTp = reader.Header.IndexOf("tensor_parallel");
        int iPs = reader.Header.IndexOf("prompt_size"), iBs = reader.Header.IndexOf("batch_size"), iTs = reader.Header.IndexOf("token_size");
        int iPt = reader.Header.IndexOf("prompt_time"), iTt = reader.Header.IndexOf("token_time");
        foreach (SepReader.Row row in reader)
        {
            var key = (new ProfileKey(row[iModel].ToString().ToLowerInvariant(), row[iHw].ToString().ToLowerInvariant(), row[iTp].Parse<int>()),
                row[iPs].Parse<int>(), row[iBs].Parse<int>(), row[iTs].Parse<int>());
            if (!groups.TryGetValue(key, out var lists))
            {
                groups[key] = lists = ([], []);
            }

            lists.P.Add(row[iPt].Parse<double>());
            lists.T.Add(row[iTt].Parse<double>());
        }

        return [.. groups.Select(g => new Measurement(g.Key.Item1, g.Key.Item2, g.Key.Item3, g.Key.Item4, Median(g.Value.P), Median(g.Value.T)))
            .OrderBy(m => m.Key).ThenBy(m => m.PromptSize).ThenBy(m => m.BatchSize).ThenBy(m => m.TokenSize)];
    }
}
