using System.Text.Encodings.Web;
using System.Text.Json;

namespace Splitwise.Reports;

/// <summary>Writes analyze's statistics as one JSON document (stable key order, invariant numbers, NaN as null).</summary>
public static class StatisticsJson
{
    public const string Attribution =
        "Azure LLM inference traces (Azure/AzurePublicDataset, CC-BY): Patel et al., \"Splitwise: Efficient generative LLM inference using phase splitting\", ISCA 2024";

    public static void Write(Stream stream, IReadOnlyList<TraceStatistics> traces)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(traces);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteStartArray("traces");
        foreach (TraceStatistics s in traces)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteNumber("requests", s.Requests);
            w.WriteString("start", s.Start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("end", s.End.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            Number(w, "span_seconds", s.SpanSeconds);
            Number(w, "mean_rate_per_second", s.MeanRate);
            Number(w, "peak_minute_rate_per_second", s.PeakMinuteRate);
            w.WriteString("peak_minute", s.PeakMinute.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            Number(w, "inter_arrival_cv", s.InterArrivalCv);
            Tokens(w, "input_tokens", s.Input);
            Tokens(w, "output_tokens", s.Output);
            Number(w, "pearson", s.Pearson);
            Number(w, "spearman", s.Spearman);
            Number(w, "input_tokens_per_second", s.InputTokensPerSecond);
            Number(w, "output_tokens_per_second", s.OutputTokensPerSecond);
            w.WriteNumber("out_of_order_rows", s.OutOfOrder);
            w.WriteNumber("skipped_rows", s.SkippedRows);
            w.WriteNumber("distinct_pairs", s.DistinctPairs);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("percentiles", "nearest rank on the integer values");
        w.WriteString("attribution", Attribution);
        w.WriteEndObject();
    }

    private static void Tokens(Utf8JsonWriter w, string name, TokenStatistics t)
    {
        w.WriteStartObject(name);
        Number(w, "mean", t.Mean);
        w.WriteNumber("min", t.Min);
        w.WriteNumber("p50", t.P50);
        w.WriteNumber("p90", t.P90);
        w.WriteNumber("p99", t.P99);
        w.WriteNumber("p99.9", t.P999);
        w.WriteNumber("max", t.Max);
        w.WriteNumber("sum", t.Sum);
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, Math.Round(v, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
