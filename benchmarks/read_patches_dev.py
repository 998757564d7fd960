"""The profile read on what the vision tower keeps of *where* things are: its last layer's patch tokens, flattened and
projected on their first k principal directions (fitted on the training candidates' images; no label is read), against
the unit-norm pooled embedding (`proj`), on the demo's splits of one world seed; test GAUC and the L2 weight chosen on
validation (`fit_profile_read`). Development only: it chose the read's form (k = 64, the tuned tower).

Usage:
  python benchmarks/read_patches_dev.py DATA SEED OUT.json mini-clip-tuned mini-clip
  # DATA: the demo's splits (`world_splits("industrial", 3000, DATA, seed=SEED)`; made if absent)
"""
import sys, json, time, torch, torch.nn.functional as F
from pathlib import Path
from perfusion.data import FeatureVocab, world_splits, select_rows
from perfusion.foundation import load_mini_clip
from perfusion.metrics import gauc
from perfusion.reward import ProfileRead, unit_image_embeddings
from perfusion.train_rm import encode_groups, fit_profile_read, read_scores
torch.set_num_threads(2)
data, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
splits = world_splits("industrial", 3000, Path(data), seed=seed, progress=False)
fv = FeatureVocab.fit(splits["train"])
res = {"seed": seed, "data": data, "rows": {}}
def inputs(clip, proc, ds):
    parts = []
    with torch.no_grad():
        for i in range(0, len(ds), 64):
            b = encode_groups(select_rows(ds, range(i, min(i + 64, len(ds)))), proc, fv)
            pv = b["pixel_values"]; B, N = pv.shape[:2]
            o = clip.vision_model(pixel_values=pv.flatten(0, 1))
            patches = o.last_hidden_state[:, 1:].flatten(1).view(B, N, -1)
            parts.append({"feature_ids": b["feature_ids"], "emb": unit_image_embeddings(clip, pv), "patch": patches,
                          "labels": b["labels"], "mask": b["mask"]})
    assert len({p["mask"].shape[1] for p in parts}) == 1
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
def test_gauc(read, ins):
    return gauc(read_scores(read, ins), [l[m].long().tolist() for l, m in zip(ins["labels"], ins["mask"])])
for name in sys.argv[4:]:
    clip, proc = load_mini_clip(name)
    t0 = time.time()
    ins = {k: inputs(clip, proc, splits[k]) for k in ("train", "validation", "test")}
    print(name, "features", round(time.time() - t0), flush=True)
    X = ins["train"]["patch"][ins["train"]["mask"]]
    mu = X.mean(0)
    U, S, V = torch.pca_lowrank(X - mu, q=256, center=False)
    for feat in ("proj", "pca32", "pca64", "pca128", "pca256", "proj+pca64"):
        def f(d):
            if feat == "proj": return d["emb"]
            k = int(feat.split("pca")[1])
            z = F.normalize((d["patch"] - mu) @ V[:, :k], dim=-1)
            return torch.cat([d["emb"], z], -1) / 2**0.5 if feat.startswith("proj+") else z
        fi = {s: {**d, "emb": f(d)} for s, d in ins.items()}
        t1 = time.time()
        read, info = fit_profile_read(ProfileRead.for_vocab(fv, fi["train"]["emb"].shape[-1]), fi["train"], fi["validation"])
        g = test_gauc(read, fi["test"])
        res["rows"][f"{name}:{feat}"] = {"test_GAUC": g, "l2": info["l2"], "tried": info["tried"], "fit_s": round(time.time() - t1, 1)}
        print(name, feat, round(g, 4), info["l2"], round(time.time() - t1), flush=True)
        Path(out).write_text(json.dumps(res, indent=1))
