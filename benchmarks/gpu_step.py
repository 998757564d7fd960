"""SD 1.5 at 512 px, bf16: PerFusion's group objective vs pairwise Diffusion-DPO on the expanded pairs, in groups/s, and
the peak GPU memory of each step with and without gradient checkpointing, on one card in one run.

Usage: python benchmarks/gpu_step.py [--steps 10] [--groups 1] [--model stable-diffusion-v1-5/stable-diffusion-v1-5] [--json out.json]
       python benchmarks/gpu_step.py --tiny     # no GPU needed: the same code on a CPU with the tiny SD 1.5-shaped UNet

Needs a CUDA GPU unless --tiny. By default the UNet is SD 1.5's architecture with random weights (built on the GPU):
speed and memory do not depend on the weights, and nothing is downloaded; --model loads real weights instead. The step
is what train_generator runs with mixed_precision="bf16": float32 weights under bf16 autocast, PyTorch SDPA attention,
AdamW on the side network only, the frozen UNet as the reference. Three batches, one group of N=5 with K=2 positives:
  group  - the group objective on the group's 5 candidates (one step = one group);
  pairs  - pairwise Diffusion-DPO on the group's |P|x|N| = 6 expanded (winner, loser) pairs, 12 candidates (one step = one group);
  1 pair - pairwise Diffusion-DPO on one pair (the "memory, 1 pair" column of BENCHMARKS' estimates).
The three alternate within each repetition (median of --steps); peak memory is measured in a separate step of each
after resetting the counters. --groups G puts G such groups in each group / pairs step (groups/s = G x steps/s): how
the step scales with the batch.
"""
import argparse, json, statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gpu_env import card, ensure_datasets, peak, reset_peak, sync  # noqa: E402
from group_objective import pairs_of, step  # noqa: E402  (the same step and pair expansion as the CPU benchmark)


def build(tiny: bool, model: str | None, device: str):
    "The personalized side network on a frozen SD 1.5-shaped UNet, its optimizer and the noise scheduler."
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0
    from perfusion.data import FeatureVocab
    from perfusion.foundation import make_schedulers
    from perfusion.gpu import load_sd
    from perfusion.gpu_cost import sd15_unet_config
    from perfusion.train import GenTrainConfig, build_generator_model
    torch.manual_seed(0)
    vocab = FeatureVocab({"user_id": [str(i) for i in range(3094)]})          # Pick-a-Pic's number of users
    if model: unet = load_sd(model).unet.to(device)
    else:
        with torch.device(device): unet = UNet2DConditionModel(**sd15_unet_config(tiny=tiny))   # random init on the GPU: seconds, not minutes
    unet.set_attn_processor(AttnProcessor2_0())
    with torch.device(device): punet = build_generator_model(None, vocab, GenTrainConfig(method="perfusion"), backbone=unet)
    punet = punet.to(device)
    opt = torch.optim.AdamW([p for p in punet.adapter.parameters() if p.requires_grad], lr=1e-6, weight_decay=1e-2)
    return punet, opt, make_schedulers()[0]


def group_batch(punet, n: int = 5, k: int = 2, device: str = "cpu", groups: int = 1) -> dict:
    "`groups` groups of n cached latents with k positives and one prompt embedding each (random values of the real shapes)."
    c, g = punet.config, torch.Generator().manual_seed(0)
    return {"latents": torch.randn(groups, n, c.in_channels, c.sample_size, c.sample_size, generator=g).to(device),
            "encoder_hidden_states": torch.randn(groups, 77, c.cross_attention_dim, generator=g).to(device),
            "feature_ids": torch.arange(1, groups + 1, device=device)[:, None],
            "labels": torch.tensor([[1.0] * k + [0.0] * (n - k)] * groups, device=device),
            "mask": torch.ones(groups, n, dtype=torch.bool, device=device)}


