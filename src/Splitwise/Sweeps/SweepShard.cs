using System.Globalization;

namespace Splitwise.Sweeps;

/// <summary>
/// Which part of a sweep this process runs: shard <see cref="Index"/> of <see cref="Count"/> takes the points whose
/// position in the sweep's stable order is ≡ index (mod count), so shards are balanced and disjoint and their union is
/// the sweep.
/// </summary>
public readonly record struct SweepShard(int Index, int Count)
{
    /// <summary>The whole sweep.</summary>
    public static SweepShard All => new(0, 1);

    public bool IsAll => Count == 1;

    public bool Contains(int position) => position % Count == Index;

    /// <summary>The results file name in the output directory: <c>results.csv</c>, or
    /// <c>results.shard-0003-of-0010.csv</c> for a shard.</summary>
    public string FileName => IsAll ? "results.csv" : string.Create(CultureInfo.InvariantCulture, $"results.shard-{Index:D4}-of-{Count:D4}.csv");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>
    /// The shard from <c>--shard i/n</c>, else from the environment: the index from <c>JOB_COMPLETION_INDEX</c>
    /// (Kubernetes Indexed Job) or <c>SLURM_ARRAY_TASK_ID</c> (Slurm job array), the count from <c>--shards</c>, else
    /// <c>SPLITWISE_SHARDS</c>, else <c>SLURM_ARRAY_TASK_COUNT</c>. No shard information means the whole sweep.
    /// </summary>
    public static SweepShard Resolve(string? shardOption, int? shardsOption, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrWhiteSpace(shardOption))
        {
            string[] parts = shardOption.Split('/');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
                || n < 1 || i >= n)
            {
                throw SplitwiseException.Usage($"--shard '{shardOption}' is not i/n with 0 <= i < n, e.g. --shard 3/10");
            }

            return new SweepShard(i, n);
        }

        string? indexText = environment("JOB_COMPLETION_INDEX");
        string indexVar = "JOB_COMPLETION_INDEX";
        if (string.IsNullOrWhiteSpace(indexText))
        {
            indexText = environment("SLURM_ARRAY_TASK_ID");
            indexVar = "SLURM_ARRAY_TASK_ID";
        }

        if (string.IsNullOrWhiteSpace(indexText))
        {
            if (shardsOption is > 1)
            {
                throw SplitwiseException.Usage($"--shards {shardsOption} without a shard index; pass --shard i/{shardsOption} or run under a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm array (SLURM_ARRAY_TASK_ID)");
            }

            return All;
        }

        if (!int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw SplitwiseException.Usage($"{indexVar}='{indexText}' is not a shard index (a non-negative integer)");
        }

        int count;
        string countVar;
        if (shardsOption is { } s)
        {
            count = s;
            countVar = "--shards";
        }
        else
        {
            string? countText = environment("SPLITWISE_SHARDS");
            countVar = "SPLITWISE_SHARDS";
            if (string.IsNullOrWhiteSpace(countText))
            {
                countText = environment("SLURM_ARRAY_TASK_COUNT");
                countVar = "SLURM_ARRAY_TASK_COUNT";
            }

            if (string.IsNullOrWhiteSpace(countText) || !int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out count))
            {
                throw SplitwiseException.Usage($"{indexVar}={index} is set but the shard count is not; pass --shards N or set SPLITWISE_SHARDS (the Job's completions / the array size)");
            }
        }

        if (count < 1 || index >= count)
        {
            throw SplitwiseException.Usage($"shard index {index} ({indexVar}) is not below the shard count {count} ({countVar})");
        }

        return new SweepShard(index, count);
    }
}
