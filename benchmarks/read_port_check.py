"""The package's profile read against the benchmark's ranker it was ported from: `rm_perception.py`'s `clip:pairs, no
quality` ranker (`rm_ceiling.Ranker`, fitted by `rm_ceiling.fit`) and `perfusion.train_rm.fit_profile_read`, fitted
on the same demo groups of a world seed with the same backbone, compared on the test groups.

Usage:
  python benchmarks/read_port_check.py --data DIR/seedS --seed S [--backbone mini-clip] [--json OUT.json]

DIR/seedS/data holds the demo's splits (as `rm_levers.py --out DIR/seedS` leaves them). Reports the L2 weight each
chose, the largest difference between their test scores, and each one's test GAUC.
"""
import argparse, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True); ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--backbone", default="mini-clip"); ap.add_argument("--json")
    a = ap.parse_args()
    import torch
    from rm_ceiling import test_scores
    from rm_perception import clip_ranker_inputs, fit_clip_ranker

    from perfusion.data import FeatureVocab, world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.metrics import gauc
    from perfusion.reward import ProfileRead
    from perfusion.train_rm import fit_profile_read, read_inputs, read_scores

    splits = world_splits("industrial", 3000, Path(a.data) / "data", seed=a.seed, progress=False)
    clip, proc = load_mini_clip(a.backbone)
    t0 = time.time()
    rows, vocab, embs = clip_ranker_inputs(clip, proc, splits)
    ranker, lam_b, enc = fit_clip_ranker(rows, vocab, embs)
    bench = test_scores(ranker, rows["test"], **enc("test"))
    t_bench = time.time() - t0
    t0 = time.time()
    fv = FeatureVocab.fit(splits["train"])
    ins = {k: read_inputs(clip, splits[k], proc, fv) for k in ("train", "validation", "test")}
    read, info = fit_profile_read(ProfileRead.for_vocab(fv, ins["train"]["emb"].shape[-1]), ins["train"], ins["validation"])
    pkg = read_scores(read, ins["test"])
    t_pkg = time.time() - t0
    labels = [r["labels"] for r in rows["test"]]
    diff = max(abs(x - y) for b, p in zip(bench, pkg) for x, y in zip(b, p))
    emb_diff = float((embs["test"] - ins["test"]["emb"][:, : embs["test"].shape[1]]).abs().max())
    res = {"seed": a.seed, "backbone": a.backbone, "l2": {"benchmark": lam_b, "package": info["l2"]},
           "max_abs_score_difference": diff, "max_abs_embedding_difference": emb_diff,
           "test_GAUC": {"benchmark": gauc(bench, labels), "package": gauc(pkg, labels)},
           "seconds": {"benchmark": round(t_bench, 1), "package": round(t_pkg, 1)}, "command": " ".join(["python", *sys.argv])}
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
