"""Table 2 analog on the industrial world: train SFT, DPO and PerFusion with its ablations, then evaluate generations.

Usage (from the repository root, after the Table 1 run that trains the PerFusionRM used as a metric):
    python benchmarks/generation_table.py STEPS LR TRAIN_GROUPS EVAL_PAIRS [--methods a,b] [--batch 8] [--dpo-from DIR]
e.g. python benchmarks/generation_table.py 400 1e-4 4000 150
     python benchmarks/generation_table.py 300 1e-4 4000 150 --batch 64 --methods perfusion \\
         --dpo-from perfusion-gen/s400-lr0.0001-n4000/dpo

World data and the PerFusionRM come from `perfusion train-rm --table --regime industrial --groups 20000 --steps 1000
--out perfusion-rm`; results go to perfusion-gen/s{STEPS}-lr{LR}-n{TRAIN_GROUPS}[-b{BATCH}]/ (table2.json, gallery.png).
`--dpo-from` reuses a finished `dpo` run as the frozen backbone of the PerFusion variants instead of training one.
Everything runs through `perfusion.experiments.generation_table`. Run it alone on the machine: two training processes on
two cores slow each other down by far more than 2x.
"""
import argparse, json
from pathlib import Path
import datasets
from perfusion.evaluate import format_generation_table
from perfusion.experiments import generation_table
from perfusion.foundation import load_mini_clip
from perfusion.reward import PerFusionRM
from perfusion.data import world_splits
from perfusion.world import gallery

ap = argparse.ArgumentParser()
ap.add_argument("steps", type=int); ap.add_argument("lr", type=float); ap.add_argument("n_train", type=int); ap.add_argument("n_pairs", type=int)
ap.add_argument("--methods", default="dpo,sft,perfusion,pf_wo_pan,pf_wo_gobj,pf_wo_both")
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--dpo-from", default=None, help="folder of a finished dpo run to use as the PerFusion backbone")
ap.add_argument("--user-lr-mult", type=float, default=1.0, help="learning-rate multiplier of the user path")
ap.add_argument("--user-init", type=float, default=0.0, help="start the user input conv at this multiple of the identity")
ap.add_argument("--heldout", type=int, default=400, help="held-out test groups for the implicit accuracy (0: skip)")
a = ap.parse_args()
train_kw = {k: v for k, v in (("user_lr_mult", a.user_lr_mult), ("user_init", a.user_init)) if v != {"user_lr_mult": 1.0, "user_init": 0.0}[k]}
out = Path(f"perfusion-gen/s{a.steps}-lr{a.lr}-n{a.n_train}" + (f"-b{a.batch}" if a.batch != 8 else "") + "".join(f"-{k}{v}" for k, v in train_kw.items()))
splits = world_splits("industrial", 20000, "perfusion-rm", progress=False)
splits = datasets.DatasetDict({**splits, "train": splits["train"].select(range(a.n_train))})
clip, proc = load_mini_clip()
rm = PerFusionRM.from_pretrained("perfusion-rm/industrial/perfusion_rm/perfusion_rm", clip)
res = generation_table(splits, out, methods=a.methods.split(","), steps=a.steps, lr=a.lr, batch_size=a.batch, n_pairs=a.n_pairs,
                       rm=(rm, proc), dpo_from=a.dpo_from, heldout=a.heldout, train_kw=train_kw)
print(format_generation_table(res["summary"]), flush=True)
for m, h in res["heldout_implicit"].items(): print(m, "held-out implicit accuracy", h)
print("timing (s)", res["timing_s"])
(out / "table2.json").write_text(json.dumps({**{k: res[k] for k in ("summary", "heldout_implicit", "config", "timing_s", "curves")},
                                             "dpo_from": a.dpo_from, "pairs": res["pairs"],
                                             "per_image": {k: {m: v.tolist() for m, v in d.items()} for k, d in res["per_image"].items()}}, indent=1))
order, k = list(res["images"]), 6
fig = gallery([res["images"][m][i] for i in range(k) for m in order], [m for i in range(k) for m in order], ncols=len(order),
              title="same prompt and user per row")
fig.savefig(out / "gallery.png", dpi=100)
