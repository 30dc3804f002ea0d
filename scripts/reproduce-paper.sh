#!/usr/bin/env bash
# Reproduces the Splitwise paper's headline comparisons (ISCA 2024, §VI) with `splitwise provision` on the Azure
# 2023 traces and SplitwiseSim's profile model, and tabulates our ratios beside the paper's. See docs/REPRODUCTION.md.
#
#   scripts/reproduce-paper.sh [OUT_DIR]       (default: reproduce-out)
#
# Environment: SPLITWISE_DATA (directory of AzureLLMInferenceTrace_{conv,code}.csv; downloaded if missing),
# SPLITWISE_PROFILE (perf_model.csv), DURATION (simulated seconds per point, default 60), TOL (rate precision, 0.05),
# SPLIT_STEP (prompt-pool step when searching splits, default 5).
set -euo pipefail
out=${1:-reproduce-out}
duration=${DURATION:-60}
tol=${TOL:-0.05}
step=${SPLIT_STEP:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
dotnet build -c Release "$here/src/Splitwise.Cli" -v quiet -nologo > "$out/build.log"
sw() { dotnet "$here/src/Splitwise.Cli/bin/Release/net10.0/Splitwise.Cli.dll" "$@"; }
common=(--duration "$duration" --rate-tolerance "$tol" --split-step "$step" --initial-rate 20 --max-machines 100)
start=$(date +%s)
for trace in conv-2023 code-2023; do
  echo "== $trace: iso-power (455 kW = 70 DGX-A100 = 44 DGX-H100)" >&2
  sw provision --max-throughput --budget-power 455000 --trace "$trace" "${common[@]}" \
    --design baseline-a100 --design baseline-h100 --design splitwise-aa --design splitwise-hhcap \
    --json --trials "$out/iso-power-$trace.trials.csv" > "$out/iso-power-$trace.json"
  echo "== $trace: iso-cost (\$1520/h = 40 DGX-H100 = 86 DGX-A100)" >&2
  sw provision --max-throughput --budget-cost 1520 --trace "$trace" "${common[@]}" \
    --design baseline-h100 --design splitwise-aa \
    --json --trials "$out/iso-cost-$trace.trials.csv" > "$out/iso-cost-$trace.json"
  # Iso-throughput: the lowest power serving Baseline-H100's best iso-power rate.
  rate=$(python3 -c "import json,sys; d=json.load(open('$out/iso-power-$trace.json')); print([x for x in d['designs'] if x['design']=='baseline-h100'][0]['best']['rate'])")
  echo "== $trace: iso-throughput at $rate req/s, minimum power" >&2
  sw provision --objective power --rate "$rate" --trace "$trace" --duration "$duration" --max-machines 64 \
    --design baseline-h100 --design splitwise-hhcap --json > "$out/iso-throughput-$trace.json"
  # KV transfer overhead: Splitwise-AA at its iso-power split and rate, layer-wise (auto) vs all serialized.
  read -r p t r < <(python3 -c "import json; d=json.load(open('$out/iso-power-$trace.json')); b=[x for x in d['designs'] if x['design']=='splitwise-aa'][0]['best']; print(b['prompt_machines'], b['token_machines'], b['rate'])")
  for kv in auto serialized; do
    sw simulate --design splitwise-aa --prompt-machines "$p" --token-machines "$t" --like "$trace" --rate "$r" \
      --duration "$duration" --kv-transfer "$kv" --out "$out/kv-$kv-$trace" --json > /dev/null
  done
done
python3 "$here/scripts/reproduce-table.py" "$out" | tee "$out/REPRODUCTION-results.md"
echo "total $(( $(date +%s) - start )) s" >&2