def set_checkpointing(punet, on: bool):
    for m in (punet.unet, punet.adapter.controlnet): m.enable_gradient_checkpointing() if on else m.disable_gradient_checkpointing()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10); ap.add_argument("--model"); ap.add_argument("--json")
    ap.add_argument("--groups", type=int, default=1, help="groups per group / pairs step (default 1: one group of N=5)")
    ap.add_argument("--tiny", action="store_true", help="run on the CPU with the tiny SD 1.5-shaped UNet (checks the script, measures nothing useful)")
    a = ap.parse_args()
    if not a.tiny and not torch.cuda.is_available():
        sys.exit("gpu_step.py: no CUDA GPU here; this benchmark measures SD 1.5 on a GPU. Run it with --tiny to check it on a CPU.")
    ds_note = ensure_datasets()
    device = "cpu" if a.tiny else "cuda"
    steps = min(a.steps, 2) if a.tiny else a.steps
    t_build = time.perf_counter()
    punet, opt, sched = build(a.tiny, a.model, device)
    t_build = time.perf_counter() - t_build
    punet.train()
    G = a.groups
    group = group_batch(punet, device=device, groups=G)
    pairs = {k: v.to(device) for k, v in pairs_of({k: v.cpu() for k, v in group.items()}).items()}
    pair = {k: v[:1] for k, v in pairs.items()}
    batches = {"group": (group, "group"), "pairs": (pairs, "pairwise"), "1 pair": (pair, "pairwise")}
    describe = {"group": f"group objective, {G} group(s) of N=5 ({5 * G} candidates)",
                "pairs": f"pairwise DPO, the groups' {len(pairs['labels'])} expanded pairs ({2 * len(pairs['labels'])} candidates)",
                "1 pair": "pairwise DPO, 1 pair (2 candidates)"}
    amp = (lambda: torch.autocast(device, dtype=torch.bfloat16))
    res, seed = {}, 0
    for ckpt in (False, True):
        set_checkpointing(punet, ckpt)
        label = "with checkpointing" if ckpt else "without checkpointing"
        times, mem = {k: [] for k in batches}, {}
        try:
            for name, (b, obj) in batches.items():                                   # warm-up, then peak memory of one step
                with amp(): step(punet, opt, b, sched, obj, seed); seed += 1
                reset_peak(device)
                with amp(): step(punet, opt, b, sched, obj, seed); seed += 1
                mem[name] = peak(device)
            for i in range(steps):
                for name, (b, obj) in batches.items():
                    sync(device); t = time.perf_counter()
                    with amp(): step(punet, opt, b, sched, obj, seed); seed += 1
                    sync(device); times[name].append(time.perf_counter() - t)
            r = {name: {"what": describe[name], "steps_per_s": round(1 / statistics.median(v), 3), "median_s": round(statistics.median(v), 5),
                        "all_s": [round(x, 5) for x in v], "peak": mem[name]} for name, v in times.items()}
            for name in ("group", "pairs"): r[name]["groups_per_s"] = round(G * r[name]["steps_per_s"], 3)   # one step = G groups' worth
            r["group_vs_pairs_groups_per_s_ratio"] = round(r["group"]["groups_per_s"] / r["pairs"]["groups_per_s"], 3)
            res[label] = r
        except torch.cuda.OutOfMemoryError as e:
            res[label] = {"error": f"out of memory: {e}".splitlines()[0]}
            opt.zero_grad(set_to_none=True); torch.cuda.empty_cache()
    name = card(device, a.tiny)
    print(f"{name}; torch {torch.__version__}; {ds_note}; build {t_build:.1f} s; median of {steps} steps; "
          + ("64 px, tiny UNet" if a.tiny else "512 px (64x64x4 latents), SD 1.5 UNet, bf16 autocast, SDPA"))
    for label, r in res.items():
        if "error" in r: print(f"{label}: {r['error']}"); continue
        for k in batches:
            m = r[k]; mem = f", peak {m['peak']['allocated_gb']:.1f} GB ({m['peak']['allocated_gib']:.1f} GiB) allocated" if m["peak"] else ""
            gps = f" = {m['groups_per_s']:.2f} groups/s" if "groups_per_s" in m else ""
            print(f"[{name}] {label:22s} {m['what']:58s} {m['steps_per_s']:7.2f} steps/s{gps}{mem}")
        print(f"[{name}] {label:22s} group objective / pairwise on expanded pairs: {r['group_vs_pairs_groups_per_s_ratio']:.2f}x groups/s")
    if a.json:
        Path(a.json).write_text(json.dumps({"device": name, "torch": torch.__version__, "datasets": ds_note, "steps": steps, "groups": G, "tiny": a.tiny,
                                            "model": a.model or "random init", "build_s": round(t_build, 1), "results": res}, indent=1))


if __name__ == "__main__":
    main()
