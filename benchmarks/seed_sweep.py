"""The seed protocol of nbs/17_personalize.ipynb: the demo's generation experiment on several world seeds, each seed
reported alone and all of them pooled.

Usage:
  python benchmarks/seed_sweep.py --out DIR --seeds 0 1 2 [--arm NAME] [--methods sft,dpo,perfusion,pf_wo_gobj]
      [--steps 200] [--pairs 150] [--groups 3000] [--set key=value ...] [--history] [--stack-on METHOD] [--report] [--compare ARM REF]

For every seed S: the data of `perfusion demo --seed S` (`world_splits`, 3,000 `industrial` groups), then
`perfusion.experiments.generation_table` with the demo's recipe (`DemoConfig`'s gen_* fields; `--set` overrides a
`GenTrainConfig` field, e.g. `--set lr=3e-4`), no stacking (`--stack-on sft`: the PerFusion variants continue from
the SFT model, their reference too), the user in the conditional CFG branch only; PerFusionRM is
not trained (it is a metric of the demo, not of this protocol). `--history` gives every model that sees the user the
merchant's selection-history fields (`perfusion.history.with_selection_features`: leave-one-out on the training groups,
the whole training history for the evaluated and the other merchant). Each (arm, seed) is written to
DIR/ARM/seed{S}.json with its command and reused when asked again; `--report` prints every seed and the pooled estimate
of every arm found in DIR (a two-level bootstrap: seeds resampled, then the held-out items inside each seed; the point
estimate is the mean of the seeds' means) and where the spread comes from (the seeds' means against one seed's
standard error); `--compare ARM REF` prints PerFusion of ARM minus PerFusion of REF on the same items (ARM:METHOD and
REF:METHOD compare other models, e.g. `--compare on_sft_400 sft1600:sft`). Run it alone on the machine (two torch processes on 2 cores slow each other
down far more than 2x).
"""

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

BASELINES = ("base", "sft", "dpo", "pmg", "pf_wo_gobj")


