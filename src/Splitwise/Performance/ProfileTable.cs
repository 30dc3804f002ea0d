using System.Globalization;
using nietras.SeparatedValues;

namespace Splitwise.Performance;

/// <summary>
/// SplitwiseSim's characterisation table (<c>perf_model.csv</c>: model, hardware, tensor_parallel, prompt_size,
/// batch_size, prompt_time and token_time in milliseconds), reduced as SplitwiseSim does: per (model, hardware, TP),
/// the median prompt and token time per batch-token count x = prompt_size × batch_size.
/// </summary>
/// <remarks>
/// <para>Lines before the header that start with <c>#</c> are comments; <c># key: value</c> lines are read into
/// <see cref="Metadata"/> (<c>splitwise profile</c> records the server, model and date there). SplitwiseSim's own file
/// has none.</para>
/// <para>An optional <c>decode_context</c> column (written by <c>splitwise profile</c>; SplitwiseSim's file has none and
/// its reader ignores extra columns) gives each row's mean context tokens per request during the measured decode
/// iterations. A profile with it also gets a decode surface (<see cref="ProfileCurve.Decode"/>): token time by batch
/// size × context, the median per (batch_size, prompt_size). Without it the table is exactly SplitwiseSim's.</para>
/// </remarks>
public sealed class ProfileTable
{
    private readonly Dictionary<ProfileKey, ProfileCurve> _curves;

    private ProfileTable(string source, Dictionary<ProfileKey, ProfileCurve> curves, int rows, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        _curves = curves;
        Rows = rows;
        Metadata = metadata;
    }

    /// <summary>The <c># key: value</c> comment lines before the header (empty for SplitwiseSim's file).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file the table came from.</summary>
    public string Source { get; }

    /// <summary>Data rows read.</summary>
    public int Rows { get; }

    public IReadOnlyCollection<ProfileCurve> Curves => _curves.Values;

    /// <summary>The curve for a (model, hardware, TP), or null when the profile has no such rows.</summary>
    public ProfileCurve? Find(string model, string hardware, int tensorParallel) =>
        _curves.GetValueOrDefault(new ProfileKey(model.ToLowerInvariant(), hardware.ToLowerInvariant(), tensorParallel));

    /// <summary>The curve, or a usage error listing what the profile has.</summary>
    public ProfileCurve Get(string model, string hardware, int tensorParallel) =>
        Find(model, hardware, tensorParallel) ?? throw SplitwiseException.Usage(
            $"{Source}: no profile rows for model '{model}' on '{hardware}' at tensor parallelism {tensorParallel}; " +
            $"the profile has: {string.Join(", ", _curves.Keys.Order().Select(k => k.ToString()))} (model/hardware/tp); pick that model and a machine whose GPU is that hardware (--model, --machine, --tp; your own from --catalog), or use --perf roofline");

