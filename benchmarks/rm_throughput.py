"""PerFusionRM inference throughput vs the plain backbone, measured side by side in one run.

Usage: python benchmarks/rm_throughput.py [--reps 5] [--json out.json]

For each backbone (the shipped mini-CLIP and a ViT-B/16-shaped CLIPModel with random weights) it scores the same
batch of groups with (a) the plain CLIPModel (logit_scale.exp() * cosine) and (b) PerFusionRM with duplicated
plug-ins, alternating the two `--reps` times, and reports images/s and the ratio of medians.
"""
import argparse, json, platform, statistics, time

import torch
from transformers import CLIPConfig, CLIPModel

from perfusion.data import FeatureVocab
from perfusion.foundation import load_mini_clip
from perfusion.reward import PerFusionRM
from perfusion.foundation import clip_scores



def _plain_scores(clip, b):
    "The backbone alone: PickScore's score on each group's candidates, (B, N)."
    return clip_scores(clip, b["input_ids"], b["pixel_values"].flatten(0, 1), group_size=b["pixel_values"].shape[1],
                       attention_mask=b["attention_mask"])

def vit_b16() -> CLIPModel:
    cfg = CLIPConfig(text_config=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
                     vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                                        image_size=224, patch_size=16), projection_dim=512)
    torch.manual_seed(0)
    return CLIPModel(cfg).eval()


def bench(name, clip, groups, n, image_size, reps):
    vocab = FeatureVocab({"user_id": [f"u{i}" for i in range(600)], "style": list("abcd"), "price_level": list("abc"),
                          "region": list("abcd"), "main_category": list("abcde")})
    rm = PerFusionRM.from_backbone(clip, vocab).eval()
    for p in rm.plugins.parameters(): torch.nn.init.normal_(p, std=0.02)   # trained-like, non-zero plug-ins
    g = torch.Generator().manual_seed(0)
    batch = {"input_ids": torch.randint(0, clip.config.text_config.vocab_size - 2, (groups, clip.config.text_config.max_position_embeddings), generator=g),
             "attention_mask": None, "pixel_values": torch.randn(groups, n, 3, image_size, image_size, generator=g),
             "feature_ids": torch.randint(1, 4, (groups, 5), generator=g)}
    runs = {"plain": lambda: _plain_scores(clip, batch),
            "perfusion_rm": lambda: rm(batch["input_ids"], batch["pixel_values"], batch["feature_ids"])}
    times = {k: [] for k in runs}
    with torch.inference_mode():
        for f in runs.values(): f()                                       # warm-up
        for _ in range(reps):
            for k, f in runs.items():
                t = time.perf_counter(); f(); times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    ips = {k: groups * n / v for k, v in med.items()}
    return {"backbone": name, "groups": groups, "candidates": n, "image_size": image_size, "reps": reps,
            "images_per_s": {k: round(v, 1) for k, v in ips.items()}, "ratio": round(ips["perfusion_rm"] / ips["plain"], 3)}


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--reps", type=int, default=5); ap.add_argument("--json")
    a = ap.parse_args()
    mini, _ = load_mini_clip()
    rows = [bench("mini-CLIP (64 px)", mini, 64, 5, 64, a.reps), bench("ViT-B/16-shaped, random (224 px)", vit_b16(), 4, 5, 224, a.reps)]
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": "cpu", "machine": platform.machine()}
    for r in rows: print(f"{r['backbone']:36s} plain {r['images_per_s']['plain']:8.1f} img/s | PerFusionRM {r['images_per_s']['perfusion_rm']:8.1f} img/s | ratio {r['ratio']:.3f}")
    if a.json: open(a.json, "w").write(json.dumps({"info": info, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
