using System.Text.Json.Serialization;

namespace Splitwise.Replay;

/// <summary>
/// <see cref="ReplaySummary.ToJson"/> without reflection (Native AOT): the options of <see cref="ReplaySummary.JsonOptions"/>.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ReplaySummary))]
internal sealed partial class ReplaySummaryJsonContext : JsonSerializerContext;
