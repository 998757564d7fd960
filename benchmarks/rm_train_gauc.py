"""Train against held-out GAUC of PerFusionRM models saved by `rm_levers.py`: does a model that stops improving on
held-out groups still improve on its training groups (memorizing)?

Usage: python benchmarks/rm_train_gauc.py DIR --seed S NAME [NAME ...]
DIR is `rm_levers.py`'s --out (it holds `data/` and one folder per run NAME). Training GAUC is measured on the first
600 training groups, held-out GAUC on the 300 test groups.
"""
import argparse, json
from pathlib import Path

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root"); ap.add_argument("--seed", type=int, required=True); ap.add_argument("names", nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from perfusion.data import world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.metrics import bootstrap_metrics
    from perfusion.reward import PerFusionRM
    from perfusion.train_rm import score_groups

    root = Path(a.root)
    splits = world_splits("industrial", 3000, root / "data", seed=a.seed, progress=False)
    clip, proc = load_mini_clip()
    out = {}
    for name in a.names:
        rm = PerFusionRM.from_pretrained(root / name / "perfusion_rm", clip)
        for split, groups in (("train", splits["train"].select(range(600))), ("test", splits["test"])):
            labels = [list(l) for l in groups["labels"]]
            m = bootstrap_metrics(score_groups(rm, groups, proc, progress=False)[0], labels, n_boot=200, seed=0)
            out[f"{name}:{split}"] = round(m["GAUC"]["value"], 4)
            print(name, split, out[f"{name}:{split}"], flush=True)
        rm.remove_hooks()
    (root / "train_gauc.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
