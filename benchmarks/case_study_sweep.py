"""The demo's case study (nbs/15_case_study.ipynb) on the PerFusion models of a seed-sweep arm, over several seeds.

Usage:
  python benchmarks/case_study_sweep.py --sweep SWEEP --arm on_sft_400 --seeds 21 22 23 24 25 --out FILE.json [--n 8 32]
  python benchmarks/case_study_sweep.py --report FILE.json

For every seed S it loads what `benchmarks/seed_sweep.py --out SWEEP --arm ARM --seeds S` trained (the PerFusion model
in SWEEP/ARM/seedS/perfusion, the data in SWEEP/data/seedS: the data and recipe of `perfusion demo --seed S`) and runs
the demo's case-study stage on it: the two stores `pick_stores` chooses in world S, the prompt `CASE_PROMPT`, the base
model, the PMG-style keyword baseline and PerFusion, the demo's sampling steps and seed. Every `--n` (images per store
and model; the demo uses `DemoConfig.case_n` = 8) is a separate run with its own sampling. `--report` prints, per
store, the share of its favourite colour and pattern for each model, and counts the stores where PerFusion's share of
the favourite colour or pattern is above the base model's (the issue's criterion), and, stricter, the stores where
the mean of the two shares is. Run it alone on the machine.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def run(a) -> dict:
    from perfusion.case_study import pick_stores, run_case_study
    from perfusion.data import world_splits
    from perfusion.evaluate import pmg_prompt, selection_history
    from perfusion.demo import DemoConfig
    from perfusion.foundation import load_judge, load_mini_sd
    from perfusion.sampling import pipeline_generator
    from perfusion.train import load_generator
    from perfusion.world import World

    demo, sweep = DemoConfig(), Path(a.sweep)
    pipe, judge = load_mini_sd(), load_judge()
    out = {"command": " ".join(["python", *sys.argv]), "arm": a.arm, "n": a.n, "seeds": {}}
    for s in a.seeds:
        t0 = time.time()
        splits = world_splits("industrial", demo.groups, sweep / "data" / f"seed{s}", seed=s, progress=False)
        world, hist = World("industrial", seed=s), selection_history(splits["train"])
        base = pipeline_generator(pipe, steps=demo.sample_steps)
        punet, vocab = load_generator(pipe, sweep / a.arm / f"seed{s}", "perfusion")
        gens = {
            "base": base,
            "pmg": lambda prompt, f, n, sd: base(pmg_prompt(prompt, hist.get(f["user_id"], [])), f, n, sd),
            "perfusion": pipeline_generator(pipe, punet, vocab, steps=demo.sample_steps,
                                            user_in_uncond=demo.gen_user_in_uncond),
        }
        stores = list(pick_stores(world))
        out["seeds"][s] = {}
        for n in a.n:
            res = run_case_study(gens, world, judge, stores=stores, n=n, seed=s, progress=False)
            out["seeds"][s][n] = {"stores": res["stores"], "results": res["results"]}
        out["seeds"][s]["seconds"] = round(time.time() - t0, 1)
        print(f"seed {s}: {out['seeds'][s]['seconds']} s", flush=True)
    return out


def report(d: dict) -> str:
    "Markdown: per store and n, the favourite colour / pattern shares of base, PMG-style and PerFusion."
    lines = []
    for n in d["n"]:
        lines += [f"**{n} images per store and model**", "",
                  "| seed | store (favourite colour, pattern) | colour: base / PMG / PF | pattern: base / PMG / PF | "
                  "PF above base in colour or pattern |", "|---|---|---|---|---|"]
        above = total = 0
        both = []  # per store: PF - base in the mean of the two favourite shares
        for s, by_n in d["seeds"].items():
            r = by_n[str(n)]  # JSON keys: the report always reads the written file
            for st in r["stores"]:
                u, fav = st["user_id"], st["favourites"]
                sh = {m: (r["results"][m][u]["share_colour"], r["results"][m][u]["share_pattern"])
                      for m in ("base", "pmg", "perfusion")}
                win = sh["perfusion"][0] > sh["base"][0] or sh["perfusion"][1] > sh["base"][1]
                above, total = above + win, total + 1
                both.append((sh["perfusion"][0] + sh["perfusion"][1] - sh["base"][0] - sh["base"][1]) / 2)
                lines.append(f"| {s} | {u} ({fav['colour']}, {fav['pattern']}) | "
                             + " / ".join(f"{sh[m][0]:.2f}" for m in sh) + " | "
                             + " / ".join(f"{sh[m][1]:.2f}" for m in sh) + f" | {'yes' if win else 'no'} |")
        b = np.array(both)
        lines += ["", f"PerFusion above the base model in the favourite colour or pattern share: {above} of {total} "
                  "stores", "",
                  f"A stricter reading, the mean of the two favourite shares: PerFusion − base above 0 for {(b > 0).sum()} "
                  f"of {total} stores, below for {(b < 0).sum()}; mean over stores {b.mean():+.3f} (standard error "
                  f"{b.std(ddof=1) / np.sqrt(len(b)):.3f})", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sweep", help="the seed sweep's --out folder")
    p.add_argument("--arm", default="on_sft_400")
    p.add_argument("--seeds", type=int, nargs="*", default=[])
    p.add_argument("--n", type=int, nargs="*", default=[8])
    p.add_argument("--out", help="JSON file to write")
    p.add_argument("--report", help="print the report of this JSON file")
    a = p.parse_args()
    if a.report:
        print(report(json.loads(Path(a.report).read_text())))
        sys.exit()
    if not (a.sweep and a.seeds and a.out):
        p.error("--sweep, --seeds and --out are needed to run")
    res = run(a)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(report(json.loads(Path(a.out).read_text())))
