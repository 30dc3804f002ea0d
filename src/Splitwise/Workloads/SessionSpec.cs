namespace Splitwise.Workloads;

/// <summary>
/// Multi-turn conversations for <c>generate --sessions</c>: sessions arrive by the <see cref="WorkloadSpec"/>'s renewal
/// process (its <see cref="WorkloadSpec.Rate"/> is sessions per second), each runs <see cref="Turns"/> turns
/// <see cref="ThinkTime"/> apart, and turn k's prompt is turn k−1's prompt + its answer + new user tokens.
/// </summary>
public sealed record SessionSpec
{
    /// <summary>Mooncake's block: one hash id per 512 tokens of prompt.</summary>
    public const int DefaultBlockTokens = 512;

    /// <summary>Turns per session (whole numbers ≥ 1).</summary>
    public SizeDistribution Turns { get; init; } = new SizeDistribution.Uniform(1, 7);

    /// <summary>From one turn's arrival to the next turn's arrival of the same session (it includes the wait for the answer).</summary>
    public DurationDistribution ThinkTime { get; init; } = new DurationDistribution.Exponential(60);

    /// <summary>Tokens of the system prompt every session starts with (0: none).</summary>
    public int SystemPromptTokens { get; init; }

    /// <summary>Distinct system prompts, shared across sessions (each session picks one uniformly).</summary>
    public int SystemPrompts { get; init; } = 1;

    /// <summary>Tokens per hash block.</summary>
    public int BlockTokens { get; init; } = DefaultBlockTokens;

    /// <summary>A session ends early when its next prompt would be longer than this (a context window).</summary>
    public int MaxInputTokens { get; init; } = int.MaxValue;

    /// <summary>Checks the values once; every problem is a usage error naming the flag.</summary>
    public void Validate()
    {
        if (SystemPromptTokens < 0)
        {
            throw SplitwiseException.Usage($"--system-prompt-tokens {SystemPromptTokens}: must be ≥ 0");
        }

        if (SystemPrompts < 1)
        {
            throw SplitwiseException.Usage($"--system-prompts {SystemPrompts}: must be ≥ 1");
        }

        if (BlockTokens < 1)
        {
            throw SplitwiseException.Usage($"block size {BlockTokens}: must be ≥ 1");
        }

        if ((long)SystemPrompts * (SystemPromptTokens / BlockTokens) > int.MaxValue)
        {
            throw SplitwiseException.Usage("--system-prompts × --system-prompt-tokens: too many system-prompt blocks");
        }

        if (MaxInputTokens <= SystemPromptTokens)
        {
            throw SplitwiseException.Usage($"--max-input-tokens {MaxInputTokens}: must exceed --system-prompt-tokens {SystemPromptTokens}");
        }
    }
}
