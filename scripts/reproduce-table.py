#!/usr/bin/env python3
"""Tabulates scripts/reproduce-paper.sh outputs beside the paper's figures (Markdown on stdout).

usage: reproduce-table.py OUT_DIR [TOTAL_SECONDS]
"""
import json, os, sys

out = sys.argv[1]
total = sys.argv[2] if len(sys.argv) > 2 else None
MODES = [("bloom-sim", "BLOOM-176B, --splitwise-sim (the paper's setting)"),
         ("bloom", "BLOOM-176B, default mode"),
         ("llama", "Llama2-70B, default mode")]
DESIGNS = ["baseline-a100", "baseline-h100", "splitwise-aa", "splitwise-hh", "splitwise-ha", "splitwise-hhcap"]
NAMES = {"baseline-a100": "Baseline-A100", "baseline-h100": "Baseline-H100", "splitwise-aa": "Splitwise-AA",
         "splitwise-hh": "Splitwise-HH", "splitwise-ha": "Splitwise-HA", "splitwise-hhcap": "Splitwise-HHcap"}


def load(mode, name):
    path = os.path.join(out, mode, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        return json.load(f)


def best(d, design):
    if d is None:
        return None
    for x in d["designs"]:
        if x["design"] == design:
            return x["best"]
    return None


def size(b):
    return f'{b["prompt_machines"]}P+{b["token_machines"]}T' if b["prompt_machines"] else f'{b["machines"]}'


def ratio(a, b):
    return f'{a["rate"] / b["rate"]:.2f}x' if a and b and b["rate"] > 0 else "-"


def cfg(b):
    return f'{size(b)} @ {b["rate"]:g}' if b else "fails at every rate"


modes = [(m, label) for m, label in MODES if os.path.isdir(os.path.join(out, m))]
print("## Headline comparisons: paper vs ours\n")
print("| trace | comparison | paper | " + " | ".join(label for _, label in modes) + " |")
print("|---|---|---|" + "---|" * len(modes))
for trace in ["conv-2023", "code-2023"]:
    rows = [
        ("iso-power: Splitwise-AA / Baseline-A100 throughput", "2.15x (conv)" if trace == "conv-2023" else "(fig. 18)",
         lambda m: (lambda d: ratio(best(d, "splitwise-aa"), best(d, "baseline-a100")))(load(m, f"iso-power-{trace}.json"))),
        ("iso-power: Splitwise-HHcap / Baseline-H100 throughput", "(fig. 18)",
         lambda m: (lambda d: ratio(best(d, "splitwise-hhcap"), best(d, "baseline-h100")))(load(m, f"iso-power-{trace}.json"))),
        ("iso-cost: Splitwise-AA / Baseline-H100 throughput", "1.4x",
         lambda m: (lambda d: ratio(best(d, "splitwise-aa"), best(d, "baseline-h100")))(load(m, f"iso-cost-{trace}.json"))),
        ("iso-throughput: Splitwise-HHcap power vs Baseline-H100", "-25%",
         lambda m: delta(load(m, f"iso-throughput-power-{trace}.json"), "splitwise-hhcap", "watts")),
        ("iso-throughput: Splitwise-AA cost vs Baseline-H100", "-25%",
         lambda m: delta(load(m, f"iso-throughput-cost-{trace}.json"), "splitwise-aa", "dollars_per_hour")),
    ]

    def delta(d, design, key):
        a, h = best(d, design), best(d, "baseline-h100")
        if not a or not h:
            return "-"
        return f'{(a[key] / h[key] - 1) * 100:+.0f}% ({size(a)} vs {size(h)})'

    for name, paper, f in rows:
        print(f"| {trace} | {name} | {paper} | " + " | ".join(f(m) for m, _ in modes) + " |")

for m, label in modes:
    print(f"\n## {label}\n")
    for trace in ["conv-2023", "code-2023"]:
        for iso, what in [("power", "iso-power (40 DGX-H100 = 70 DGX-A100)"), ("cost", "iso-cost (40 DGX-H100 = 86 DGX-A100)")]:
            d = load(m, f"iso-{iso}-{trace}.json")
            if d is None:
                continue
            ba, bh = best(d, "baseline-a100"), best(d, "baseline-h100")
            print(f"**{trace}, {what}** ({d['simulations']} simulations)\n")
            print("| design | best configuration @ req/s | vs Baseline-A100 | vs Baseline-H100 |")
            print("|---|---|---|---|")
            for design in DESIGNS:
                b = best(d, design)
                print(f"| {NAMES[design]} | {cfg(b)} | {ratio(b, ba)} | {ratio(b, bh)} |")
            print()
        for objective, key, unit in [("power", "watts", "kW"), ("cost", "dollars_per_hour", "$/h")]:
            d = load(m, f"iso-throughput-{objective}-{trace}.json")
            if d is None:
                continue
            parts = []
            for design in ["baseline-h100", "splitwise-hhcap", "splitwise-aa"]:
                b = best(d, design)
                if b:
                    v = b[key] / 1000 if key == "watts" else b[key]
                    parts.append(f"{NAMES[design]} {size(b)} {v:.0f} {unit}")
            print(f"**{trace}, iso-throughput, lowest {objective}**: " + "; ".join(parts) + "\n")

if total:
    print(f"\nWhole run: {total} s.")
