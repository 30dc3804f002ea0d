#!/usr/bin/env python3
"""Tabulates scripts/reproduce-paper.sh outputs beside the paper's figures (Markdown on stdout)."""
import json, sys, os

out = sys.argv[1]

def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)

def best(d, design):
    for x in d["designs"]:
        if x["design"] == design:
            return x["best"]
    return None

def size(b):
    return f'{b["prompt_machines"]}P+{b["token_machines"]}T' if b["prompt_machines"] else str(b["machines"])

print("| trace | comparison | paper | ours | our configurations (rate req/s) |")
print("|---|---|---|---|---|")
for trace in ["conv-2023", "code-2023"]:
    ip = load(f"iso-power-{trace}.json")
    a, h, aa, cap = (best(ip, d) for d in ["baseline-a100", "baseline-h100", "splitwise-aa", "splitwise-hhcap"])
    if a and aa:
        print(f'| {trace} | iso-power: Splitwise-AA / Baseline-A100 throughput | 2.15x | {aa["rate"] / a["rate"]:.2f}x | '
              f'A100 {size(a)} @ {a["rate"]:.1f}; AA {size(aa)} @ {aa["rate"]:.1f} |')
    if h and cap:
        print(f'| {trace} | iso-power: Splitwise-HHcap / Baseline-H100 throughput | (n/a) | {cap["rate"] / h["rate"]:.2f}x | '
              f'H100 {size(h)} @ {h["rate"]:.1f}; HHcap {size(cap)} @ {cap["rate"]:.1f} |')
    ic = load(f"iso-cost-{trace}.json")
    h2, aa2 = best(ic, "baseline-h100"), best(ic, "splitwise-aa")
    if h2 and aa2:
        print(f'| {trace} | iso-cost: Splitwise-AA / Baseline-H100 throughput | 1.4x | {aa2["rate"] / h2["rate"]:.2f}x | '
              f'H100 {size(h2)} @ {h2["rate"]:.1f}; AA {size(aa2)} @ {aa2["rate"]:.1f}; AA power / H100 power {aa2["watts"] / h2["watts"]:.2f} |')
    it = load(f"iso-throughput-{trace}.json")
    h3, cap3 = best(it, "baseline-h100"), best(it, "splitwise-hhcap")
    if h3 and cap3:
        print(f'| {trace} | iso-throughput: Splitwise-HHcap power vs Baseline-H100 | -25% | {100 * (cap3["watts"] / h3["watts"] - 1):+.0f}% | '
              f'H100 {size(h3)} {h3["watts"] / 1000:.0f} kW; HHcap {size(cap3)} {cap3["watts"] / 1000:.0f} kW |')
    e2e = {}
    for kv in ["auto", "serialized"]:
        s = load(f"kv-{kv}-{trace}/summary.json")
        m = s["metrics_s"]
        e2e[kv] = (m["kv_transfer_times"]["mean"], m["response_times"]["mean"], m["second_token_times"]["mean"], m["tpot_times"]["mean"])
    for kv, paper in [("auto", "+0.8%"), ("serialized", "+3%")]:
        k, e, st, tp = e2e[kv]
        print(f'| {trace} | KV transfer E2E overhead, {"layer-wise" if kv == "auto" else "serialized"} | {paper} | +{100 * k / (e - k):.2f}% | '
              f'mean exposed transfer {1000 * k:.2f} ms of mean E2E {e:.2f} s; second token {1000 * st:.1f} ms vs TPOT {1000 * tp:.1f} ms |')
