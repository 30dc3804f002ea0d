using System.Globalization;
using Splitwise.Designs;
using Splitwise.Simulation.Transfer;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Splitwise.Sweeps;

/// <summary>One <c>designs:</c> entry: a design and the sizes to try.</summary>
/// <param name="Design">Design name.</param>
/// <param name="Machines">Baseline sizes.</param>
/// <param name="Splits">Splitwise (prompt, token) sizes.</param>
public sealed record SweepDesign(string Design, IReadOnlyList<int> Machines, IReadOnlyList<(int Prompt, int Token)> Splits);

/// <summary>
/// A sweep: a grid over designs × sizes × traces × rates with shared settings, read from YAML
/// (<see cref="Load"/>; the format is in <c>docs/sweep.md</c>).
/// </summary>
public sealed record SweepConfig(string Name, SweepSettings Settings, IReadOnlyList<string> Traces, IReadOnlyList<double> Rates, IReadOnlyList<SweepDesign> Designs)
{
    /// <summary>
    /// Every point, in a stable order: designs in config order, then each design's sizes, then traces, then rates.
    /// A point given twice (overlapping entries) is kept once, at its first position.
    /// </summary>
    public IReadOnlyList<SweepPoint> Enumerate()
    {
        var points = new List<SweepPoint>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (SweepDesign d in Designs)
        {
            foreach (int m in d.Machines)
            {
                AddAll(p => SweepPoint.Baseline(d.Design, m, p.Trace, p.Rate, Settings));
            }

            foreach ((int prompt, int token) in d.Splits)
            {
                AddAll(p => SweepPoint.Split(d.Design, prompt, token, p.Trace, p.Rate, Settings));
            }
        }

        return points;

        void AddAll(Func<(string Trace, double Rate), SweepPoint> make)
        {
            foreach (string trace in Traces)
            {
                foreach (double rate in Rates)
                {
                    SweepPoint point = make((trace, rate));
                    if (seen.Add(point.Key))
                    {
                        points.Add(point);
                    }
                }
            }
        }
    }

    /// <summary>Reads a sweep config file; errors name the file, line and column.</summary>
    public static SweepConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SplitwiseException($"{path}: sweep config not found; pass --config with the path of a sweep YAML file (see docs/sweep.md)", ExitCodes.Usage);
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses sweep YAML; <paramref name="source"/> names it in errors and anchors relative paths.</summary>
    public static SweepConfig Parse(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw Error(source, ex.Start, $"invalid YAML: {ex.Message.Split('\n')[0]}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new SplitwiseException($"{source}:1:1: a sweep config is a YAML mapping with traces: and designs: (see docs/sweep.md)", ExitCodes.Usage);
        }

        string baseDir = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        string name = Path.GetFileNameWithoutExtension(source);
        var settings = SweepSettings.Default;
        var traces = new List<string>();
        var rates = new List<double>();
        var designs = new List<SweepDesign>();
        bool sawTraces = false, sawDesigns = false;
        foreach ((YamlNode keyNode, YamlNode value) in root.Children)
        {
            string key = Scalar(source, keyNode, "key");
            switch (key)
            {
                case "name":
                    name = Scalar(source, value, key);
                    break;
                case "model":
                    settings = settings with { Model = Scalar(source, value, key) };
                    break;
                case "perf":
                    string perf = Scalar(source, value, key).ToLowerInvariant();
                    if (perf is not ("profile" or "roofline"))
                    {
                        throw Error(source, value.Start, $"perf '{perf}' is not a performance model; use profile or roofline");
                    }

                    settings = settings with { Perf = perf };
                    break;
                case "profile":
                    settings = settings with { Profile = Path.GetFullPath(Scalar(source, value, key), baseDir) };
                    break;
                case "seed":
                    settings = settings with { Seed = Integer(source, value, key, 0, long.MaxValue) };
                    break;
                case "duration":
                    string d = Scalar(source, value, key);
                    double seconds = double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out double plain)
                        ? plain
                        : SloSet.ParseDuration(d, Where(source, value.Start) + " duration") / 1e9;
                    if (!(seconds > 0))
                    {
                        throw Error(source, value.Start, $"duration '{d}' must be positive (seconds, or with a unit like 600s)");
                    }

                    settings = settings with { DurationSeconds = seconds };
                    break;
                case "slo":
                    settings = settings with { Slo = SloSet.Parse(Scalar(source, value, key), Where(source, value.Start) + " slo") };
                    break;
                case "gqa":
                    settings = settings with { Gqa = Bool(source, value, key) };
                    break;
                case "splitwise_sim":
                    settings = settings with { SplitwiseSim = Bool(source, value, key) };
                    break;
                case "engine":
                    string engine = Scalar(source, value, key).ToLowerInvariant();
                    settings = engine is "splitwise" or "vllm"
                        ? settings with { Engine = engine }
                        : throw Error(source, value.Start, $"engine '{engine}' is not one of splitwise, vllm");
                    break;
                case "kv_transfer":
                    string kv = Scalar(source, value, key);
                    settings = settings with
                    {
                        KvTransfer = KvTransferOptions.ParseMode(kv, Where(source, value.Start) + " kv_transfer").ToString().ToLowerInvariant(),
                    };
                    break;
                case "traces":
                    sawTraces = true;
                    foreach (YamlNode t in Sequence(source, value, key))
                    {
                        string trace = Scalar(source, t, "trace");
                        if (trace.IndexOfAny([',', '"', '|', '\n', '\r']) >= 0)
                        {
                            throw Error(source, t.Start, $"trace '{trace}' contains a comma, quote or '|'; rename or move the file");
                        }

                        string local = Path.GetFullPath(trace, baseDir);
                        traces.Add(!Path.IsPathRooted(trace) && File.Exists(local) ? local : trace);
                    }

                    break;
                case "rates":
                    foreach (YamlNode r in Sequence(source, value, key))
                    {
                        string text = Scalar(source, r, "rate");
                        if (text == "trace")
                        {
                            rates.Add(0);
                        }
                        else if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) && rate > 0 && rate < 1e6)
                        {
                            rates.Add(rate);
                        }
                        else
                        {
                            throw Error(source, r.Start, $"rate '{text}' is not a positive number of requests/s (or 'trace' for the trace's own timing)");
                        }
                    }

