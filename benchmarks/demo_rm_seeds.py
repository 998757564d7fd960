"""The demo's reward model on world seeds: `perfusion demo --seed S`'s data and reward stages (Table 1, the profile
read and every PerFusionRM variant on the vision-tuned mini-CLIP), and beside them the paper's PerFusionRM as the demo
trained it before (the shipped mini-CLIP, no read, 150 steps of 32 groups), all on the same 300 test groups.

Usage:
  python benchmarks/demo_rm_seeds.py --out DIR --seeds 61 62 63 64 65
  python benchmarks/demo_rm_seeds.py --out DIR --seeds 71 72 73 74 75 --compare pooled_read

With `--compare pooled_read` the previous model is the read of the pooled embedding (`read_patches=0`) fitted on the
same groups (`pooled_read`), instead of the paper's PerFusionRM.

Per seed, DIR/seedS holds the demo's layout (`rm/`, `stages/data.json`, `stages/reward.json`: `_demo_data` and
`_demo_reward` of `perfusion.demo` with `DemoConfig()`, so the stages are the demo's own code) and `rm_levers.json` in
`rm_levers.py`'s form (every test group's AUC) with the runs `demo_rm` (the demo's PerFusionRM: read + plug-ins),
`demo_read` (the read alone) and `paper_rm` (the previous demo's model), so that `rm_compare.py` pairs them and
`rm_share.py DIR RUN --splits rm` gives the pooled share of the general -> oracle gap.
"""
import argparse, json, sys, time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_seed(root: Path, seed: int, n_boot: int = 1000, compare: str = "paper_rm") -> dict:
    from rm_levers import per_group_auc

    from perfusion.data import world_splits
    from perfusion.demo import DemoConfig, _demo_data, _demo_reward, _stage
    from perfusion.foundation import load_mini_clip
    from perfusion.metrics import bootstrap_metrics
    from perfusion.reward import PerFusionRM, ProfileRead
    from perfusion.train_rm import fitted_profile_read, read_inputs, read_scores, score_groups, train_reward_model
    from perfusion.world import World

    cfg, out = DemoConfig(), root / f"seed{seed}"
    key = {"seed": seed, "config": asdict(cfg)}
    _stage(out, "data", key, lambda: _demo_data(out, World("industrial", seed=seed), "industrial", cfg, seed, False))
    reward = _stage(out, "reward", key, lambda: _demo_reward(out, "industrial", cfg, seed, False))
    splits = world_splits("industrial", cfg.groups, out / "rm", seed=seed, progress=False)
    test = splits["test"]
    labels = [list(l) for l in test["labels"]]
    clip, proc = load_mini_clip()  # the general model
    scores = {"general": score_groups(clip, test, proc)[0]}
    t0 = time.time()
    tuned, tproc = load_mini_clip(cfg.rm_backbone)
    rm = PerFusionRM.from_pretrained(out / "rm" / "industrial" / "perfusion_rm" / "perfusion_rm", tuned)
    if compare == "paper_rm":
        rm_cfg = replace(cfg.rm, read=False, seed=seed)  # the previous demo's PerFusionRM
        paper, log = train_reward_model(clip, proc, splits["train"], out / "paper_rm", rm_cfg, eval_ds=splits["validation"], progress=False)
        scores["paper_rm"] = score_groups(paper, test, proc)[0]
        paper.remove_hooks()
    else:  # the read of the pooled embedding, fitted on the same groups
        pooled, _, _ = fitted_profile_read(tuned, tproc, splits["train"], splits["validation"], rm.vocab, out / "pooled_read", False, 0)
        scores["pooled_read"] = read_scores(pooled, read_inputs(tuned, test, tproc, rm.vocab))
    seconds = {compare: round(time.time() - t0, 1), "reward_stage": reward["seconds"]}
    scores["demo_rm"] = score_groups(rm, test, tproc)[0]
    read = ProfileRead.from_pretrained(out / "rm" / "industrial" / "profile_read")
    scores["demo_read"] = read_scores(read, read_inputs(tuned, test, tproc, rm.vocab, read=read))
    m = {k: bootstrap_metrics(s, labels, n_boot=n_boot, seed=seed) for k, s in scores.items()}
    m["oracle"] = bootstrap_metrics([json.loads(x)["utilities"] for x in test["meta"]], labels, n_boot=n_boot, seed=seed)
    span = m["oracle"]["GAUC"]["value"] - m["general"]["GAUC"]["value"]
    res = {}
    for run in ("demo_rm", "demo_read", compare):
        closed = {k: (m[run][k]["value"] - m["general"][k]["value"]) / (m["oracle"][k]["value"] - m["general"][k]["value"])
                  for k in ("MAP", "GAUC")}
        res[run] = {"spec": f"{run} (demo_rm_seeds.py)", "test": m[run], "gap_closed": closed, "general": m["general"],
                    "oracle": m["oracle"], "command": " ".join(["python", *sys.argv]), "seconds": seconds,
                    "group_auc": per_group_auc(scores[run], labels), "general_group_auc": per_group_auc(scores["general"], labels)}
        print(f"seed {seed} {run}: GAUC {m[run]['GAUC']['value']:.4f} [{m[run]['GAUC']['lo']:.3f}, {m[run]['GAUC']['hi']:.3f}]"
              f" gap closed {closed['GAUC']:.0%}", flush=True)
    print(f"seed {seed}: general {m['general']['GAUC']['value']:.4f}, oracle {m['oracle']['GAUC']['value']:.4f}; "
          f"reward stage {reward['seconds']} s, {compare} {seconds[compare]} s; Table 1: "
          + ", ".join(f"{k} {v['GAUC']['value']:.3f}" for k, v in reward["table"].items()), flush=True)
    (out / "rm_levers.json").write_text(json.dumps(res, indent=1))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--compare", choices=("paper_rm", "pooled_read"), default="paper_rm")
    a = ap.parse_args()
    for s in a.seeds:
        run_seed(Path(a.out), s, compare=a.compare)


if __name__ == "__main__":
    main()
