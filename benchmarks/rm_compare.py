"""Two PerFusionRM runs of `benchmarks/rm_levers.py` compared on the same test groups, seed by seed and pooled.

Usage:
  python benchmarks/rm_compare.py DIR A B [--seeds 2 3] [--json OUT.json]

DIR holds one folder per world seed, DIR/seedS/rm_levers.json (from `rm_levers.py --out DIR/seedS --seed S`), each with
runs A and B. For every seed: the mean over test groups of GAUC(A) - GAUC(B), with a 95% bootstrap interval over groups
(paired: the same groups resampled for both); pooled: the mean of the seeds' means, with the two-level bootstrap of
`seed_sweep.py` (seeds resampled, then groups inside each seed). Also each run's share of the general -> oracle gap.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_sweep import ci_text, hierarchical_bootstrap  # noqa: E402


def compare(root, a: str, b: str, seeds) -> dict:
    "Runs `a` and `b` of DIR/seedS/rm_levers.json paired on each seed's test groups, and pooled over `seeds`."
    rows, diffs = [], []
    for s in seeds:
        res = json.loads((Path(root) / f"seed{s}" / "rm_levers.json").read_text())
        ra, rb = res[a], res[b]
        x = np.array([np.nan if v is None else v for v in ra["group_auc"]], dtype=float)
        y = np.array([np.nan if v is None else v for v in rb["group_auc"]], dtype=float)
        d = (x - y)[~(np.isnan(x) | np.isnan(y))]
        diffs.append(d)
        rows.append({"seed": s, "delta_gauc": hierarchical_bootstrap([d], seed=s), "groups": len(d),
                     a: ra["test"]["GAUC"]["value"], b: rb["test"]["GAUC"]["value"],
                     f"{a}_gap_closed": ra["gap_closed"]["GAUC"], f"{b}_gap_closed": rb["gap_closed"]["GAUC"]})
    share = {k: float(np.mean([r[f"{k}_gap_closed"] for r in rows])) for k in (a, b)}
    return {"seeds": rows, "pooled": hierarchical_bootstrap(diffs), "gap_closed_mean": share}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir"); ap.add_argument("a"); ap.add_argument("b")
    ap.add_argument("--seeds", type=int, nargs="+", required=True); ap.add_argument("--json")
    a = ap.parse_args()
    res = compare(a.dir, a.a, a.b, a.seeds)
    for r in res["seeds"]:
        print(f"seed {r['seed']}: {a.a} {r[a.a]:.3f} ({r[f'{a.a}_gap_closed']:.0%})  "
              f"{a.b} {r[a.b]:.3f} ({r[f'{a.b}_gap_closed']:.0%})  delta {ci_text(r['delta_gauc'])}  ({r['groups']} groups)")
    print(f"pooled ({len(a.seeds)} seeds): delta GAUC {ci_text(res['pooled'])}; mean share of the gap closed "
          + ", ".join(f"{k} {v:.0%}" for k, v in res["gap_closed_mean"].items()))
    if a.json:
        Path(a.json).write_text(json.dumps({"command": " ".join(sys.argv), **res}, indent=1))


if __name__ == "__main__":
    main()