                    break;
                case "designs":
                    sawDesigns = true;
                    foreach (YamlNode entry in Sequence(source, value, key))
                    {
                        designs.Add(ParseDesign(source, entry));
                    }

                    break;
                default:
                    throw Error(source, keyNode.Start, $"unknown key '{key}'; known keys: name, model, perf, profile, seed, duration, slo, engine, kv_transfer, gqa, splitwise_sim, traces, rates, designs");
            }
        }

        if (!sawTraces || traces.Count == 0)
        {
            throw Error(source, root.Start, "no traces: list at least one trace name or file under traces:");
        }

        if (!sawDesigns || designs.Count == 0)
        {
            throw Error(source, root.Start, "no designs: list at least one design with machines: or prompt:/token: sizes under designs:");
        }

        if (rates.Count == 0)
        {
            rates.Add(0);
        }

        if (settings.Engine == "vllm" && settings.SplitwiseSim)
        {
            throw Error(source, root.Start, "engine: vllm with splitwise_sim: true: SplitwiseSim's rules are its own engine; drop one");
        }

        return new SweepConfig(name, settings, traces, rates, designs);
    }

    private static SweepDesign ParseDesign(string source, YamlNode entry)
    {
        if (entry is not YamlMappingNode map)
        {
            throw Error(source, entry.Start, "a designs: entry is a mapping like {design: baseline-a100, machines: [40, 70]}");
        }

        string? design = null;
        IReadOnlyList<int>? machines = null, prompt = null, token = null;
        var splits = new List<(int, int)>();
        YamlNode? splitsNode = null;
        foreach ((YamlNode k, YamlNode v) in map.Children)
        {
            string key = Scalar(source, k, "key");
            switch (key)
            {
                case "design":
                    design = SplitwiseDesignCatalog.Get(Scalar(source, v, key), Where(source, v.Start)).Name;
                    break;
                case "machines":
                    machines = Sizes(source, v, key);
                    break;
                case "prompt":
                    prompt = Sizes(source, v, key);
                    break;
                case "token":
                    token = Sizes(source, v, key);
                    break;
                case "splits":
                    splitsNode = v;
                    foreach (YamlNode s in Sequence(source, v, key))
                    {
                        string text = Scalar(source, s, "split");
                        string[] parts = text.Split('/');
                        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int p)
                            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int t) || p < 1 || t < 1)
                        {
                            throw Error(source, s.Start, $"split '{text}' is not P/T with positive machine counts, e.g. \"25/15\"");
                        }

                        splits.Add((p, t));
                    }

                    break;
                default:
                    throw Error(source, k.Start, $"unknown key '{key}' in a design entry; use design, machines (baselines), or prompt/token/splits (Splitwise designs)");
            }
        }

        if (design is null)
        {
            throw Error(source, map.Start, "design entry without design:; name one of " + SplitwiseDesignCatalog.Names);
        }

        bool split = SplitwiseDesignCatalog.Get(design).IsSplit;
        if (!split)
        {
            if (machines is null || prompt is not null || token is not null || splitsNode is not null)
            {
                throw Error(source, map.Start, $"{design} is a baseline design: give machines: (e.g. machines: [40, 70]) and no prompt/token/splits");
            }

            return new SweepDesign(design, machines, []);
        }

        if (machines is not null)
        {
            throw Error(source, map.Start, $"{design} splits machines into pools: give prompt: and token: sizes (crossed) or splits: [\"P/T\", ...], not machines:");
        }

        if ((prompt is null) != (token is null))
        {
            throw Error(source, map.Start, $"{design}: give both prompt: and token: (their sizes are crossed)");
        }

        if (prompt is not null)
        {
            foreach (int p in prompt)
            {
                foreach (int t in token!)
                {
                    splits.Add((p, t));
                }
            }
        }

        if (splits.Count == 0)
        {
            throw Error(source, map.Start, $"{design}: no sizes; give prompt: and token: or splits:");
        }

        return new SweepDesign(design, [], splits);
    }

    /// <summary>Sizes: a number, a list of numbers, or a range <c>"10..70:10"</c> (step optional, default 1).</summary>
    private static List<int> Sizes(string source, YamlNode node, string key)
    {
        var sizes = new List<int>();
        IEnumerable<YamlNode> items = node is YamlSequenceNode seq ? seq.Children : [node];
        foreach (YamlNode item in items)
        {
            string text = Scalar(source, item, key);
            int dots = text.IndexOf("..", StringComparison.Ordinal);
            if (dots < 0)
            {
                sizes.Add((int)Integer(source, item, key, 1, 100_000));
                continue;
            }

            string[] range = text[(dots + 2)..].Split(':');
            if (!int.TryParse(text[..dots], NumberStyles.None, CultureInfo.InvariantCulture, out int from)
                || !int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out int to)
                || range.Length > 2
                || (range.Length == 2 && (!int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out int step0) || step0 < 1))
                || from < 1 || to < from || to > 100_000)
            {
                throw Error(source, item.Start, $"{key} range '{text}' is not FROM..TO or FROM..TO:STEP with 1 <= FROM <= TO, e.g. \"10..70:10\"");
            }

            int step = range.Length == 2 ? int.Parse(range[1], CultureInfo.InvariantCulture) : 1;
            for (int v = from; v <= to; v += step)
            {
                sizes.Add(v);
            }
        }

        return sizes;
    }

    private static IEnumerable<YamlNode> Sequence(string source, YamlNode node, string key) =>
        node is YamlSequenceNode seq ? seq.Children
        : node is YamlScalarNode ? [node]
        : throw Error(source, node.Start, $"{key}: expected a list");

    private static string Scalar(string source, YamlNode node, string key) =>
        node is YamlScalarNode { Value: { } v } && v.Length > 0 ? v
        : throw Error(source, node.Start, $"{key}: expected a value, not {(node is YamlSequenceNode ? "a list" : node is YamlMappingNode ? "a mapping" : "nothing")}");

    private static bool Bool(string source, YamlNode node, string key)
    {
        string text = Scalar(source, node, key).ToLowerInvariant();
        return text switch
        {
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => throw Error(source, node.Start, $"{key} '{text}' is not true or false"),
        };
    }

    private static long Integer(string source, YamlNode node, string key, long min, long max)
    {
        string text = Scalar(source, node, key);
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? v
            : throw Error(source, node.Start, $"{key} '{text}' is not an integer in {min}..{max}");
    }

    private static string Where(string source, Mark mark) => string.Create(CultureInfo.InvariantCulture, $"{source}:{mark.Line}:{mark.Column}");

    private static SplitwiseException Error(string source, Mark mark, string message) => new($"{Where(source, mark)}: {message}", ExitCodes.Usage);
}
