"""A two-stage fit of PerFusionRM on the demo's data: first the bilinear read of mini-CLIP's frozen image embedding
(`rm_perception.py`'s `clip:pairs, no quality` ranker, fitted full-batch with its L2 weight chosen on the validation
groups), then the demo's PerFusionRM trained with the ranker's score added to its own as a fixed offset, in training
and at test. A prototype outside the package.

Usage:
  python benchmarks/rm_twostage.py --out DIR/seedS --seed S     # DIR as for rm_levers.py (its DIR/seedS/data is reused)

Writes runs `ranker` (the offset alone) and `stage2` into DIR/seedS/rm_levers.json in `rm_levers.py`'s form (every
test group's AUC), so that `rm_compare.py` pairs them with `rm150`. `--clip-ft STEPS`: both stages on mini-CLIP with its vision tower tuned
(`rm_levers.py --clip-ft`, the same cache in DIR/seedS/clipft_STEPS.pt); the runs are then `ranker_ft` and `stage2_ft`. The offset reaches the model through a wrapper of
`perfusion.train_rm.encode_groups` that notes the batch's group ids, read by a wrapper of `PerFusionRM.forward`.
"""
import argparse, json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--groups", type=int, default=3000); ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--clip-ft", type=int, default=0, help="steps of vision-tower tuning for the backbone (0: the shipped)")
    a = ap.parse_args()
    import torch
    from rm_ceiling import test_scores
    from rm_levers import per_group_auc, vision_tuned
    from rm_perception import clip_ranker_inputs, fit_clip_ranker

    import perfusion.train_rm as T
    from perfusion.data import world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.metrics import bootstrap_metrics
    from perfusion.reward import PerFusionRM

    out = Path(a.out); path = out / "rm_levers.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    splits = world_splits("industrial", a.groups, out / "data", seed=a.seed, progress=False)
    clip, proc = load_mini_clip()  # the general model
    backbone = vision_tuned(clip, proc, a.clip_ft, out, a.seed) if a.clip_ft else clip
    sfx = "_ft" if a.clip_ft else ""
    # stage 1: the ranker on the frozen embedding, no quality (rm_perception.py's)
    rows, vocab, embs = clip_ranker_inputs(backbone, proc, splits)
    ranker, lam, enc = fit_clip_ranker(rows, vocab, embs)
    offset = {}  # group id -> the ranker's score of each candidate
    for k in rows:
        for gid, s in zip(splits[k]["group_id"], test_scores(ranker, rows[k], **enc(k))):
            offset[gid] = s
    # stage 2: PerFusionRM with the offset
    noted = {}
    encode = T.encode_groups

    def encode_noting(rows_, *args, **kw):
        b = encode(rows_, *args, **kw)
        noted["ids"] = list(b["group_ids"])
        return b

    forward = PerFusionRM.forward

    def forward_with_offset(self, input_ids, pixel_values, feature_ids, attention_mask=None):
        s = forward(self, input_ids, pixel_values, feature_ids, attention_mask)
        off = torch.zeros_like(s)
        for i, gid in enumerate(noted["ids"]):
            o = torch.as_tensor(offset[gid], dtype=s.dtype, device=s.device)
            off[i, : len(o)] = o
        return s + off

    test = splits["test"]
    labels = [list(l) for l in test["labels"]]
    per_group = lambda scores: per_group_auc(scores, labels)
    oracle = bootstrap_metrics([json.loads(m)["utilities"] for m in test["meta"]], labels, n_boot=a.n_boot, seed=a.seed)
    general_scores = T.score_groups(clip, test, proc, progress=False)[0]  # the backbone, before the wrappers
    T.encode_groups, PerFusionRM.forward = encode_noting, forward_with_offset
    general = bootstrap_metrics(general_scores, labels, n_boot=a.n_boot, seed=a.seed)
    ranker_scores = [offset[g] for g in test["group_id"]]
    cfg = T.RMTrainConfig.cpu(max_steps=150, eval_every=0, save_every=50, seed=a.seed)
    rm, log = T.train_reward_model(backbone, proc, splits["train"], out / f"stage2{sfx}", cfg, progress=False)
    stage2_scores = T.score_groups(rm, test, proc, progress=False)[0]
    rm.remove_hooks()
    for name, scores, secs in ((f"ranker{sfx}", ranker_scores, None), (f"stage2{sfx}", stage2_scores, log["seconds"])):
        m = bootstrap_metrics(scores, labels, n_boot=a.n_boot, seed=a.seed)
        closed = {k: (m[k]["value"] - general[k]["value"]) / (oracle[k]["value"] - general[k]["value"]) for k in ("MAP", "GAUC")}
        res[name] = {"spec": f"{name} (rm_twostage.py)", "train_groups": len(splits["train"]), "ranker_l2": lam,
                     "config": log["config"] if name.startswith("stage2") else None, "clip_ft": a.clip_ft, "test": m, "gap_closed": closed,
                     "seconds": secs, "general": general, "oracle": oracle, "command": " ".join(sys.argv),
                     "group_auc": per_group(scores), "general_group_auc": per_group(general_scores)}
        print(f"{name}: GAUC {m['GAUC']['value']:.4f} [{m['GAUC']['lo']:.3f}, {m['GAUC']['hi']:.3f}] "
              f"gap closed {closed['GAUC']:.0%}", flush=True)
    path.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
