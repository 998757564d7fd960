"""Is `rm_head.py`'s head used? On the demo's test groups: the within-group spread of the head's term against the
spread of the whole score (the head's term: the score minus the score with the head's weights set to zero), for the
demo's PerFusionRM with the head — `rm_levers.py --head --run head150:max_steps=150`, whose run folder DIR/seedS/head150
is reused (the trainer resumes a finished run without training; absent, it trains there).

Usage:
  python benchmarks/rm_head_share.py --data DIR/seedS/data --seed S [--out FILE.json]   # DIR as for rm_levers.py
"""
import argparse, json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--groups", type=int, default=3000); ap.add_argument("--out")
    a = ap.parse_args()
    import numpy as np
    import torch
    from rm_head import install_head

    from perfusion.data import select_rows, world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.train_rm import RMTrainConfig, encode_groups, train_reward_model

    install_head()
    splits = world_splits("industrial", a.groups, Path(a.data), seed=a.seed, progress=False)
    clip, proc = load_mini_clip()
    cfg = RMTrainConfig.cpu(max_steps=150, eval_every=0, save_every=50, seed=a.seed)
    rm, _ = train_reward_model(clip, proc, splits["train"], Path(a.data).parent / "head150", cfg, progress=False)
    test, head = splits["test"], rm.plugins.head.proj
    head_sd, score_sd = [], []
    with torch.no_grad():
        for i in range(0, len(test), 50):
            b = encode_groups(select_rows(test, list(range(i, min(i + 50, len(test))))), proc, rm.vocab)
            args = (b["input_ids"], b["pixel_values"], b["feature_ids"], b["attention_mask"])
            total = rm(*args)
            kept = head.weight.clone(), head.bias.clone()
            head.weight.zero_(); head.bias.zero_()
            without = rm(*args)
            head.weight.copy_(kept[0]); head.bias.copy_(kept[1])
            for g, m in enumerate(b["mask"].bool()):
                head_sd.append(float((total[g][m] - without[g][m]).std()))
                score_sd.append(float(total[g][m].std()))
    res = {"seed": a.seed, "head_term_within_group_sd": float(np.mean(head_sd)),
           "score_within_group_sd": float(np.mean(score_sd)), "head_weight_norm": float(head.weight.norm()),
           "command": " ".join(sys.argv)}
    print(json.dumps(res))
    if a.out:
        p = Path(a.out)
        all_ = json.loads(p.read_text()) if p.exists() else {}
        all_[str(a.seed)] = res
        p.write_text(json.dumps(all_, indent=1))


if __name__ == "__main__":
    main()
