"""A run's share of the general -> oracle GAUC gap, pooled over world seeds, with an interval.

Usage:
  python benchmarks/rm_share.py DIR RUN [RUN ...] --seeds 51 52 53 54 55 [--json OUT.json]

DIR as for `rm_compare.py` (DIR/seedS/rm_levers.json, with every test group's AUC of each run and of the general
model). The oracle's per-group AUC is recomputed from the test groups' true utilities (DIR/seedS/data, the demo's
splits; `--splits rm` for `demo_rm_seeds.py`'s layout). Per seed the share is (GAUC(run) - GAUC(general)) / (GAUC(oracle) - GAUC(general)) over the test groups
where all three are defined; pooled, the mean of the seeds' shares, with the two-level bootstrap of `seed_sweep.py`
(seeds resampled, then groups inside each seed, the same groups for the run, the general model and the oracle).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def oracle_group_auc(root: Path, seed: int, groups: int = 3000, splits: str = "data") -> list:
    "Every test group's AUC of the true utilities (the oracle), in the order of `rm_levers.py`'s group AUCs."
    from rm_levers import per_group_auc

    from perfusion.data import world_splits

    data = root / f"seed{seed}" / splits
    if not (data / "data" / "industrial.config.json").exists():  # world_splits would render the world anew: refuse
        raise SystemExit(f"{data} holds no rendered splits: give the DIR the runs were made in (rm_levers.py --out DIR/seedS)")
    test = world_splits("industrial", groups, data, seed=seed, progress=False)["test"]
    return per_group_auc([json.loads(m)["utilities"] for m in test["meta"]], [list(l) for l in test["labels"]])


def shares(per_seed: list, n_boot: int = 2000, seed: int = 0) -> dict:
    "`per_seed`: (run, general, oracle) arrays of group AUCs per seed; the mean share with its two-level interval."
    share = lambda r, g, o: (r.mean() - g.mean()) / (o.mean() - g.mean())
    point = [share(*x) for x in per_seed]
    rng, stats = np.random.default_rng(seed), np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(len(per_seed), size=len(per_seed))
        vals = []
        for i in pick:
            n = len(per_seed[i][0])
            ix = rng.integers(n, size=n)
            vals.append(share(*(a[ix] for a in per_seed[i])))
        stats[b] = np.mean(vals)
    lo, hi = np.quantile(stats, [0.025, 0.975])
    return {"mean": float(np.mean(point)), "ci": [float(lo), float(hi)], "per_seed": [float(p) for p in point]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir"); ap.add_argument("runs", nargs="+")
    ap.add_argument("--seeds", type=int, nargs="+", required=True); ap.add_argument("--json")
    ap.add_argument("--groups", type=int, default=3000, help="the world's groups, as the runs were made (rm_levers.py --groups)")
    ap.add_argument("--splits", default="data", help="the splits' folder inside DIR/seedS (demo_rm_seeds.py: rm)")
    a = ap.parse_args()
    root, out = Path(a.dir), {"command": " ".join(sys.argv), "seeds": a.seeds}
    oracle = {s: oracle_group_auc(root, s, a.groups, a.splits) for s in a.seeds}
    for run in a.runs:
        per_seed = []
        for s in a.seeds:
            r = json.loads((root / f"seed{s}" / "rm_levers.json").read_text())[run]
            cols = [np.array([np.nan if v is None else v for v in c], dtype=float)
                    for c in (r["group_auc"], r["general_group_auc"], oracle[s])]
            ok = ~np.any([np.isnan(c) for c in cols], axis=0)
            per_seed.append(tuple(c[ok] for c in cols))
        out[run] = shares(per_seed)
        d = out[run]
        print(f"{run}: share of the general -> oracle gap {d['mean']:.1%} [{d['ci'][0]:.1%}, {d['ci'][1]:.1%}]; per seed "
              + ", ".join(f"{s} {p:.0%}" for s, p in zip(a.seeds, d["per_seed"])))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
