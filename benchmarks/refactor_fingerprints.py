"""Fingerprints of what the package computes, to show that a refactor changed no result.

    python benchmarks/refactor_fingerprints.py [--parts world train rm tables pretrain onpolicy cost]

Run it on two checkouts (for example the commit before a change and the change, each first on `sys.path` through
PYTHONPATH) and compare the lines: each is a SHA-256 over one part's outputs, computed on CPU with fixed seeds.

- world: 80 groups of both regimes (ids, prompts, items, labels, utilities) and every candidate's rendered pixels, and
  60 random items rendered at random qualities;
- train: five generator recipes (PerFusion with its levers, DPO, SFT, the SFT anchor with accumulation, an ablation
  with both user paths), 3 steps each: the side network's weights, the logs, the held-out implicit accuracy;
- rm: three PerFusionRM runs (no read; the patch read; the pooled read with phrase shuffling and id dropout): the
  plug-ins' weights, logs, validation curves, the read's record and the test scores; and the general model's scores;
- tables: a tiny Table 1 (two variants on a read) and Table 2 (four methods, the PMG-style prompt, profiles):
  every number of both results, and the generated images' pixels;
- pretrain: the tiny pretraining of all five models: every weight of every shipped folder and the quality record;
- onpolicy: one on-policy round's proposals and their reward-model labels;
- cost: the GPU cost report computed on the meta device.

Timing fields (seconds) and reuse keys (which hold the checkout's paths) are left out; floats in the results are rounded
to 6 digits before hashing.
"""

import argparse
import hashlib
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import torch


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _weights(module) -> bytes:
    return b"".join(p.detach().float().numpy().tobytes() for p in module.parameters())


def _clean(o):
    "Results without timings, models, images and reuse keys (they hold the checkout's paths), floats rounded."
    drop = ("timing_s", "seconds", "models", "vocab", "images", "other_images", "curves", "key")
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items() if k not in drop}
    if isinstance(o, (list, tuple, np.ndarray)):
        return [_clean(v) for v in (o.tolist() if isinstance(o, np.ndarray) else o)]
    if isinstance(o, (float, np.floating)):
        return round(float(o), 6)
    return o


def world() -> str:
    from perfusion.world import World, random_item, render_item

    parts = []
    for regime in ("industrial", "pickapic"):
        w = World(regime, seed=3)
        for i in range(40):
            g = w.group(i)
            parts.append([g.group_id, g.prompt, g.items, g.labels.tolist(), g.utilities.round(10).tolist()])
            parts += [np.asarray(render_item(it, q, seed=s)).tobytes() for it, s, q in zip(g.items, g.seeds, g.qualities)]
    rng = np.random.default_rng(0)
    for i in range(60):
        parts.append(np.asarray(render_item(random_item(rng), rng.uniform(0, 1), size=32, seed=i)).tobytes())
    return _digest(*parts)


def _generator_data():
    from perfusion.data import FeatureVocab, build_world
    from perfusion.foundation import load_mini_sd
    from perfusion.latents import cache_latents

    small, _ = build_world("industrial", n_groups=32, seed=1, progress=False)
    pipe = load_mini_sd()
    pipe.set_progress_bar_config(disable=True)
    vocab = FeatureVocab.fit(small)
    data = cache_latents(small, pipe, vocab, Path(tempfile.mkdtemp()) / "latents.safetensors", progress=False)
    return small, pipe, vocab, data


def train() -> str:
    from diffusers import DDPMScheduler

    from perfusion.gen_config import GenTrainConfig
    from perfusion.train import implicit_accuracy, train_generator

    _, pipe, vocab, data = _generator_data()
    recipes = [
        dict(method="perfusion", user_init=1, user_lr_mult=10, t_min=500),
        dict(method="dpo"),
        dict(method="sft"),
        dict(method="perfusion", sft_weight=1000.0, grad_accum=2),
        dict(method="pf_wo_pan", user_path="map+text"),
    ]
    parts = []
    for kw in recipes:
        cfg = GenTrainConfig(max_steps=3, batch_size=4, warmup_steps=1, lr=1e-3, log_every=1, **kw)
        with tempfile.TemporaryDirectory() as d:
            m, log = train_generator(pipe, data, d, cfg, vocab=vocab, progress=False)
        ia = implicit_accuracy(m, data, DDPMScheduler.from_config(pipe.scheduler.config), draws=1)
        parts += [_weights(m.adapter), [{k: v for k, v in r.items() if k != "seconds"} for r in log["history"]], ia]
    return _digest(*parts)


