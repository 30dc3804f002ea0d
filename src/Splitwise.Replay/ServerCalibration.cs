using System.Diagnostics;
using System.Globalization;

namespace Splitwise.Replay;

/// <summary>
/// What the server adds to a prompt, measured at start-up: two probes of known length (by the prompt source's count)
/// and the server's <c>usage.prompt_tokens</c> for each. Equal excesses mean a constant addition — a BOS token, a
/// chat template — that the prompts are then built shorter by, so that the server's count equals the trace's; unequal
/// ones mean the server counts with another vocabulary, which no constant can fix.
/// </summary>
/// <param name="ProbeTokens">The probes' lengths by our count.</param>
/// <param name="ServerTokens">The server's <c>prompt_tokens</c> for each probe; -1 without usage.</param>
/// <param name="AddedTokens">The constant the server adds, when the excesses agree and are non-negative; else null.</param>
/// <param name="Ratio">Server tokens per our token between the probes (1 for the same vocabulary); NaN without usage.</param>
public sealed record ServerCalibration(int[] ProbeTokens, int[] ServerTokens, int? AddedTokens, double Ratio)
{
    /// <summary>The probes' lengths: long enough for a vocabulary difference to show, short enough to be cheap.</summary>
    public static readonly int[] Probes = [32, 128];

    /// <summary>The server counts with our vocabulary (plus a constant).</summary>
    public bool Matches => AddedTokens is not null;

    /// <summary>One line for the text summary.</summary>
    public string Describe()
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        string probes = string.Join(", ", ProbeTokens.Select((p, i) => string.Create(ic, $"{p} -> {(ServerTokens[i] >= 0 ? ServerTokens[i].ToString(ic) : "no usage")}")));
        if (ServerTokens.Any(t => t < 0))
        {
            return $"calibration: the server reported no usage ({probes}); exactness by the server's count is unchecked";
        }

        return AddedTokens is { } added
            ? string.Create(ic, $"calibration: the server counts our tokens{(added > 0 ? $" + {added} (BOS or template); prompts are built {added} shorter" : " exactly")} (probes {probes})")
            : string.Create(ic, $"calibration: the server counts {Ratio:0.00}x our tokens (probes {probes}): it uses another vocabulary; give the served model's tokenizer (--tokenizer tokenizer.json|.model|server)");
    }

    /// <summary>Sends the probes (one output token each) and reads the server's counts.</summary>
    internal static async Task<ServerCalibration> MeasureAsync(OpenAiClient client, IPromptSource source, ulong seed, CancellationToken token)
    {
        int[] ours = new int[Probes.Length];
        int[] theirs = new int[Probes.Length];
        for (int i = 0; i < Probes.Length; i++)
        {
            PromptPayload prompt = await source.BuildAsync(Probes[i], seed + (ulong)i, token);
            var probe = new RequestResult { InputTokens = Probes[i], OutputTokens = 1 };
            await client.SendAsync(client.BuildBody(prompt, 1), probe, Stopwatch.GetTimestamp(), token);
            token.ThrowIfCancellationRequested();
            ours[i] = prompt.EncodedTokens;
            theirs[i] = probe.Succeeded ? probe.UsagePromptTokens : -1;
        }

        return FromCounts(ours, theirs);
    }

    internal static ServerCalibration FromCounts(int[] ours, int[] theirs)
    {
        if (theirs.Any(t => t < 0))
        {
            return new ServerCalibration(ours, theirs, null, double.NaN);
        }

        int excess = theirs[0] - ours[0];
        bool constant = theirs.Select((t, i) => t - ours[i]).All(e => e == excess) && excess >= 0;
        double ratio = (double)(theirs[^1] - theirs[0]) / (ours[^1] - ours[0]);
        return new ServerCalibration(ours, theirs, constant ? excess : null, ratio);
    }
}
