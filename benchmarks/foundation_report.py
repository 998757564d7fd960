"""Print the foundation-model tables of BENCHMARKS.md from the `pretrain.json` a `perfusion pretrain` run wrote.

    python benchmarks/foundation_report.py [perfusion/models/pretrain.json]
"""
import json
import sys
from pathlib import Path

from perfusion.world import ATTRIBUTES


def main(path="perfusion/models/pretrain.json"):
    m = json.loads(Path(path).read_text())
    t = m["timing_s"]
    print("| stage | time (s) |\n|---|---|")
    for k in ("bank", "vae", "judge", "clip", "unet", "evaluation"):
        print(f"| {k} | {t[k]:,.0f} |")
    print(f"| **total** | **{t['total']:,.0f} = {t['total'] / 60:.1f} min** |\n")
    sd = m["mini_sd"]
    print(f"mini-SD prompt consistency: {sd['consistency']:.3f} ({sd['prompts']} prompts, {sd['sampler']}, {sd['seconds_per_image']} s/image)\n")
    print("| " + " | ".join(ATTRIBUTES) + " |\n|" + "---|" * len(ATTRIBUTES))
    print("| " + " | ".join(f"{sd[a]:.3f}" for a in ATTRIBUTES) + " |\n")
    print("| images | " + " | ".join(ATTRIBUTES) + " | quality MAE |\n|" + "---|" * (len(ATTRIBUTES) + 2))
    for k in ("renders_quality_1", "renders_random_quality", "autoencoder_roundtrips_quality_1"):
        j = m["judge"][k]
        print(f"| {k} | " + " | ".join(f"{j[a]:.3f}" for a in ATTRIBUTES) + f" | {j['quality_mae']:.3f} |")
    print("\n| regime | mini-CLIP MAP | mini-CLIP GAUC | general oracle MAP / GAUC | oracle MAP / GAUC |\n|---|---|---|---|---|")
    for r, v in m["mini_clip"].items():
        c, g, o = v["mini_clip"], v["general_oracle"], v["oracle"]
        print(f"| {r} | {c['MAP']:.4f} | {c['GAUC']:.4f} | {g['MAP']:.4f} / {g['GAUC']:.4f} | {o['MAP']:.4f} / {o['GAUC']:.4f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