def rm() -> str:
    from perfusion.data import build_world, split_groups
    from perfusion.foundation import load_mini_clip
    from perfusion.rm_config import RMTrainConfig
    from perfusion.train_rm import score_groups, train_reward_model

    ds, _ = build_world("industrial", n_groups=60, seed=2, progress=False)
    sp = split_groups(ds, by="group", seed=0)
    clip, proc = load_mini_clip()
    parts = []
    for kw in (
        dict(read=False),
        dict(read=True, read_patches=8),
        dict(read=True, read_patches=0, shuffle_phrases=True, id_dropout=0.3),
    ):
        cfg = RMTrainConfig(max_steps=3, batch_size=8, eval_every=2, eval_groups=6, **kw)
        with tempfile.TemporaryDirectory() as d:
            model, log = train_reward_model(clip, proc, sp["train"], d, cfg, eval_ds=sp["validation"], progress=False)
        read = _clean(log.get("read") or {})
        scores, _ = score_groups(model, sp["test"], proc, batch_size=4)
        hist = [{k: v for k, v in r.items() if k != "seconds"} for r in log["history"]]
        parts += [_weights(model.plugins), hist, log["evals"], read, _clean(scores)]
        model.remove_hooks()
    return _digest(*parts, _clean(score_groups(clip, sp["test"], proc, batch_size=4)[0]))


def tables() -> str:
    from perfusion.data import world_splits
    from perfusion.experiments import generation_table, reward_table
    from perfusion.history import user_profiles
    from perfusion.rm_config import RMTrainConfig

    with tempfile.TemporaryDirectory() as d:
        cfg = RMTrainConfig(max_steps=3, batch_size=8, eval_every=2, read=True, read_patches=8)
        t1 = reward_table("industrial", d, 60, cfg, ("duplicated", "text_only"), n_boot=50, progress=False)
        sp = world_splits("industrial", 60, d)
        methods = ("dpo", "perfusion", "pf_wo_both", "sft")
        kw = dict(steps=3, batch_size=4, n_pairs=6, sample_steps=2, n_boot=50, heldout=4, progress=False)
        t2 = generation_table(sp, d + "/gen", methods=methods, profiles=user_profiles(sp["train"]), **kw)
    pixels = b"".join(np.asarray(im).tobytes() for k in sorted(t2["images"]) for im in t2["images"][k])
    return _digest(_clean(t1), _clean(t2), pixels)


def pretrain() -> str:
    from safetensors.torch import load_file

    from perfusion.foundation import FoundationConfig
    from perfusion.pretrain import pretrain as run

    with tempfile.TemporaryDirectory() as d:
        res = run(Path(d) / "models", FoundationConfig.tiny(), progress=False)
        parts = []
        for f in sorted((Path(d) / "models").rglob("*.safetensors")):
            if "checkpoints" not in f.parts:
                sd = load_file(str(f))
                parts += [k.encode() + sd[k].float().numpy().tobytes() for k in sorted(sd)]
    record = re.sub(r'"seconds[^"]*": [0-9.e-]+', "", json.dumps({k: v for k, v in res.items() if k != "timing_s"}))
    return _digest(*parts, record)


def onpolicy() -> str:
    from perfusion.foundation import load_mini_clip
    from perfusion.gen_config import GenTrainConfig
    from perfusion.onpolicy import OnPolicyConfig, propose_and_select
    from perfusion.reward import PerFusionRM
    from perfusion.train import build_generator_model

    small, pipe, vocab, _ = _generator_data()
    clip, proc = load_mini_clip()
    torch.manual_seed(0)
    model = PerFusionRM.from_backbone(clip, vocab)
    with torch.no_grad():  # a reward model with an opinion
        for p in model.plugins.parameters():
            p.add_(0.05 * torch.randn_like(p))
    reqs = [{"prompt": r["prompt"], "features": dict(r["features"])} for r in small.select(range(3))]
    ocfg = OnPolicyConfig(n_candidates=3, k_selected=1, sample_steps=2)
    g = propose_and_select(pipe, build_generator_model(pipe, vocab, GenTrainConfig()), model, proc, reqs, vocab, ocfg, 3)
    names = ("latents", "prompt_embeds", "prompt_index", "feature_ids", "labels", "mask")
    return _digest(*[getattr(g, k).float().numpy().tobytes() for k in names], g.group_ids)


def cost() -> str:
    from perfusion.gpu_cost import cost_report, format_cost_report

    r = cost_report()
    return _digest(r, format_cost_report(r))


PARTS = {"world": world, "train": train, "rm": rm, "tables": tables, "pretrain": pretrain, "onpolicy": onpolicy, "cost": cost}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="*", default=list(PARTS), choices=list(PARTS))
    torch.set_num_threads(2)
    for name in ap.parse_args().parts:
        print(f"{name:9s} {PARTS[name]()}", flush=True)
