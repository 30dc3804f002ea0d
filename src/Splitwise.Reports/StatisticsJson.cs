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
            if (s.Prefix is { } p)
            {
                Prefix(w, p);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("percentiles", "nearest rank on the integer values");
        w.WriteString("attribution", Attribution);
        w.WriteEndObject();
    }

    private static void Prefix(Utf8JsonWriter w, PrefixReuse p)
    {
        w.WriteStartObject("prefix_reuse");
        w.WriteNumber("block_tokens", p.BlockTokens);
        w.WriteNumber("requests", p.Requests);
        w.WriteNumber("blocks", p.Blocks);
        w.WriteNumber("distinct_blocks", p.DistinctBlocks);
        w.WriteNumber("blocks_seen_before", p.BlocksSeenBefore);
        Number(w, "seen_before_share", p.SeenBeforeShare);
        w.WriteNumber("input_tokens", p.InputTokens);
        w.WriteNumber("infinite_cache_hit_tokens", p.HitTokens);
        Number(w, "infinite_cache_token_hit_rate", p.TokenHitRate);
        w.WriteNumber("infinite_cache_hit_requests", p.HitRequests);
        Number(w, "infinite_cache_request_hit_rate", p.RequestHitRate);
        Distance(w, "reuse_distance_seconds", p.DistanceSeconds);
        Distance(w, "reuse_distance_requests", p.DistanceRequests);
        w.WriteString("reuse_distance_percentiles", "nearest rank on log buckets, within 0.8 %; mean and max exact");
        w.WriteEndObject();
    }

    private static void Distance(Utf8JsonWriter w, string name, ReuseDistance d)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", d.Count);
        Number(w, "mean", d.Mean);
        Number(w, "p50", d.P50);
        Number(w, "p90", d.P90);
        Number(w, "p99", d.P99);
        Number(w, "max", d.Max);
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