    /// <summary>Reads a <c>perf_model.csv</c>; errors name the file, line and column.</summary>
    public static ProfileTable Load(string path)
    {
        if (!File.Exists(path))
        {
            throw SplitwiseException.Usage($"profile '{path}' not found; pass SplitwiseSim's perf_model.csv with --profile");
        }

        var samples = new Dictionary<ProfileKey, Dictionary<long, (List<double> Prompt, List<double> Token)>>();
        var decode = new Dictionary<ProfileKey, Dictionary<(int Batch, int Prompt), (List<double> Context, List<double> Token)>>();
        int rows = 0;
        using var text = new StreamReader(path);
        (Dictionary<string, string> metadata, int commentLines) = ReadComments(text);
        using (SepReader reader = Sep.New(',').Reader(o => o with { CultureInfo = CultureInfo.InvariantCulture }).From(text))
        {
            string[] required = ["model", "hardware", "tensor_parallel", "prompt_size", "batch_size", "prompt_time", "token_time"];
            foreach (string column in required)
            {
                if (!reader.Header.TryIndexOf(column, out _))
                {
                    throw SplitwiseException.Usage($"{path}:{commentLines + 1}:1: missing column '{column}'; expected SplitwiseSim's perf_model.csv header ({string.Join(",", required)}, ...)");
                }
            }

            int iModel = reader.Header.IndexOf("model"), iHw = reader.Header.IndexOf("hardware"), iTp = reader.Header.IndexOf("tensor_parallel");
            int iPrompt = reader.Header.IndexOf("prompt_size"), iBatch = reader.Header.IndexOf("batch_size");
            int iPt = reader.Header.IndexOf("prompt_time"), iTt = reader.Header.IndexOf("token_time");
            int iCtx = reader.Header.TryIndexOf(DecodeContextColumn, out int c) ? c : -1;
            foreach (SepReader.Row row in reader)
            {
                int line = row.LineNumberFrom + commentLines;
                var key = new ProfileKey(row[iModel].ToString().ToLowerInvariant(), row[iHw].ToString().ToLowerInvariant(),
                    Parse<int>(row, iTp, path, line, "tensor_parallel"));
                int promptSize = Parse<int>(row, iPrompt, path, line, "prompt_size"), batchSize = Parse<int>(row, iBatch, path, line, "batch_size");
                long x = (long)promptSize * batchSize;
                double pt = Parse<double>(row, iPt, path, line, "prompt_time");
                double tt = Parse<double>(row, iTt, path, line, "token_time");
                if (x <= 0 || !(pt > 0) || !(tt > 0) || key.TensorParallel <= 0)
                {
                    throw SplitwiseException.Usage($"{path}:{line}:1: sizes, times and tensor_parallel must be positive; fix or remove the row");
                }

                if (!samples.TryGetValue(key, out var byX))
                {
                    samples[key] = byX = [];
                }

                if (!byX.TryGetValue(x, out var lists))
                {
                    byX[x] = lists = ([], []);
                }

                lists.Prompt.Add(pt);
                lists.Token.Add(tt);
                rows++;
                if (iCtx >= 0)
                {
                    double context = Parse<double>(row, iCtx, path, line, DecodeContextColumn);
                    if (!(context > 0) || double.IsInfinity(context))
                    {
                        throw SplitwiseException.Usage($"{path}:{line}:{iCtx + 1}: {DecodeContextColumn} must be a positive number of tokens; fix the row or drop the column");
                    }

                    if (!decode.TryGetValue(key, out var byPoint))
                    {
                        decode[key] = byPoint = [];
                    }

                    if (!byPoint.TryGetValue((batchSize, promptSize), out var point))
                    {
                        byPoint[(batchSize, promptSize)] = point = ([], []);
                    }

                    point.Context.Add(context);
                    point.Token.Add(tt);
                }
            }
        }

        if (rows == 0)
        {
            throw SplitwiseException.Usage($"{path}: the profile has no data rows");
        }

        var curves = new Dictionary<ProfileKey, ProfileCurve>();
        foreach ((ProfileKey key, var byX) in samples)
        {
            long[] xs = [.. byX.Keys.Order()];
            double[] prompt = new double[xs.Length], token = new double[xs.Length];
            double[][] promptSamples = new double[xs.Length][], tokenSamples = new double[xs.Length][];
            for (int i = 0; i < xs.Length; i++)
            {
                var (p, t) = byX[xs[i]];
                prompt[i] = Median(p);
                token[i] = Median(t);
                promptSamples[i] = [.. p];
                tokenSamples[i] = [.. t];
            }

            curves[key] = new ProfileCurve(key, xs, prompt, token, promptSamples, tokenSamples,
                decode.TryGetValue(key, out var points)
                    ? DecodeSurface.FromPoints(key, points.Select(kv => (kv.Key.Batch, Median(kv.Value.Context), Median(kv.Value.Token))))
                    : null);
        }

        return new ProfileTable(path, curves, rows, metadata);
    }

    /// <summary>The optional column with each row's mean decode context (tokens per request).</summary>
    public const string DecodeContextColumn = "decode_context";

