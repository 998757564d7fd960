"""The GPU recipe's two training paths at full size with random weights, on one card: (generator) PerFusion's adaptive
network on an SD 1.5-size UNet trained through the real `perfusion.train.train_generator`, with an exact-resume check;
(rm) PerFusionRM on a ViT-H-14-size CLIPModel, training and inference throughput side by side with the plain backbone.

Usage: python benchmarks/gpu_recipe.py --part generator [--steps 30] [--sdpa default|math] [--out /tmp/gpu_recipe] [--json generator.json]
       python benchmarks/gpu_recipe.py --part rm [--reps 10] [--json rm.json]
       python benchmarks/gpu_recipe.py --tiny [--part all]     # no GPU needed: the same code on a CPU with tiny models of the same shapes

Needs a CUDA GPU unless --tiny. Nothing is downloaded: the UNet (perfusion.gpu.sd15_unet_config) and the CLIPModel
(perfusion.gpu.vit_h_clip_config) have random weights, which change neither speed nor memory.

generator: a synthetic LatentGroups of the full-size shapes (8 groups of N=5 latents 4x64x64 with K=2 positives, 77x768
text embeddings, 3094 users) and a pipe-like object with the UNet (SDPA attention) and SD 1.5's noise schedule.
GenTrainConfig.gpu(method="perfusion") (bf16, gradient checkpointing) with batch_size=2, grad_accum=2 (one group per
micro-batch, the memory estimate's case), lr 1e-5 without batch scaling and 5 warmup steps (so that the weights move
measurably in a few dozen steps), log_every=1. Run A trains --steps steps uninterrupted; run B trains to --steps/2
(checkpoint), then a new train_generator call resumes it to --steps. Reported: every loss finite; run B's losses
before the stop against run A's (the floor: same code, no resume) and after it (the resume); the final adapters'
largest weight difference; run A's peak memory, wall time and steps/s. Deterministic kernels are requested
(torch.use_deterministic_algorithms(True, warn_only=True)); ops without one still run, and their warnings are
reported. The fused SDPA attention backward kernels are not deterministic on CUDA, so run A and run B differ from the
first step on; --sdpa math runs the training on PyTorch's math attention (deterministic, slower, more memory) for a
bit-exact comparison.

rm: PerFusionRM (duplicated plug-ins, 3094 users, non-zero AdaNets) on the frozen CLIPModel. Inference: 32 groups of 2
images at 224 px scored by the plain backbone (logit_scale.exp() * cosine) and by PerFusionRM, alternating, under bf16
autocast and in float32. Training: micro-batches of 8 groups of 2 images (GPU preset), reward_group_loss, gradient
clipping and AdamW as train_reward_model runs them, (a) PerFusionRM: plug-ins trained, backbone frozen; (b) the plain
backbone fine-tuned whole (PickScore-style), alternating; peak memory of each.
"""
import argparse, json, math, shutil, statistics, sys, tempfile, time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gpu_env import card, ensure_datasets, peak, reset_peak, sync  # noqa: E402

USERS = 3094                                                     # Pick-a-Pic's users


def _vocab():
    from perfusion.data import FeatureVocab
    return FeatureVocab({"user_id": [str(i) for i in range(USERS)]})


# --------------------------------------------------------------------------------------------------- generator
def synthetic_latents(c, groups: int = 8, n: int = 5, k: int = 2, text_len: int = 77, seed: int = 0):
    "A LatentGroups of the UNet's latent shape: `groups` groups of n candidates, k positives each, one prompt per group."
    from perfusion.latents import LatentGroups
    g = torch.Generator().manual_seed(seed)
    return LatentGroups(latents=torch.randn(groups, n, c.in_channels, c.sample_size, c.sample_size, generator=g),
                        prompt_embeds=torch.randn(groups, text_len, c.cross_attention_dim, generator=g),
                        prompt_index=torch.arange(groups), feature_ids=torch.randint(1, USERS + 1, (groups, 1), generator=g),
                        labels=torch.tensor([[1.0] * k + [0.0] * (n - k)] * groups), mask=torch.ones(groups, n, dtype=torch.bool),
                        group_ids=[f"g{i}" for i in range(groups)])


def generator_part(tiny: bool, device: str, steps: int, out: Path, sdpa: str = "default") -> dict:
    import warnings
    from contextlib import ExitStack
    from torch.nn.attention import SDPBackend, sdpa_kernel
    with ExitStack() as st, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if sdpa == "math": st.enter_context(sdpa_kernel(SDPBackend.MATH))
        r = _generator_runs(tiny, device, steps, out)
    r["sdpa_backend"] = sdpa
    r["warnings"] = sorted({str(w.message).splitlines()[0][:200] for w in caught})
    return r


