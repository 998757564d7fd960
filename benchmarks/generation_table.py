"""Table 2 analog on the industrial world: train SFT, DPO and PerFusion with its ablations, then evaluate generations.

Usage (from the repository root, after the Table 1 run that trains the PerFusionRM used as a metric):
    python benchmarks/generation_table.py STEPS LR TRAIN_GROUPS EVAL_PAIRS [METHODS]
e.g. python benchmarks/generation_table.py 400 1e-4 4000 150

World data and the PerFusionRM come from `perfusion train-rm --table --regime industrial --groups 20000 --steps 1000
--out perfusion-rm`; results go to perfusion-gen/s{STEPS}-lr{LR}-n{TRAIN_GROUPS}/ (table2.json, gallery.png).
Run it alone on the machine: two training processes on two cores slow each other down by far more than 2x.
"""
import json, sys, time
from pathlib import Path
import torch
from perfusion.adapter import generate_personalized
from perfusion.data import FeatureVocab
from perfusion.evaluate import eval_pairs, format_generation_table, pmg_prompt, score_generations, selection_history, summarize_generations
from perfusion.foundation import generate, load_judge, load_mini_clip, load_mini_sd
from perfusion.reward import PerFusionRM
from perfusion.train import GenTrainConfig, cache_latents, train_generator
from perfusion.train_rm import world_splits
from perfusion.world import World

steps, lr, n_train, n_pairs = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
methods = sys.argv[5].split(",") if len(sys.argv) > 5 else ["dpo", "sft", "perfusion", "pf_wo_pan", "pf_wo_gobj", "pf_wo_both"]
out = Path(f"perfusion-gen/s{steps}-lr{lr}-n{n_train}")
t0 = time.time()
splits = world_splits("industrial", 20000, "perfusion-rm", progress=False)
train = splits["train"].select(range(n_train))
pipe = load_mini_sd(); pipe.set_progress_bar_config(disable=True)
vocab = FeatureVocab.fit(splits["train"])
data = cache_latents(train, pipe, vocab, out.parent / f"latents-n{n_train}.safetensors", progress=False)
timing = {"data": round(time.time() - t0, 1)}
models, logs = {}, {}
for m in methods:
    cfg = GenTrainConfig(method=m, max_steps=steps, lr=lr, batch_size=8, warmup_steps=min(50, steps // 5), log_every=5, save_every=50)
    backbone = models.get("dpo") if m.startswith("p") else None
    models[m], logs[m] = train_generator(pipe, data, out / m, cfg, vocab=vocab, backbone=backbone, progress=False)
    h = logs[m]["history"]
    print(m, "seconds", logs[m]["seconds"], "last", h[-1], "implicit acc (last 10 logs)", [x["implicit_acc"] for x in h[-10:]], flush=True)
    timing[m] = logs[m]["seconds"]
if n_pairs == 0: sys.exit(0)
t1 = time.time()
pairs = eval_pairs(splits["test"], n=n_pairs, seed=0)
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
res = {"steps": steps, "lr": lr, "train_groups": n_train, "pairs": n_pairs, "summary": summ, "timing_s": timing,
       "per_image": {k: {m: v.tolist() for m, v in d.items()} for k, d in per.items()},
       "curves": {k: l["history"] for k, l in logs.items()}}
(out / "table2.json").write_text(json.dumps(res, indent=1))
import numpy as np
from perfusion.world import gallery
sel = list(range(6))
ims = [images[k][i] for i in sel for k in order]
fig = gallery(ims, [k for i in sel for k in order], ncols=len(order), title="same prompt and user per row")
fig.savefig(out / "gallery.png", dpi=100)