    /// <summary>Consumes the leading <c>#</c> lines; <c># key: value</c> ones become metadata (the first of a key wins).</summary>
    private static (Dictionary<string, string> Metadata, int Lines) ReadComments(StreamReader text)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        int lines = 0;
        while (text.Peek() == '#')
        {
            string line = text.ReadLine()!;
            lines++;
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 1)
            {
                string key = line[1..colon].Trim();
                if (key.Length > 0 && !key.Contains(' ', StringComparison.Ordinal))
                {
                    metadata.TryAdd(key, line[(colon + 1)..].Trim());
                }
            }
        }

        return (metadata, lines);
    }

    private static T Parse<T>(SepReader.Row row, int index, string path, int line, string column)
        where T : ISpanParsable<T>
    {
        ReadOnlySpan<char> span = row[index].Span;
        if (T.TryParse(span, CultureInfo.InvariantCulture, out T? value))
        {
            return value;
        }

        throw SplitwiseException.Usage($"{path}:{line}:{index + 1}: '{span}' is not a valid {column}; fix the row");
    }

    /// <summary>The median as pandas computes it (mean of the two middle values for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values];
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }
}

/// <summary>Identifies one profiled configuration.</summary>
public readonly record struct ProfileKey(string Model, string Hardware, int TensorParallel) : IComparable<ProfileKey>
{
    public int CompareTo(ProfileKey other)
    {
        int c = string.CompareOrdinal(Model, other.Model);
        c = c != 0 ? c : string.CompareOrdinal(Hardware, other.Hardware);
        return c != 0 ? c : TensorParallel.CompareTo(other.TensorParallel);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Model}/{Hardware}/tp{TensorParallel}");
}

/// <summary>
/// The prompt and token time curves of one configuration: sorted batch-token counts and the median time (ms) at each,
/// predicted between and beyond the points exactly as SciPy's <c>interp1d(x, y, fill_value="extrapolate")</c>.
/// </summary>
public sealed class ProfileCurve
{
    internal ProfileCurve(ProfileKey key, long[] x, double[] promptMs, double[] tokenMs, double[][] promptSamples, double[][] tokenSamples, DecodeSurface? decode = null)
    {
        if (x.Length < 2)
        {
            throw SplitwiseException.Usage($"profile curve {key} has {x.Length} distinct batch-token count(s); at least 2 are needed to interpolate");
        }

        Key = key;
        X = x;
        PromptMs = promptMs;
        TokenMs = tokenMs;
        PromptSamples = promptSamples;
        TokenSamples = tokenSamples;
        Decode = decode;
    }

    /// <summary>Decode iteration time by batch size × context, when the profile has a <c>decode_context</c> column
    /// (<c>splitwise profile</c>); null for SplitwiseSim's file.</summary>
    public DecodeSurface? Decode { get; }

    public ProfileKey Key { get; }

    /// <summary>Distinct batch-token counts (prompt_size × batch_size), ascending.</summary>
    public long[] X { get; }

    /// <summary>Median prompt time (ms) at each <see cref="X"/>.</summary>
    public double[] PromptMs { get; }

    /// <summary>Median token (one decode iteration) time (ms) at each <see cref="X"/>.</summary>
    public double[] TokenMs { get; }

    /// <summary>The measured prompt times (ms) behind each point, in file order.</summary>
    public double[][] PromptSamples { get; }

    /// <summary>The measured token times (ms) behind each point, in file order.</summary>
    public double[][] TokenSamples { get; }

    public double PredictPromptMs(double x) => Interpolate(X, PromptMs, x);

    public double PredictTokenMs(double x) => Interpolate(X, TokenMs, x);

    /// <summary>
    /// Piecewise-linear interpolation with linear extrapolation from the end segments, bit for bit SciPy's
    /// <c>interp1d</c>: <c>i = searchsorted(x, v)</c> clipped to [1, n−1], then
    /// <c>slope = (y[i] − y[i−1]) / (x[i] − x[i−1])</c>, <c>y = slope × (v − x[i−1]) + y[i−1]</c>.
    /// </summary>
    public static double Interpolate(ReadOnlySpan<long> x, ReadOnlySpan<double> y, double v)
    {
        // searchsorted(side='left'): first index with x[i] >= v.
        int lo = 0, hi = x.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (x[mid] < v)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        int i = Math.Clamp(lo, 1, x.Length - 1);
        double x0 = x[i - 1], y0 = y[i - 1];
        double slope = (y[i] - y0) / (x[i] - x0);
        return (slope * (v - x0)) + y0;
    }
}
