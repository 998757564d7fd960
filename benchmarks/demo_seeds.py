"""The README's main command on several world seeds: read each `perfusion demo --seed S --out DIR/seedS` run's
results.json and report PerFusion's paired differences, own - other gap, case-study shares, PerFusionRM's share of the
GAUC gap and wall minutes per seed, then pooled over seeds (the mean of the seeds' estimates with a t interval over
seeds, which counts the seed-to-seed spread; the demo does not store per-item values, so no two-level bootstrap).

Usage: python benchmarks/demo_seeds.py DIR --seeds 21 22 23 24 25 [--json OUT]
"""
import argparse, json
from pathlib import Path

import numpy as np
from scipy import stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root"); ap.add_argument("--seeds", type=int, nargs="+", required=True); ap.add_argument("--json")
    a = ap.parse_args()
    runs = {s: json.loads((Path(a.root) / f"seed{s}" / "results.json").read_text()) for s in a.seeds}
    f = lambda m, lo, hi: f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" + (" *" if lo > 0 else "")
    base = ("base", "sft", "dpo", "pmg")
    print("| seed | " + " | ".join(f"PF − {b}" for b in base) + " | own − other gap | fav. colour or pattern above base "
          "(stores) | PerFusionRM share of GAUC gap | minutes |")
    print("|---|" + "---|" * (len(base) + 4))
    pooled = {k: [] for k in (*base, "gap", "rm")}
    rows = {}
    for s, r in runs.items():
        pf = r["generation"]["perfusion"]
        cells = []
        for b in base:
            d = pf["paired_delta"][b]
            cells.append(f(d["mean"], *d["ci"])); pooled[b].append(d["mean"])
        g, gci = pf["personalization_gap"], pf["personalization_gap_ci"]
        pooled["gap"].append(g); pooled["rm"].append(r["reward_gap_closed"]["GAUC"])
        cs = r["case_study"]["results"]
        above = sum(max(cs["perfusion"][u]["share_colour"] - cs["base"][u]["share_colour"],
                        cs["perfusion"][u]["share_pattern"] - cs["base"][u]["share_pattern"]) > 0 for u in cs["base"])
        rows[s] = {"paired_delta": {b: pf["paired_delta"][b] for b in base}, "gap": [g, *gci],
                   "case_stores_above": [above, len(cs["base"])], "rm_gauc_gap_closed": r["reward_gap_closed"]["GAUC"],
                   "minutes": r["timing_s"]["total"] / 60}
        print(f"| {s} | " + " | ".join(cells) + f" | {f(g, *gci)} | {above} of {len(cs['base'])} | "
              f"{r['reward_gap_closed']['GAUC']:.0%} | {r['timing_s']['total'] / 60:.1f} |")
    def t_int(x):
        x = np.asarray(x); h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        return x.mean(), x.mean() - h, x.mean() + h
    print(f"| **pooled ({len(runs)}), t over seeds** | " + " | ".join(f(*t_int(pooled[b])) for b in base)
          + f" | {f(*t_int(pooled['gap']))} | | {np.mean(pooled['rm']):.0%} | |")
    if a.json:
        Path(a.json).write_text(json.dumps({"seeds": rows, "pooled": {k: t_int(v) for k, v in pooled.items()},
                                            "command": "perfusion demo --seed S --out DIR/seedS"}, indent=1))


if __name__ == "__main__":
    main()
