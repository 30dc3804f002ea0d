#!/usr/bin/env bash
# Reproduces the Splitwise paper's headline evaluation (ISCA 2024, Figures 18-19: iso-power and iso-cost throughput,
# iso-throughput power and cost) with `splitwise provision`, and tabulates it beside the paper. See docs/REPRODUCTION.md.
#
#   scripts/reproduce-paper.sh [OUT_DIR]       (default: reproduce-out)
#
# Three modes: BLOOM-176B with --splitwise-sim (the paper's setting: SplitwiseSim's rules), BLOOM-176B in the default
# mode, and Llama2-70B in the default mode (the paper's robustness check). Per mode, trace (conversation, coding) and
# budget (iso-power: 40 DGX-H100 = 70 DGX-A100; iso-cost: = 86 DGX-A100), every design and every cluster SplitwiseSim's
# experiment configs try (`provision --iso`), each searched for its highest rate meeting the paper's nine SLOs on 600-s
# Poisson workloads with the trace's request sizes (SplitwiseSim's generate_trace.py), rates to 5 %. Then, per mode and
# trace, the lowest power and the lowest cost at which Splitwise-HHcap and Splitwise-AA serve Baseline-H100's iso-power
# throughput (iso-throughput).
#
# Environment: SPLITWISE_DATA (directory of AzureLLMInferenceTrace_{conv,code}.csv; downloaded if missing),
# SPLITWISE_PROFILE (perf_model.csv), DURATION (seconds of arrivals per point, default 600), TOL (rate precision,
# 0.05), MODES (default "bloom-sim bloom llama"), TRACES (default "conv-2023 code-2023").
set -euo pipefail
out=${1:-reproduce-out}
duration=${DURATION:-600}
tol=${TOL:-0.05}
modes=${MODES:-bloom-sim bloom llama}
traces=${TRACES:-conv-2023 code-2023}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
dotnet build -c Release "$here/src/Splitwise.Cli" -v quiet -nologo > "$out/build.log"
sw() { dotnet "$here/src/Splitwise.Cli/bin/Release/net10.0/Splitwise.Cli.dll" "$@"; }
mode_args() {
  case "$1" in
    bloom-sim) echo "--model bloom-176b --splitwise-sim" ;;
    bloom) echo "--model bloom-176b" ;;
    llama) echo "--model llama2-70b" ;;
    *) echo "unknown mode '$1' (use bloom-sim, bloom, llama)" >&2; exit 2 ;;
  esac
}
common=(--duration "$duration" --rate-tolerance "$tol" --initial-rate 40 --max-rate 2000 --seed 11)
start=$(date +%s)
for mode in $modes; do
  read -r -a margs <<< "$(mode_args "$mode")"
  mkdir -p "$out/$mode"
  for trace in $traces; do
    for iso in power cost; do
      t0=$(date +%s)
      sw provision --max-throughput --iso "$iso" --trace "$trace" "${common[@]}" "${margs[@]}" \
        --json --trials "$out/$mode/iso-$iso-$trace.trials.csv" > "$out/$mode/iso-$iso-$trace.json" || true
      echo "$mode $trace iso-$iso: $(( $(date +%s) - t0 )) s" >&2
    done
    # Iso-throughput: Baseline-H100 x 40's iso-power rate, served at the lowest power and at the lowest cost.
    rate=$(python3 -c "import json; d=json.load(open('$out/$mode/iso-power-$trace.json')); b=[x for x in d['designs'] if x['design']=='baseline-h100'][0]['best']; print(b['rate'] if b else 0)")
    if [ "$rate" != "0" ]; then
      for objective in power cost; do
        t0=$(date +%s)
        sw provision --objective "$objective" --rate "$rate" --trace "$trace" --duration "$duration" --seed 11 --max-machines 90 \
          "${margs[@]}" --design baseline-h100 --design splitwise-hhcap --design splitwise-aa \
          --json > "$out/$mode/iso-throughput-$objective-$trace.json" || true
        echo "$mode $trace iso-throughput ($objective) at $rate req/s: $(( $(date +%s) - t0 )) s" >&2
      done
    fi
  done
done
total=$(( $(date +%s) - start ))
python3 "$here/scripts/reproduce-table.py" "$out" "$total" | tee "$out/REPRODUCTION-results.md"
echo "total $total s" >&2
