"""The perception row of `rm_ceiling.py` checked for a leak: the bilinear read of mini-CLIP's frozen image embedding
(`clip:pairs`) with and without the candidates' true quality.

Usage:
  python benchmarks/rm_perception.py --data SWEEP/data --seeds 2 3 --out OUT.json [--extra-train N]

`rm_ceiling.py`'s `Ranker` always adds a weight times each candidate's *true* quality (a world variable no model sees)
to its score, the perception rows included; here the same `clip:pairs` ranker is fitted twice on the same 2,400
training groups (L2 chosen on the validation groups), once as `rm_ceiling.py` fits it and once with every quality set
to 0, so that it reads the image embedding only. Test GAUC with a group-bootstrap interval and each row's share of the
general -> oracle gap. `--extra-train N` adds N more groups of the same world to the training split (the cache of
`rm_levers.py --extra-train`, under SWEEP/data/seedS/data). The data are the demo's (`world_splits` under SWEEP/data/seedS, as `seed_sweep.py` leaves them).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rm_ceiling import fit, group_rows, image_embeddings, test_scores  # noqa: E402


def clip_ranker_inputs(clip, proc, splits) -> tuple[dict, dict, dict]:
    """Per split: the group rows (with a `no_quality` of zeros beside the true `qualities`), the ranker's vocabulary,
    and mini-CLIP's frozen image embeddings of every candidate."""
    from perfusion.world import PROFILE_FEATURES

    rows = {k: group_rows(splits[k]) for k in ("train", "validation", "test")}
    for rs in rows.values():
        for g in rs:
            g["no_quality"] = [0.0] * len(g["labels"])
    vocab = {**PROFILE_FEATURES, "user_id": sorted({r["features"]["user_id"] for r in rows["train"]})}
    return rows, vocab, {k: image_embeddings(clip, proc, splits[k]) for k in rows}


def fit_clip_ranker(rows, vocab, embs, quality: str = "no_quality", loss_fn=None):
    """The `clip:pairs` ranker (L2 chosen on validation; `rm_ceiling.fit`'s pairwise loss unless `loss_fn`), and
    `enc(split)`: the inputs that score a split with it."""
    enc = lambda k: {"emb": embs[k], "quality_of": quality}
    m, lam = fit([], vocab, rows["train"], rows["validation"], emb_dim=embs["train"].shape[-1],
                 enc_train=enc("train"), enc_val=enc("validation"), lams=(1e-3, 1e-2, 1e-1, 1.0), loss_fn=loss_fn)
    return m, lam, enc


def run_seed(data: Path, seed: int, groups: int = 3000, extra_train: int = 0) -> dict:
    from perfusion.data import world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.metrics import bootstrap_metrics
    from perfusion.train_rm import score_groups

    t0 = time.time()
    splits = world_splits("industrial", groups, data / f"seed{seed}", seed=seed, progress=False)
    if extra_train:  # more training groups of the same merchants (rm_levers.py --extra-train), test unchanged
        from rm_levers import with_extra_train

        splits = with_extra_train(splits, data / f"seed{seed}" / "data", groups, extra_train, seed)
    clip, proc = load_mini_clip()
    rows, vocab, embs = clip_ranker_inputs(clip, proc, splits)
    labels = [r["labels"] for r in rows["test"]]
    gauc = lambda scores: bootstrap_metrics(scores, labels, n_boot=1000, seed=seed)["GAUC"]
    res = {"oracle": gauc([r["utilities"] for r in rows["test"]])}
    res["general"] = gauc(score_groups(clip, splits["test"], proc, progress=False)[0])
    for name, q in (("clip:pairs", "qualities"), ("clip:pairs, no quality", "no_quality")):
        m, lam, enc = fit_clip_ranker(rows, vocab, embs, q)
        res[name] = {**gauc(test_scores(m, rows["test"], **enc("test"))), "l2": lam, "w_q": float(m.w_q)}
    span = res["oracle"]["value"] - res["general"]["value"]
    for v in res.values():
        v["share"] = (v["value"] - res["general"]["value"]) / span
    return {"seed": seed, "train_groups": len(splits["train"]), "results": res, "seconds": round(time.time() - t0, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra-train", type=int, default=0, help="this many more training groups (rm_levers.py's cache)")
    a = ap.parse_args()
    out = Path(a.out)
    done = json.loads(out.read_text()) if out.exists() else {}
    for s in a.seeds:
        r = run_seed(Path(a.data), s, extra_train=a.extra_train)
        r["command"] = " ".join(["python", *sys.argv])
        done[str(s)] = r
        out.write_text(json.dumps(done, indent=1))
        print(f"seed {s}: " + "; ".join(f"{k} {v['value']:.3f} ({v['share']:.0%})" for k, v in r["results"].items()),
              flush=True)


if __name__ == "__main__":
    main()
