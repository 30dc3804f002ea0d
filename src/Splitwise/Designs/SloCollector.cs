using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Splitwise.IO;
using Splitwise.Simulation;

namespace Splitwise.Designs;

/// <summary>Collects per-request latencies from a simulation (the recorder's request observer) for SLO evaluation.</summary>
public sealed class SloCollector
{
    private readonly List<int> _inputs = [];
    private readonly List<int> _outputs = [];
    private readonly List<long> _ttft = [];
    private readonly List<long> _e2e = [];

    /// <summary>One request from the simulation (an unfinished one counts as no TTFT, even if its first token came).</summary>
    public void Add(RequestOutcome request) => Add(request.InputTokens, request.OutputTokens, request.Finished ? request.TtftNs : -1, request.E2eNs);

    /// <summary>One request: sizes, TTFT and E2E in ns (−1 when it did not finish).</summary>
    public void Add(int inputTokens, int outputTokens, long ttftNs, long e2eNs)
    {
        _inputs.Add(inputTokens);
        _outputs.Add(outputTokens);
        _ttft.Add(ttftNs);
        _e2e.Add(e2eNs);
    }

    /// <summary>The requests, plus <paramref name="notArrived"/> requests cut by the horizon before arriving (unfinished).</summary>
    public SloRequests ToRequests(long notArrived = 0)
    {
        for (long k = 0; k < notArrived; k++)
        {
            Add(1, 1, -1, -1);
        }

        return new SloRequests([.. _inputs], [.. _outputs], [.. _ttft], [.. _e2e]);
    }
}

/// <summary>Writes an <see cref="SloReport"/> as <c>slo.json</c> and as text.</summary>
public static class SloJson
{
    public static void Write(string path, SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteBoolean("all_pass", report.AllPass);
            Number(w, "worst_ratio", report.WorstRatio);
            w.WriteNumber("good_requests", report.GoodRequests);
            Number(w, "goodput_rps", report.Goodput);
            Number(w, "attainment", report.Attainment);
            w.WriteString("goodput_rule", report.GoodputRule);
            w.WriteStartArray("slos");
            foreach (SloOutcome o in report.Outcomes)
            {
                w.WriteStartObject();
                w.WriteString("name", o.Name);
                w.WriteString("kind", o.Slo.Kind == SloKind.Slowdown ? "slowdown" : "absolute");
                w.WriteString("target", o.Slo.TargetText);
                Number(w, "value", o.Slo.Kind == SloKind.Absolute ? o.Value / 1e9 : o.Value);
                w.WriteString("unit", o.Slo.Kind == SloKind.Absolute ? "s" : "x");
                Number(w, "ratio", o.Ratio);
                w.WriteBoolean("pass", o.Pass);
                w.WriteNumber("requests", o.Requests);
                w.WriteString("population", PopulationName(o.Population));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Adds the report in <paramref name="sloPath"/> to the simulator's <paramref name="summaryPath"/> as its <c>slo</c>
    /// object (each ratio, pass or fail, goodput), rewriting the summary atomically. The simulator writes the summary
    /// without knowing about SLOs (Simulation does not depend on Designs); this joins them afterwards.
    /// </summary>
    public static void AddToSummary(string summaryPath, string sloPath)
    {
        JsonNode summary = JsonNode.Parse(File.ReadAllText(summaryPath))
            ?? throw new SplitwiseException($"{summaryPath}: empty summary; rerun the simulation");
        summary["slo"] = JsonNode.Parse(File.ReadAllText(sloPath));
        AtomicFile.WriteAllText(summaryPath, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The population's name in JSON: <c>requests</c>, <c>gaps</c>, <c>request_mean_gaps</c>.</summary>
    public static string PopulationName(SloPopulation population) => population switch
    {
        SloPopulation.Gaps => "gaps",
        SloPopulation.RequestMeanGaps => "request_mean_gaps",
        _ => "requests",
    };

    /// <summary>JSON has no infinity: an SLO reached by unfinished requests is written as null.</summary>
    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>One line per SLO and a verdict line.</summary>
    public static string ToText(SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("SLO          target      value       ratio   verdict");
        foreach (SloOutcome o in report.Outcomes)
        {
            string value = double.IsPositiveInfinity(o.Value) ? "unfinished"
                : o.Slo.Kind == SloKind.Slowdown ? o.Value.ToString("0.###", inv) + "x"
                : SloSet.FormatDuration(Math.Round(o.Value));
            sb.Append(inv, $"{o.Name,-12} {o.Slo.TargetText,-11} {value,-11} {o.Ratio.ToString("0.###", inv),-7} {(o.Pass ? "pass" : "FAIL")}");
            if (o.Population == SloPopulation.RequestMeanGaps)
            {
                sb.Append("    (no per-gap data: each request's mean gap)");
            }

            sb.AppendLine();
        }

        sb.Append(inv, $"SLOs {(report.AllPass ? "all met" : "missed")}; goodput {report.Goodput:0.###} req/s ({report.Attainment:P1} of requests within {(report.ExplicitBounds ? "every bound " + report.GoodputRule : "the loosest target of every metric")})").AppendLine();
        return sb.ToString();
    }
}
