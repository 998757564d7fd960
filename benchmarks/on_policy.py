"""On-policy rounds measured against the offline model they would replace or continue, on the seed protocol's items.

Usage:
  python benchmarks/on_policy.py --out DIR --sweep SWEEP --seeds 2 3 --name NAME [--labeller oracle] [--start offline]
      [--rounds 4] [--requests 48] [--steps-per-round 50] [--guidance 7] [--set key=value ...] [--report]

For every seed S it needs the offline PerFusion model of `benchmarks/seed_sweep.py --out SWEEP --arm recipe --seeds S`
(SWEEP/recipe/seedS/perfusion/model: the demo's recipe, 200 steps) and that run's data (SWEEP/data/seedS). It then runs
`perfusion.onpolicy.train_on_policy` on the demo's training requests:

- `--start offline`: a fresh side network on the frozen offline model (round 0 proposes the offline model's images; the
  offline model is the reference of the group objective); `--start base`: from the base model, as `17_personalize`'s
  ladder rung (e) did (the reference is then the base model);
- `--labeller oracle`: the world's hidden taste, read through the judge, selects the K best of N proposals. An UPPER
  BOUND of what the loop can do, never a recipe (the hidden taste labels training data here); `--labeller rm:PATH`: a
  trained PerFusionRM folder selects.

Evaluation: the seed protocol's held-out pairs (`eval_pairs(test, 150, seed)`, the same other merchants and sampling
seeds as seed_sweep), images of the base model, the offline model and the on-policy model for the requesting merchant
and for another one; the offline model's true utilities must equal those seed_sweep stored (checked). Written to
DIR/NAME/seedS.json with the command; `--report` prints every seed and the pooled estimate (seed_sweep's two-level
bootstrap) of every NAME found in DIR. Run it alone on the machine.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # seed_sweep, also when loaded with runpy
from seed_sweep import ci_text, hierarchical_bootstrap  # noqa: E402


class OracleLabeller:
    "UPPER BOUND ONLY: scores images by the merchant's hidden taste, read through the judge; never a recipe."

    def __init__(self, world, judge, vocab):
        self.world, self.judge, self.vocab = world, judge, vocab
        self.by_id = {m.user_id: m for m in world.merchants}

    def score(self, processor, prompt, images, features):
        from perfusion.world import ATTRIBUTES, parse_prompt

        m, named = self.by_id[features["user_id"]], parse_prompt(prompt)
        reads = self.judge.read(images)
        return np.array([self.world.utility(m, named, {k: r[k] for k in ATTRIBUTES}, r["quality"]) for r in reads])

    def remove_hooks(self):
        pass


def run_seed(a, seed: int) -> dict:
    import torch

    from perfusion.data import world_splits
    from perfusion.evaluate import eval_pairs, other_users, score_generations
    from perfusion.demo import DemoConfig
    from perfusion.foundation import load_judge, load_mini_clip, load_mini_sd
    from perfusion.onpolicy import OnPolicyConfig, train_on_policy
    from perfusion.sampling import generate, generate_personalized
    from perfusion.train import GenTrainConfig, load_generator
    from perfusion.world import World

    if a.threads:
        torch.set_num_threads(a.threads)
    t0, sweep = time.time(), Path(a.sweep)
    ref_json = sweep / "recipe" / f"seed{seed}.json"
    if not ref_json.exists():
        sys.exit(f"{ref_json}: run `python benchmarks/seed_sweep.py --out {sweep} --seeds {seed}` first")
    ref = json.loads(ref_json.read_text())
    splits = world_splits("industrial", a.groups, sweep / "data" / f"seed{seed}", seed=seed, progress=False)
    world, pipe, judge = World("industrial", seed=seed), load_mini_sd(), load_judge()
    pipe.set_progress_bar_config(disable=True)
    offline, vocab = load_generator(pipe, sweep / "recipe" / f"seed{seed}", "perfusion")
    demo = DemoConfig()
    recipe = {**ref["recipe"]}
    for kv in a.set:
        k, _, v = kv.partition("=")
        recipe[k] = json.loads(v)
    cfg = GenTrainConfig(method="perfusion", lr=demo.gen.lr, batch_size=demo.gen.batch_size, warmup_steps=min(50, a.rounds *
                         a.steps_per_round // 5), log_every=10, save_every=a.steps_per_round, seed=seed, **recipe)
    ocfg = OnPolicyConfig(rounds=a.rounds, requests=a.requests, steps_per_round=a.steps_per_round,
                          guidance_scale=a.guidance)
    clip, proc = load_mini_clip()
    if a.labeller == "oracle":
        labeller = OracleLabeller(world, judge, vocab)
    else:
        from perfusion.reward import PerFusionRM

        labeller = PerFusionRM.from_pretrained(a.labeller.removeprefix("rm:").format(seed=seed), clip)
    reqs = [{"prompt": p, "features": dict(f)} for p, f in zip(splits["train"]["prompt"], splits["train"]["features"])]
    t1 = time.time()
    model, log = train_on_policy(pipe, reqs, labeller, proc, Path(a.out) / a.name / f"seed{seed}", cfg, ocfg,
                                 vocab=vocab, progress=False, backbone=offline if a.start == "offline" else None)
    labeller.remove_hooks()
    t_rounds = time.time() - t1
    # the seed protocol's items: the same pairs, other merchants and sampling seeds as seed_sweep
    pairs = eval_pairs(splits["test"], n=a.pairs, seed=seed)
    others = other_users(pairs, world, seed=seed)
    prompts = [p["prompt"] for p in pairs]
    fids, ofids = vocab.encode_batch([p["features"] for p in pairs]), vocab.encode_batch([o["features"] for o in others])
    kw = dict(seed=seed + 123, steps=demo.sample_steps, guidance_scale=7.0)
    score = lambda ims: score_generations(ims, pairs, world, judge)
    per = {"base": score(generate(pipe, prompts, **kw))}
    other = {}
    for k, m in (("offline", offline), ("on_policy", model)):
        per[k] = score(generate_personalized(pipe, m, prompts, fids, **kw))
        other[k] = score(generate_personalized(pipe, m, prompts, ofids, **kw))["true_utility"]
    stored = np.array(ref["own_true_utility"]["perfusion"])
    key = lambda ps: [(p["user_id"], p["prompt"]) for p in ps]
    same = len(stored) == len(pairs) and key(pairs) == key(ref.get("pairs", pairs))  # older runs stored no pairs
    same = same and bool(np.allclose(per["offline"]["true_utility"], stored, atol=1e-4))
    if not same:
        print(f"WARNING seed {seed}: not the items, or not the offline utilities, that {ref_json} stored", flush=True)
    tu = lambda k: per[k]["true_utility"]
    rounds = [LatentGroupsStats.of(Path(a.out) / a.name / f"seed{seed}" / f"round{r}.safetensors") for r in range(a.rounds)]
    return {
        "seed": seed,
        "name": a.name,
        "command": " ".join(["python", *sys.argv]),
        "start": a.start,
        "labeller": a.labeller,
        "config": log["config"],
        "on_policy": vars(ocfg),
        "offline_reproduced": same,
        "own_true_utility": {k: tu(k).tolist() for k in per},
        "other_true_utility": {k: v.tolist() for k, v in other.items()},
        "consistency": {k: float(per[k]["consistency"].mean()) for k in per},
        "fav_colour": {k: float(np.nanmean(per[k]["fav_colour"])) for k in per},
        "rounds": rounds,
        "curve": log["history"],
        "pairs": [{"user_id": p["user_id"], "prompt": p["prompt"]} for p in pairs],
        "timing_s": {"rounds": round(t_rounds, 1), "total": round(time.time() - t0, 1)},
    }


class LatentGroupsStats:
    "What a round proposed: the spread of the candidates inside a request, and the latents' overall scale."

    @staticmethod
    def of(path: Path) -> dict:
        from perfusion.latents import LatentGroups

        g = LatentGroups.load(path)
        within = g.latents.std(dim=1).mean()  # over the N candidates of a request, then averaged
        return {"within_request_std": round(float(within), 4), "latent_std": round(float(g.latents.std()), 4)}


def report(root: Path, n_boot: int = 2000, seeds=None) -> str:
    """Markdown: on-policy − offline, on-policy − base and the gaps, per seed and pooled (only `seeds`, when given), for
    every run in `root`."""
    f = ci_text
    lines = []
    for run in sorted(p for p in root.iterdir() if p.is_dir() and list(p.glob("seed*.json"))):
        rs = sorted((json.loads(p.read_text()) for p in run.glob("seed*.json")), key=lambda r: r["seed"])
        rs = [r for r in rs if seeds is None or r["seed"] in seeds]
        if not rs:
            continue
        lines += [f"**`{run.name}`** (start: {rs[0]['start']}, labeller: {rs[0]['labeller']})", "",
                  "| seed | on-policy − offline | on-policy − base | gap: on-policy | gap: offline | consistency "
                  "on-policy / offline / base | candidates' spread, round 0 → last | minutes |", "|---|" + "---|" * 7]
        cols = {"d_off": [], "d_base": [], "gap_op": [], "gap_off": []}
        for r in rs:
            u, o = {k: np.array(v) for k, v in r["own_true_utility"].items()}, {k: np.array(v) for k, v in
                                                                              r["other_true_utility"].items()}
            x = {"d_off": u["on_policy"] - u["offline"], "d_base": u["on_policy"] - u["base"],
                 "gap_op": u["on_policy"] - o["on_policy"], "gap_off": u["offline"] - o["offline"]}
            for k in cols:
                cols[k].append(x[k])
            c, sp = r["consistency"], r["rounds"]
            lines.append(f"| {r['seed']} | " + " | ".join(f(hierarchical_bootstrap([x[k]], n_boot)) for k in cols)
                         + f" | {c['on_policy']:.2f} / {c['offline']:.2f} / {c['base']:.2f} | "
                         f"{sp[0]['within_request_std']:.3f} → {sp[-1]['within_request_std']:.3f} | "
                         f"{r['timing_s']['total'] / 60:.1f} |")
        lines.append(f"| **pooled ({len(rs)})** | " + " | ".join(f(hierarchical_bootstrap(cols[k], n_boot)) for k in cols)
                     + " | | | |")
        lines.append("")
    return "\n".join(lines)


def versus_longer(root: Path, name: str, longer: Path, n_boot: int = 2000) -> str:
    """Markdown: the on-policy model of run `name` against offline training run longer instead (seed_sweep's arm folder
    `longer`, e.g. recipe_400steps), on the same items, with the CPU each spent beyond the 200-step offline model."""
    f = ci_text
    lines = [f"**`{name}` − offline `{longer.name}`, same items**", "",
             "| seed | Δ true utility | Δ own − other gap | CPU s beyond the 200-step model: rounds / longer offline |",
             "|---|---|---|---|"]
    du, dg = [], []
    for p in sorted((root / name).glob("seed*.json")):
        r = json.loads(p.read_text())
        q = longer / f"seed{r['seed']}.json"
        if not q.exists():
            continue
        l = json.loads(q.read_text())
        if [(x["user_id"], x["prompt"]) for x in l["pairs"]] != [(x["user_id"], x["prompt"]) for x in r["pairs"]]:
            raise ValueError(f"seed {r['seed']}: {q} was evaluated on other items")
        u = np.array(r["own_true_utility"]["on_policy"]) - np.array(l["own_true_utility"]["perfusion"])
        g = u - (np.array(r["other_true_utility"]["on_policy"]) - np.array(l["other_true_utility"]["perfusion"]))
        du.append(u), dg.append(g)
        ref = json.loads((longer.parent / "recipe" / q.name).read_text())["timing_s"]["perfusion"]
        lines.append(f"| {r['seed']} | {f(hierarchical_bootstrap([u], n_boot))} | {f(hierarchical_bootstrap([g], n_boot))} "
                     f"| {r['timing_s']['rounds']:.0f} / {l['timing_s']['perfusion'] - ref:.0f} |")
    if du:
        lines.append(f"| **pooled ({len(du)})** | {f(hierarchical_bootstrap(du, n_boot))} | "
                     f"{f(hierarchical_bootstrap(dg, n_boot))} | |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sweep", help="seed_sweep.py's --out folder (offline models, data, stored utilities)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[])
    ap.add_argument("--name", default="oracle_from_offline", help="name of this setting (a folder under --out)")
    ap.add_argument("--labeller", default="oracle", help="oracle (upper bound only) or rm:PATH (a PerFusionRM folder; {seed} in PATH is the world seed)")
    ap.add_argument("--start", choices=("offline", "base"), default="offline")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--requests", type=int, default=48)
    ap.add_argument("--steps-per-round", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance when proposing")
    ap.add_argument("--pairs", type=int, default=150)
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--set", action="append", default=[], help="key=value: a GenTrainConfig field of the rounds")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--pool", type=int, nargs="*", help="--report: only these seeds (default: all found)")
    a = ap.parse_args()
    for s in a.seeds:
        path = Path(a.out) / a.name / f"seed{s}.json"
        if path.exists():
            print(f"[{a.name} seed {s}] finished earlier: {path}")
            continue
        r = run_seed(a, s)
        path.write_text(json.dumps(r, indent=1))
        u = {k: np.array(v) for k, v in r["own_true_utility"].items()}
        print(f"[{a.name} seed {s}] {r['timing_s']['total'] / 60:.1f} min; on-policy − offline "
              f"{(u['on_policy'] - u['offline']).mean():+.3f}; consistency {r['consistency']}; rounds {r['rounds']}",
              flush=True)
    if a.report:
        print(report(Path(a.out), seeds=a.pool))


if __name__ == "__main__":
    main()