def hierarchical_bootstrap(per_seed: list, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    "Mean over seeds of the per-seed mean, with an interval that resamples seeds and then items inside each seed."
    per_seed = [np.asarray(x, dtype=float) for x in per_seed]
    per_seed = [x[~np.isnan(x)] for x in per_seed]
    rng = np.random.default_rng(seed)
    point = float(np.mean([x.mean() for x in per_seed]))
    stats = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(len(per_seed), size=len(per_seed))
        stats[b] = np.mean([per_seed[i][rng.integers(len(per_seed[i]), size=len(per_seed[i]))].mean() for i in pick])
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": point, "ci": [float(lo), float(hi)], "seeds": len(per_seed)}


def ci_text(d: dict) -> str:
    "A mean with its interval, starred when the interval is above 0."
    return f"{d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]" + (" *" if d["ci"][0] > 0 else "")


def run_seed(a, seed: int, out: Path) -> dict:
    import torch

    from perfusion.data import world_splits
    from perfusion.history import user_profiles, with_selection_features
    from perfusion.demo import DemoConfig, gen_train_kw
    from perfusion.experiments import generation_table
    from perfusion.world import World

    if a.threads:
        torch.set_num_threads(a.threads)
    demo = DemoConfig()
    recipe = gen_train_kw(demo)  # the demo's recipe: every GenTrainConfig field generation_table does not set itself
    for kv in a.set:
        k, _, v = kv.partition("=")
        recipe[k] = json.loads(v)
    method_kw = {}
    for mkv in a.set_method:
        m, _, kv = mkv.partition(":")
        k, _, v = kv.partition("=")
        method_kw.setdefault(m, {})[k] = json.loads(v)
    t0 = time.time()
    splits = world_splits("industrial", a.groups, out.parent / "data" / f"seed{seed}", seed=seed, progress=False)
    world = World("industrial", seed=seed)
    profiles = None
    if a.history:
        splits = with_selection_features(splits)
        profiles = user_profiles(splits["train"], world)
    t_data = time.time() - t0
    res = generation_table(
        splits, out / f"seed{seed}", methods=a.methods.split(","), steps=a.steps, lr=demo.gen.lr,
        batch_size=demo.gen.batch_size, n_pairs=a.pairs, sample_steps=demo.sample_steps, world=world, n_boot=1000,
        seed=seed, progress=False, train_kw=recipe, method_kw=method_kw, stack_on=a.stack_on, user_in_uncond=False, profiles=profiles,
    )
    tu = {k: v["true_utility"].tolist() for k, v in res["per_image"].items()}
    return {
        "seed": seed,
        "arm": a.arm,
        "command": " ".join(["python", *sys.argv]),
        "recipe": recipe,
        "history": a.history,
        "stack_on": a.stack_on,
        "method_kw": method_kw,
        "config": res["config"],
        "summary": res["summary"],
        "paired_delta": res["paired_delta"],
        "per_item": {
            k: {m: v.tolist() for m, v in d.items() if m in ("true_utility", "taste", "fav_colour", "fav_pattern",
                                                             "consistency")}
            for k, d in res["per_image"].items()
        },
        "other_true_utility": {k: v.tolist() for k, v in res["other_utility"].items()},
        "own_true_utility": tu,
        "pairs": [{"user_id": p["user_id"], "prompt": p["prompt"]} for p in res["pairs"]],
        "timing_s": {**res["timing_s"], "data": round(t_data, 1), "total": round(time.time() - t0, 1)},
    }


def _runs(arm: Path, seeds=None) -> list[dict]:
    "The arm's finished seeds (only `seeds`, when given), in seed order."
    runs = [json.loads(p.read_text()) for p in arm.glob("seed*.json")]
    return sorted((r for r in runs if seeds is None or r["seed"] in seeds), key=lambda r: r["seed"])


def report(root: Path, n_boot: int = 2000, seeds=None, arms=None) -> str:
    "Markdown: for every arm, PerFusion's paired differences and gap per seed, then pooled over seeds."
    f = ci_text
    lines = []
    for arm in sorted(p for p in root.iterdir() if p.is_dir() and list(p.glob("seed*.json"))
                      and (arms is None or p.name in arms)):
        runs = _runs(arm, seeds)
        if not runs:
            continue
        pf = "perfusion"
        cols = [b for b in BASELINES if all(b in r["own_true_utility"] for r in runs)]
        lines += [f"**arm `{arm.name}`**", "",
                  "| seed | " + " | ".join(f"PF − {b}" for b in cols) + " | own − other gap | fav. colour PF / base | "
                  "minutes |", "|---|" + "---|" * (len(cols) + 3)]
        for r in runs:
            o = r["own_true_utility"]
            d = [f(r["paired_delta"][pf][b]) for b in cols]
            g = r["summary"][pf]["gap"]
            fc = lambda m: np.nanmean(r["per_item"][m]["fav_colour"])
            lines.append(f"| {r['seed']} | " + " | ".join(d) + f" | {f({'mean': g['value'], 'ci': [g['lo'], g['hi']]})} | "
                         f"{fc(pf):.3f} / {fc('base'):.3f} | {r['timing_s']['total'] / 60:.1f} |")
        pooled = []
        for b in cols:
            diffs = [np.array(r["own_true_utility"][pf]) - np.array(r["own_true_utility"][b]) for r in runs]
            pooled.append(f(hierarchical_bootstrap(diffs, n_boot)))
        gaps = [np.array(r["own_true_utility"][pf]) - np.array(r["other_true_utility"][pf]) for r in runs]
        lines.append(f"| **pooled ({len(runs)})** | " + " | ".join(pooled) + f" | {f(hierarchical_bootstrap(gaps, n_boot))} | | |")
        if len(runs) > 1:  # where the spread comes from: the items inside a seed, or the seeds themselves
            for what, xs in (("PF − base", [np.array(r["own_true_utility"][pf]) - np.array(r["own_true_utility"]["base"])
                                            for r in runs]), ("gap", gaps)):
                se = np.mean([x.std(ddof=1) / np.sqrt(len(x)) for x in xs])
                sd = np.std([x.mean() for x in xs], ddof=1)
                lines.append(f"\n{what}: standard deviation of the seeds' means {sd:.3f}; mean standard error of one "
                             f"seed's mean over its items {se:.3f}")
        lines.append("")
    return "\n".join(lines)


def compare(root: Path, arm: str, ref: str, n_boot: int = 2000, seeds=None) -> str:
    """Markdown: a model of `arm` minus a model of `ref` on the same items, per seed both arms ran, and pooled. Each of
    `arm` and `ref` is ARM or ARM:METHOD (METHOD defaults to perfusion), e.g. `on_sft_400 sft1600:sft`."""
    f = ci_text
    (arm, ma), (ref, mr) = [(x.split(":") + ["perfusion"])[:2] for x in (arm, ref)]
    load = lambda a: {r["seed"]: r for r in _runs(root / a, seeds)}
    A, R = load(arm), load(ref)
    seeds = sorted(set(A) & set(R))
    gaps = all(ma in A[s]["other_true_utility"] and mr in R[s]["other_true_utility"] for s in seeds)
    lines = [f"**{ma} `{arm}` − {mr} `{ref}`, same items**", "",
             "| seed | Δ true utility |" + (" Δ own − other gap |" if gaps else ""), "|---|---|" + ("---|" if gaps else "")]
    du, dg = [], []
    for s in seeds:
        a, r = A[s], R[s]
        pa = [(p["user_id"], p["prompt"]) for p in a.get("pairs", [])]
        pr = [(p["user_id"], p["prompt"]) for p in r.get("pairs", [])]
        if pa and pr and pa != pr:  # runs written before the pairs were stored are not checked
            raise ValueError(f"seed {s}: the two arms were evaluated on different items")
        # the same sampling gives the same base images; runs on another day may differ by float summation order only
        # (seen: up to 1.5e-4 in a utility of about 5), a different image by far more
        if not np.allclose(a["own_true_utility"]["base"], r["own_true_utility"]["base"], rtol=0, atol=1e-3):
            raise ValueError(f"seed {s}: the base model's images differ between the two arms (not the same sampling)")
        u = np.array(a["own_true_utility"][ma]) - np.array(r["own_true_utility"][mr])
        du.append(u)
        row = f"| {s} | {f(hierarchical_bootstrap([u], n_boot))} |"
        if gaps:
            g = (np.array(a["own_true_utility"][ma]) - np.array(a["other_true_utility"][ma])) - (
                np.array(r["own_true_utility"][mr]) - np.array(r["other_true_utility"][mr]))
            dg.append(g)
            row += f" {f(hierarchical_bootstrap([g], n_boot))} |"
        lines.append(row)
    if seeds:
        lines.append(f"| **pooled ({len(seeds)})** | {f(hierarchical_bootstrap(du, n_boot))} |"
                     + (f" {f(hierarchical_bootstrap(dg, n_boot))} |" if gaps else ""))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="*", default=[])
    ap.add_argument("--arm", default="recipe", help="name of this setting (a folder under --out)")
    ap.add_argument("--methods", default="sft,dpo,perfusion,pf_wo_gobj")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=150)
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--set", action="append", default=[], help="key=value: a GenTrainConfig field (JSON value)")
    ap.add_argument("--history", action="store_true", help="selection-history fields in the user features")
    ap.add_argument("--set-method", action="append", default=[],
                    help="method:key=value, a GenTrainConfig field for one method (e.g. perfusion:max_steps=400)")
    ap.add_argument("--stack-on", default=None, help="train the PerFusion variants on this method's model (e.g. sft)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--compare", nargs=2, metavar=("ARM", "REF"), help="a model of ARM minus one of REF, paired; ARM[:METHOD], METHOD defaults to perfusion")
    ap.add_argument("--arms", nargs="*", help="--report: only these arms (default: all found)")
    ap.add_argument("--pool", type=int, nargs="*", help="--report/--compare: only these seeds (default: all found)")
    a = ap.parse_args()
    root = Path(a.out)
    for s in a.seeds:
        path = root / a.arm / f"seed{s}.json"
        if path.exists():
            print(f"[{a.arm} seed {s}] finished earlier: {path}")
            continue
        r = run_seed(a, s, root / a.arm)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r, indent=1))
        g = r["summary"]["perfusion"]["gap"] if "perfusion" in r["summary"] else None
        print(f"[{a.arm} seed {s}] {r['timing_s']['total'] / 60:.1f} min; PF − base "
              f"{r['paired_delta'].get('perfusion', {}).get('base')}; gap {g}", flush=True)
    if a.report:
        print(report(root, seeds=a.pool, arms=a.arms))
    if a.compare:
        print(compare(root, *a.compare, seeds=a.pool))


if __name__ == "__main__":
    main()
