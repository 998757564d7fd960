"""Table 2 analog on the industrial world: train SFT, DPO and PerFusion with its ablations, then evaluate generations.

Usage (from the repository root, after the Table 1 run that trains the PerFusionRM used as a metric):
    python benchmarks/generation_table.py STEPS LR TRAIN_GROUPS EVAL_PAIRS [--methods a,b] [--batch 8] [--dpo-from DIR]
e.g. python benchmarks/generation_table.py 400 1e-4 4000 150
     python benchmarks/generation_table.py 300 1e-4 4000 150 --batch 64 --methods perfusion,pf_wo_pan \\
         --dpo-from perfusion-gen/s400-lr0.0001-n4000/dpo

World data and the PerFusionRM come from `perfusion train-rm --table --regime industrial --groups 20000 --steps 1000
--out perfusion-rm`; results go to perfusion-gen/s{STEPS}-lr{LR}-n{TRAIN_GROUPS}[-b{BATCH}]/ (table2.json, gallery.png).
`--dpo-from` reuses a finished `dpo` run (same 8-group batches, its own step count) as the frozen backbone of the
PerFusion variants instead of training one. Run it alone on the machine: two training processes on two cores slow
each other down by far more than 2x.
"""
import argparse, json, time
from pathlib import Path
import numpy as np
from diffusers import DDPMScheduler
from perfusion.adapter import generate_personalized
from perfusion.data import FeatureVocab
from perfusion.evaluate import eval_pairs, format_generation_table, pmg_prompt, score_generations, selection_history, summarize_generations
from perfusion.foundation import generate, load_judge, load_mini_clip, load_mini_sd
from perfusion.reward import PerFusionRM
from perfusion.train import GenTrainConfig, cache_latents, implicit_accuracy, train_generator
from perfusion.train_rm import world_splits
from perfusion.world import World, gallery

ap = argparse.ArgumentParser()
ap.add_argument("steps", type=int); ap.add_argument("lr", type=float); ap.add_argument("n_train", type=int); ap.add_argument("n_pairs", type=int)
ap.add_argument("--methods", default="dpo,sft,perfusion,pf_wo_pan,pf_wo_gobj,pf_wo_both")
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--dpo-from", default=None, help="folder of a finished dpo run to use as the PerFusion backbone")
ap.add_argument("--heldout", type=int, default=400, help="held-out test groups for the implicit accuracy (0: skip)")
a = ap.parse_args()
methods = a.methods.split(",")
out = Path(f"perfusion-gen/s{a.steps}-lr{a.lr}-n{a.n_train}" + (f"-b{a.batch}" if a.batch != 8 else ""))
t0 = time.time()
splits = world_splits("industrial", 20000, "perfusion-rm", progress=False)
train = splits["train"].select(range(a.n_train))
pipe = load_mini_sd(); pipe.set_progress_bar_config(disable=True)
vocab = FeatureVocab.fit(splits["train"])
data = cache_latents(train, pipe, vocab, Path("perfusion-gen") / f"latents-n{a.n_train}.safetensors", progress=False)
timing = {"data": round(time.time() - t0, 1)}
models, logs = {}, {}
if a.dpo_from:
    log = json.loads((Path(a.dpo_from) / "log.json").read_text())
    cfg = GenTrainConfig(**log["config"])
    models["dpo"], logs["dpo"] = train_generator(pipe, data, a.dpo_from, cfg, vocab=vocab, progress=False)   # finished: loads, trains nothing
for m in methods:
    cfg = GenTrainConfig(method=m, max_steps=a.steps, lr=a.lr, batch_size=a.batch, warmup_steps=min(50, a.steps // 5), log_every=5, save_every=50)
    backbone = models.get("dpo") if m.startswith("p") else None
    models[m], logs[m] = train_generator(pipe, data, out / m, cfg, vocab=vocab, backbone=backbone, progress=False)
    h = logs[m]["history"]
    print(m, "seconds", logs[m]["seconds"], "last", h[-1], "implicit acc (last 10 logs)", [x["implicit_acc"] for x in h[-10:]], flush=True)
    timing[m] = logs[m]["seconds"]
heldout = {}
if a.heldout:
    test_data = cache_latents(splits["test"].select(range(a.heldout)), pipe, vocab, Path("perfusion-gen") / f"latents-test{a.heldout}.safetensors", progress=False)
    sched = DDPMScheduler.from_config(pipe.scheduler.config)
    for m, punet in models.items():
        heldout[m] = implicit_accuracy(punet, test_data, sched, draws=4)
        print(m, "held-out", heldout[m], flush=True)
if a.n_pairs == 0: raise SystemExit(0)
t1 = time.time()
pairs = eval_pairs(splits["test"], n=a.n_pairs, seed=0)
world = World("industrial", seed=0)
prompts, fids = [p["prompt"] for p in pairs], vocab.encode_batch([p["features"] for p in pairs])
hist = selection_history(splits["train"])
kw = dict(seed=123, steps=20, guidance_scale=7.0)
images = {"base": generate(pipe, prompts, **kw),
          "pmg": generate(pipe, [pmg_prompt(p["prompt"], hist.get(p["user_id"], [])) for p in pairs], **kw)}
for m, punet in models.items(): images[m] = generate_personalized(pipe, punet, prompts, fids, **kw)
clip, proc = load_mini_clip()
rm = PerFusionRM.from_pretrained("perfusion-rm/industrial/perfusion_rm/perfusion_rm", clip)
judge = load_judge()
per = {k: score_generations(v, pairs, world, judge, clip=(clip, proc), rm=(rm, proc)) for k, v in images.items()}
order = [k for k in ["base", "sft", "dpo", "pmg", "perfusion", "pf_wo_pan", "pf_wo_gobj", "pf_wo_both"] if k in per]
summ = summarize_generations({k: per[k] for k in order})
timing["evaluation"] = round(time.time() - t1, 1)
print(format_generation_table(summ), flush=True)
res = {"steps": a.steps, "lr": a.lr, "batch": a.batch, "train_groups": a.n_train, "pairs": a.n_pairs, "dpo_from": a.dpo_from,
       "summary": summ, "heldout_implicit": heldout, "timing_s": timing,
       "per_image": {k: {m: v.tolist() for m, v in d.items()} for k, d in per.items()},
       "curves": {k: l["history"] for k, l in logs.items()}}
(out / "table2.json").write_text(json.dumps(res, indent=1))
sel = list(range(6))
ims = [images[k][i] for i in sel for k in order]
fig = gallery(ims, [k for i in sel for k in order], ncols=len(order), title="same prompt and user per row")
fig.savefig(out / "gallery.png", dpi=100)
