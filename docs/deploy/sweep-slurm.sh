#!/bin/bash
# A Splitwise sweep as a Slurm job array: task i runs shard i of N. Slurm sets SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT, which `splitwise sweep` reads when --shard is not given. Results go to a shared directory;
# a requeued task resumes from its shard CSV. With `splitwise` installed on a shared path and on PATH (and
# SPLITWISE_DATA/SPLITWISE_PROFILE set; docs/deploy/README.md says how), submit, then merge after the array finishes:
#
#   jobid=$(sbatch --parsable docs/deploy/sweep-slurm.sh docs/sweep-example.yaml /shared/sweep-out)
#   sbatch --dependency=afterok:$jobid --wrap "splitwise sweep merge /shared/sweep-out --config docs/sweep-example.yaml --out /shared/sweep-out/results.csv"
#
# Tested on a single-node Slurm by tests/Splitwise.Tests/Deploy/SlurmSweepTests.cs (CI: scripts/slurm-up.sh).
#SBATCH --job-name=splitwise-sweep
#SBATCH --array=0-15            # N = 16 shards: --array=0-(N-1)
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
config=${1:?usage: sbatch sweep-slurm.sh SWEEP.yaml OUT_DIR}
out=${2:?usage: sbatch sweep-slurm.sh SWEEP.yaml OUT_DIR}
# `splitwise` is the installed tool: dotnet tool install Splitwise.Cli --tool-path /shared/tools/splitwise --add-source nupkg
# (a native program; the nodes need no .NET), on PATH through the submitting shell's environment or a module.
exec splitwise sweep --config "$config" --out "$out" --parallel "${SLURM_CPUS_PER_TASK:-2}"