def _generator_runs(tiny: bool, device: str, steps: int, out: Path) -> dict:
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0
    from perfusion.gpu_cost import sd15_unet_config
    from perfusion.train import GenTrainConfig, train_generator
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(0)
    with torch.device(device): unet = UNet2DConditionModel(**sd15_unet_config(tiny=tiny))
    unet.set_attn_processor(AttnProcessor2_0())
    sched = DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)  # SD 1.5's
    pipe = SimpleNamespace(unet=unet, scheduler=sched)            # all train_generator reads from a pipeline
    vocab, data = _vocab(), synthetic_latents(unet.config)
    cfg = GenTrainConfig.gpu(method="perfusion", batch_size=2, grad_accum=2, lr=1e-5, scale_lr=False, warmup_steps=5,
                             max_steps=steps, log_every=1, save_every=10**6)
    half = steps // 2
    for d in ("a", "b"): shutil.rmtree(out / d, ignore_errors=True)     # a checkpoint left by an earlier run would be resumed
    state = lambda m: {k: v.detach().float().cpu().clone() for k, v in m.adapter.state_dict().items()}

    reset_peak(device); t = time.perf_counter()
    a, log_a = train_generator(pipe, data, out / "a", cfg, vocab=vocab, progress=False)
    wall_a, mem_a = time.perf_counter() - t, peak(device)
    procs = sorted({type(p).__name__ for m in (a.unet, a.adapter.controlnet) for p in m.attn_processors.values()})
    ckpt_on = [bool(getattr(m, "is_gradient_checkpointing", False)) for m in (a.unet, a.adapter.controlnet)]
    w_a = state(a); del a; torch.cuda.empty_cache() if device == "cuda" else None
    shutil.rmtree(out / "a", ignore_errors=True)                 # checkpoint + adapter of run A: only its weights (above) are needed

    t = time.perf_counter()
    b1, log_b1 = train_generator(pipe, data, out / "b", cfg, vocab=vocab, progress=False, stop_after=half)
    wall_b1 = time.perf_counter() - t
    ckpt_file = out / "b" / "checkpoint.safetensors"
    ckpt_gb = ckpt_file.stat().st_size / 1e9
    del b1; torch.cuda.empty_cache() if device == "cuda" else None
    t = time.perf_counter()
    b2, log_b2 = train_generator(pipe, data, out / "b", cfg, vocab=vocab, progress=False)
    wall_b2 = time.perf_counter() - t
    w_b = state(b2); del b2

    keys = ("loss", "model_err", "ref_err", "grad_norm")
    ha, hb = {r["step"]: r for r in log_a["history"]}, {r["step"]: r for r in log_b2["history"]}
    def max_diff(rng):
        return {k: max((abs(ha[s][k] - hb[s][k]) for s in rng), default=None) for k in keys}
    wdiff = max(float((w_a[k] - w_b[k]).abs().max()) for k in w_a)
    moved = max(float(w_a[k].abs().max()) for k in w_a if "zero_conv" in k or "controlnet_down_blocks" in k or "controlnet_mid_block" in k)
    losses = [r["loss"] for r in log_a["history"]] + [r["loss"] for r in log_b2["history"]]
    return {"config": {k: getattr(cfg, k) for k in ("method", "batch_size", "grad_accum", "lr", "scale_lr", "warmup_steps", "max_steps", "beta",
                                                    "mixed_precision", "gradient_checkpointing")},
            "groups": len(data), "latent_shape": list(data.latents.shape), "attention_processors": procs, "gradient_checkpointing_on": ckpt_on,
            "all_losses_finite": all(math.isfinite(x) for x in losses), "loss_a": [r["loss"] for r in log_a["history"]],
            "loss_b": [r["loss"] for r in log_b2["history"]], "stop_after": half,
            "history_steps_a": len(log_a["history"]), "history_steps_b": len(log_b2["history"]),
            "max_abs_diff_before_stop": max_diff(range(half)), "max_abs_diff_after_resume": max_diff(range(half, steps)),
            "identical_history": all(ha[s][k] == hb[s][k] for s in range(steps) for k in keys),
            "final_adapter_max_abs_weight_diff": wdiff, "largest_zero_init_weight_after_training": moved,
            "checkpoint_gb": round(ckpt_gb, 2),
            "run_a": {"wall_s": round(wall_a, 1), "log_seconds": log_a["seconds"], "steps_per_s_incl_save": round(steps / log_a["seconds"], 2),
                      "peak": mem_a},
            "run_b": {"first_wall_s": round(wall_b1, 1), "resume_wall_s": round(wall_b2, 1)}}


