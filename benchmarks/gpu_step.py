"""SD 1.5 at 512 px, bf16: steps/s and peak GPU memory of a PerFusion group step (one group of N=5, K=2 positives)
against a pairwise Diffusion-DPO step (one pair), with and without gradient checkpointing, on one card in one run.

Usage: python benchmarks/gpu_step.py [--steps 10] [--model stable-diffusion-v1-5/stable-diffusion-v1-5] [--json out.json]
       python benchmarks/gpu_step.py --tiny     # no GPU needed: the same code on a CPU with the tiny SD 1.5-shaped UNet

Needs a CUDA GPU unless --tiny. By default the UNet is SD 1.5's architecture with random weights: speed and memory do
not depend on the weights, and nothing is downloaded; --model loads real weights instead. The step is what
train_generator runs with mixed_precision="bf16": float32 weights under bf16 autocast, PyTorch SDPA attention, AdamW on
the side network only, the frozen UNet as the reference. Group and pair steps alternate within each repetition; peak
memory is measured in a separate step after resetting the counters.
"""
import argparse, json, platform, statistics, sys, time
from contextlib import nullcontext
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from group_objective import pairs_of, step  # noqa: E402  (the same step and pair expansion as the CPU benchmark)


def build(tiny: bool, model: str | None, device: str):
    "The personalized side network on a frozen SD 1.5-shaped UNet, its optimizer and the noise scheduler."
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0
    from perfusion.data import FeatureVocab
    from perfusion.foundation import make_schedulers
    from perfusion.gpu import load_sd, sd15_unet_config
    from perfusion.train import GenTrainConfig, build_generator_model
    torch.manual_seed(0)
    unet = load_sd(model).unet if model else UNet2DConditionModel(**sd15_unet_config(tiny=tiny))
    unet.set_attn_processor(AttnProcessor2_0())
    vocab = FeatureVocab({"user_id": [str(i) for i in range(3094)]})          # Pick-a-Pic's number of users
    punet = build_generator_model(None, vocab, GenTrainConfig(method="perfusion"), backbone=unet).to(device)
    opt = torch.optim.AdamW([p for p in punet.adapter.parameters() if p.requires_grad], lr=1e-6, weight_decay=1e-2)
    return punet, opt, make_schedulers()[0]


def group_batch(punet, n: int = 5, k: int = 2, device: str = "cpu") -> dict:
    "One group of n cached latents with k positives and one prompt embedding (random values of the real shapes)."
    c, g = punet.config, torch.Generator().manual_seed(0)
    return {"latents": torch.randn(1, n, c.in_channels, c.sample_size, c.sample_size, generator=g).to(device),
            "encoder_hidden_states": torch.randn(1, 77, c.cross_attention_dim, generator=g).to(device),
            "feature_ids": torch.tensor([[1]], device=device), "labels": torch.tensor([[1.0] * k + [0.0] * (n - k)], device=device),
            "mask": torch.ones(1, n, dtype=torch.bool, device=device)}


def set_checkpointing(punet, on: bool):
    for m in (punet.unet, punet.adapter.controlnet): m.enable_gradient_checkpointing() if on else m.disable_gradient_checkpointing()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10); ap.add_argument("--model"); ap.add_argument("--json")
    ap.add_argument("--tiny", action="store_true", help="run on the CPU with the tiny SD 1.5-shaped UNet (checks the script, measures nothing useful)")
    a = ap.parse_args()
    if not a.tiny and not torch.cuda.is_available():
        sys.exit("gpu_step.py: no CUDA GPU here; this benchmark measures SD 1.5 on a GPU. Run it with --tiny to check it on a CPU.")
    device = "cpu" if a.tiny else "cuda"
    steps = min(a.steps, 2) if a.tiny else a.steps
    punet, opt, sched = build(a.tiny, a.model, device)
    punet.train()
    group = group_batch(punet, device=device)
    pair = {k: v[:1] for k, v in pairs_of({k: v.cpu() for k, v in group.items()}).items()}
    pair = {k: v.to(device) for k, v in pair.items()}
    batches = {"group objective, 1 group of N=5": (group, "group"), "pairwise Diffusion-DPO, 1 pair": (pair, "pairwise")}
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    amp = (lambda: torch.autocast(device, dtype=torch.bfloat16))
    res = {}
    for ckpt in (False, True):
        set_checkpointing(punet, ckpt)
        label = "with checkpointing" if ckpt else "without checkpointing"
        times, peak = {k: [] for k in batches}, {}
        try:
            for name, (b, obj) in batches.items():                                   # warm-up and peak memory
                with amp(): step(punet, opt, b, sched, obj, 0)
                if device == "cuda":
                    sync(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
                with amp(): step(punet, opt, b, sched, obj, 1)
                sync()
                peak[name] = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
            for i in range(steps):
                for name, (b, obj) in batches.items():
                    sync(); t = time.perf_counter()
                    with amp(): step(punet, opt, b, sched, obj, i + 2)
                    sync(); times[name].append(time.perf_counter() - t)
            res[label] = {name: {"steps_per_s": 1 / statistics.median(v), "peak_gib": peak[name]} for name, v in times.items()}
        except torch.cuda.OutOfMemoryError as e:
            res[label] = {"error": f"out of memory: {e}".splitlines()[0]}
            opt.zero_grad(set_to_none=True); torch.cuda.empty_cache()
    card = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.machine()}, tiny model)"
    print(f"{card}; torch {torch.__version__}; median of {steps} steps; " + ("64 px, tiny UNet" if a.tiny else "512 px, SD 1.5 UNet"))
    for label, r in res.items():
        if "error" in r: print(f"{label}: {r['error']}"); continue
        for name, m in r.items():
            mem = f", peak {m['peak_gib']:.1f} GiB" if m["peak_gib"] is not None else ""
            print(f"{label:22s} {name:34s} {m['steps_per_s']:7.2f} steps/s{mem}")
    if a.json:
        Path(a.json).write_text(json.dumps({"device": card, "torch": torch.__version__, "steps": steps, "tiny": a.tiny, "model": a.model or "random init",
                                            "results": res}, indent=1))


if __name__ == "__main__":
    main()