# --------------------------------------------------------------------------------------------------- PerFusionRM
def rm_part(tiny: bool, device: str, reps: int) -> dict:
    from transformers import CLIPModel
    from perfusion.gpu_cost import vit_h_clip_config
    from perfusion.losses import reward_group_loss
    from perfusion.reward import PerFusionRM
    from perfusion.foundation import clip_scores

    def _plain_scores(clip, b):
        return clip_scores(clip, b["input_ids"], b["pixel_values"].flatten(0, 1), group_size=b["pixel_values"].shape[1],
                           attention_mask=b["attention_mask"])
    torch.manual_seed(0)
    with torch.device(device): clip = CLIPModel(vit_h_clip_config(tiny=tiny)).eval()
    rm = PerFusionRM.from_backbone(clip, _vocab())
    rm.plugins.to(device)
    for p in rm.plugins.parameters(): torch.nn.init.normal_(p, std=0.02)            # trained-like, non-zero plug-ins
    rm.eval()
    vc, tc = clip.config.vision_config, clip.config.text_config
    n_params = {"backbone": sum(p.numel() for p in clip.parameters()), "plugins": sum(p.numel() for p in rm.plugins.parameters())}
    g = torch.Generator().manual_seed(0)
    def batch(groups, n=2):
        return {"input_ids": torch.randint(0, tc.vocab_size - 2, (groups, tc.max_position_embeddings), generator=g).to(device), "attention_mask": None,
                "pixel_values": torch.randn(groups, n, 3, vc.image_size, vc.image_size, generator=g).to(device),
                "feature_ids": torch.randint(1, USERS + 1, (groups, 1), generator=g).to(device),
                "labels": torch.tensor([[1.0, 0.0]] * groups, device=device), "mask": torch.ones(groups, n, dtype=torch.bool, device=device)}
    amp = lambda on: torch.autocast(device, dtype=torch.bfloat16) if on else torch.autocast(device, enabled=False)

    def timed(runs: dict, reps: int, ctx):
        times = {k: [] for k in runs}
        with ctx():
            for f in runs.values(): f(); f()                                    # warm-up
            for _ in range(reps):
                for k, f in runs.items():
                    sync(device); t = time.perf_counter(); f(); sync(device); times[k].append(time.perf_counter() - t)
        return {k: statistics.median(v) for k, v in times.items()}

    # inference, side by side
    gi = 4 if tiny else 32
    bi = batch(gi)
    infer = {}
    for prec, on in (("bf16 autocast", True), ("float32", False)):
        runs = {"plain": lambda: _plain_scores(clip, bi), "perfusion_rm": lambda: rm(bi["input_ids"], bi["pixel_values"], bi["feature_ids"])}
        def ctx(on=on):
            from contextlib import ExitStack
            s = ExitStack(); s.enter_context(torch.inference_mode()); s.enter_context(amp(on)); return s
        med = timed(runs, reps, ctx)
        ips = {k: round(gi * 2 / v, 1) for k, v in med.items()}
        infer[prec] = {"images_per_s": ips, "groups_per_s": {k: round(gi / v, 1) for k, v in med.items()},
                       "ratio_perfusion_rm_over_plain": round(ips["perfusion_rm"] / ips["plain"], 3)}

    # training, side by side
    gt = 2 if tiny else 8
    bt = batch(gt)
    opt_rm = torch.optim.AdamW(rm.plugins.parameters(), lr=1e-3, weight_decay=1e-2)
    def rm_step():
        clip.requires_grad_(False); rm.train()
        with amp(True):
            loss = reward_group_loss(rm(bt["input_ids"], bt["pixel_values"], bt["feature_ids"]).float(), bt["labels"], bt["mask"])
        loss.backward(); torch.nn.utils.clip_grad_norm_(list(rm.plugins.parameters()), 1.0)
        opt_rm.step(); opt_rm.zero_grad(set_to_none=True)
        return float(loss.detach())
    rm_step(); reset_peak(device); loss_rm = rm_step(); mem_rm = peak(device)          # before the fine-tune's optimizer exists
    opt_ft = torch.optim.AdamW(clip.parameters(), lr=1e-6, weight_decay=1e-2)
    def ft_step():
        clip.requires_grad_(True)
        with amp(True): loss = reward_group_loss(_plain_scores(clip, bt).float(), bt["labels"], bt["mask"])
        loss.backward(); torch.nn.utils.clip_grad_norm_(list(clip.parameters()), 1.0)
        opt_ft.step(); opt_ft.zero_grad(set_to_none=True); clip.requires_grad_(False)
        return float(loss.detach())
    ft_step(); reset_peak(device); loss_ft = ft_step(); mem_ft = peak(device)
    from contextlib import nullcontext
    med = timed({"perfusion_rm (plug-ins trained)": rm_step, "plain backbone fine-tuned": ft_step}, reps, nullcontext)
    gps = {k: round(gt / v, 2) for k, v in med.items()}
    train = {"groups_per_micro_batch": gt, "images_per_group": 2, "groups_per_s": gps,
             "ratio_perfusion_rm_over_plain_finetune": round(gps["perfusion_rm (plug-ins trained)"] / gps["plain backbone fine-tuned"], 3),
             "peak": {"perfusion_rm (plug-ins trained)": mem_rm, "plain backbone fine-tuned": mem_ft},
             "losses_finite": bool(math.isfinite(loss_rm) and math.isfinite(loss_ft))}
    return {"params": n_params, "attn_implementation": getattr(clip.config, "_attn_implementation", None),
            "image_size": vc.image_size, "inference": {"groups": gi, "images_per_group": 2, **infer}, "training": train, "reps": reps}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["generator", "rm", "all"], default="all")
    ap.add_argument("--steps", type=int, default=30); ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--sdpa", choices=["default", "math"], default="default", help="generator: attention backend (math = deterministic)")
    ap.add_argument("--out", help="where the generator runs write checkpoints (default: a temporary folder, removed)")
    ap.add_argument("--json")
    ap.add_argument("--tiny", action="store_true", help="run on the CPU with tiny models of the same shapes (checks the script, measures nothing useful)")
    a = ap.parse_args()
    if not a.tiny and not torch.cuda.is_available():
        sys.exit("gpu_recipe.py: no CUDA GPU here. Run it with --tiny to check it on a CPU.")
    ds_note = ensure_datasets()
    device = "cpu" if a.tiny else "cuda"
    steps, reps = (min(a.steps, 4), min(a.reps, 2)) if a.tiny else (a.steps, a.reps)
    name = card(device, a.tiny)
    res = {"device": name, "torch": torch.__version__, "datasets": ds_note, "tiny": a.tiny}
    try:
        import diffusers, transformers, accelerate
        res["versions"] = {"diffusers": diffusers.__version__, "transformers": transformers.__version__, "accelerate": accelerate.__version__}
    except Exception: pass
    print(f"{name}; torch {torch.__version__}; {res.get('versions')}; {ds_note}", flush=True)
    if a.part in ("rm", "all"):
        t = time.perf_counter(); r = res["rm"] = rm_part(a.tiny, device, reps); r["wall_s"] = round(time.perf_counter() - t, 1)
        for prec, v in r["inference"].items():
            if isinstance(v, dict):
                print(f"[{name}] RM inference, {prec}, {r['inference']['groups']} groups x 2 at {r['image_size']} px: plain {v['images_per_s']['plain']} img/s, "
                      f"PerFusionRM {v['images_per_s']['perfusion_rm']} img/s, ratio {v['ratio_perfusion_rm_over_plain']:.3f}")
        tr = r["training"]
        print(f"[{name}] RM training, bf16, micro-batch {tr['groups_per_micro_batch']} groups x 2: {tr['groups_per_s']} groups/s, "
              f"ratio {tr['ratio_perfusion_rm_over_plain_finetune']:.3f}; peak {tr['peak']}; losses finite {tr['losses_finite']}", flush=True)
    if a.part in ("generator", "all"):
        tmp = None if a.out else tempfile.TemporaryDirectory(prefix="gpu_recipe_")
        out = Path(a.out or tmp.name)
        try:
            t = time.perf_counter(); r = res["generator"] = generator_part(a.tiny, device, steps, out, a.sdpa); r["wall_s"] = round(time.perf_counter() - t, 1)
        finally:
            if tmp: tmp.cleanup()
        print(f"[{name}] train_generator, {r['config']}: losses finite {r['all_losses_finite']}; loss A {r['loss_a']}")
        print(f"[{name}] resume at step {r['stop_after']}: identical history {r['identical_history']}; max |diff| before stop {r['max_abs_diff_before_stop']}, "
              f"after resume {r['max_abs_diff_after_resume']}; final adapter max |w_A - w_B| {r['final_adapter_max_abs_weight_diff']:.3g} "
              f"(largest zero-init weight now {r['largest_zero_init_weight_after_training']:.3g}); checkpoint {r['checkpoint_gb']} GB")
        print(f"[{name}] run A: {r['run_a']}; attention {r['attention_processors']}, SDPA backend {r['sdpa_backend']}; checkpointing on {r['gradient_checkpointing_on']}")
        print(f"[{name}] warnings: {r['warnings']}", flush=True)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
