"""PerFusionRM levers on the demo's data: train one reward model per setting and report held-out MAP / GAUC and the
share of the general -> oracle gap it closes.

Usage:
  python benchmarks/rm_levers.py --out DIR [--groups 3000] [--seed 0] --run NAME:key=value,... [--run ...]

`--extra-train N` renders N more groups of the same world (group indices from `--groups` on: the same 600 merchants,
more groups each) and adds them to the training split only; validation and test stay the demo's, so runs with and
without extra groups are paired on the same test groups. `--clip-ft STEPS` trains PerFusionRM on a copy of mini-CLIP whose vision tower continued its contrastive pretraining
for STEPS steps (`rm_ceiling.finetune_vision`: captions of random rendered items, no merchant, no selection; cached
in DIR/clipft_STEPS.pt); the general model stays the shipped mini-CLIP. `--cross-fields` adds the profile's six pairs (style x price level, ...) as categorical fields of their own, to the
features of every split, before training and scoring (a pair of values gets one embedding, as a crossed feature of a
recommender does). `--head` gives every model of the run `rm_head.py`'s user-conditioned linear read of the image
embedding (a prototype outside the package); `--head-only` the same head with the AdaNets' shifts switched off. `--no-id` drops the `user_id` field from
every split's features (the profile features alone, in training and at test). With `eval_every=K` in a run's settings, validation MAP / GAUC every K steps is stored with the run (`validation`).
Keys are `RMTrainConfig` fields (max_steps, lr, batch_size, id_dropout, embed_dim, cross_layers, adanet_hidden, ...).
The data are the demo's (`world_splits`, the same groups as `perfusion demo --seed S`); results go to DIR/rm_levers.json,
with every test group's AUC per run (`group_auc`, None where a group has no selected or no unselected candidate), so
that `benchmarks/rm_compare.py` can pair two runs on the same groups.
"""
import argparse, json, sys
from pathlib import Path


def with_extra_train(splits, data_dir: Path, groups: int, n: int, seed: int):
    """`splits` with groups `groups` .. `groups + n` of the industrial world of `seed` added to its training split;
    rendered once under `data_dir`, where a larger rendering also serves (its first n are the same groups)."""
    import datasets

    from perfusion.data import build_world, load_groups, save_groups

    # save_groups writes atomically, so a saved `groups` folder is complete
    cached = [g for g in data_dir.glob(f"extra_train_{groups}_*/groups") if int(g.parent.name.rsplit("_", 1)[1]) >= n]
    path = cached[0] if cached else data_dir / f"extra_train_{groups}_{n}" / "groups"
    if not cached:
        save_groups(build_world("industrial", n_groups=n, seed=seed, start=groups, progress=False)[0], path)
    extra = load_groups(path).select(range(n)).cast(splits["train"].features)
    return datasets.DatasetDict({**splits, "train": datasets.concatenate_datasets([splits["train"], extra])})


def per_group_auc(scores, labels) -> list:
    "Every group's AUC, None where a group has no selected or no unselected candidate (for rm_compare.py)."
    import math

    from perfusion.metrics import auc

    return [None if math.isnan(v) else v for v in (auc(s, y) for s, y in zip(scores, labels))]


def vision_tuned(clip, proc, steps: int, out: Path, seed: int):
    "mini-CLIP with its vision tower tuned `steps` steps (`rm_ceiling.finetune_vision`), cached in out/clipft_STEPS.pt."
    import copy

    import torch
    from rm_ceiling import finetune_vision

    ft_path = out / f"clipft_{steps}.pt"
    if ft_path.exists():
        backbone = copy.deepcopy(clip)
        backbone.load_state_dict(torch.load(ft_path))
        return backbone
    backbone = finetune_vision(clip, proc, steps, seed=seed)
    torch.save(backbone.state_dict(), ft_path)
    return backbone


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True); ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--run", action="append", default=[])
    ap.add_argument("--cross-fields", action="store_true", help="add the profile's pairs as fields of their own")
    ap.add_argument("--clip-ft", type=int, default=0, help="steps of vision-tower contrastive training for the backbone")
    ap.add_argument("--extra-train", type=int, default=0, help="this many more groups of the same world, training split only")
    ap.add_argument("--head", action="store_true", help="add rm_head.py's user-conditioned linear read of the image embedding")
    ap.add_argument("--head-only", action="store_true", help="the head with the AdaNets' shifts switched off (a diagnostic; with it, --head changes nothing)")
    ap.add_argument("--no-id", action="store_true", help="drop the user_id field from every split's features")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from personalization_ladder import parse_run
    if a.head or a.head_only:
        from rm_head import install_head

        install_head(only=a.head_only)
    from perfusion.foundation import load_mini_clip

    from perfusion.metrics import bootstrap_metrics
    from perfusion.train_rm import RMTrainConfig, score_groups, train_reward_model
    from perfusion.data import world_splits
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    path = out / "rm_levers.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    splits = world_splits("industrial", a.groups, out / "data", seed=a.seed, progress=False)
    if a.extra_train:
        splits = with_extra_train(splits, out / "data", a.groups, a.extra_train, a.seed)
    def map_features(fn):  # every split's feature dicts replaced by fn(features)
        import datasets

        redo = lambda ds: ds.remove_columns("features").add_column("features", [fn(f) for f in ds["features"]])
        return datasets.DatasetDict({k: redo(v) for k, v in splits.items()})

    if a.cross_fields:
        from itertools import combinations

        prof = ("style", "price_level", "region", "main_category")
        splits = map_features(lambda f: {**f, **{f"{x}*{y}": f"{f[x]}|{f[y]}" for x, y in combinations(prof, 2)}})
    if a.no_id:  # the profile features alone, in training and at test
        splits = map_features(lambda f: {k: v for k, v in f.items() if k != "user_id"})
    test = splits["test"]
    labels = [list(l) for l in test["labels"]]
    oracle = bootstrap_metrics([json.loads(m)["utilities"] for m in test["meta"]], labels, n_boot=a.n_boot, seed=a.seed)
    clip, proc = load_mini_clip()
    general_scores = score_groups(clip, test, proc, progress=False)[0]
    general = bootstrap_metrics(general_scores, labels, n_boot=a.n_boot, seed=a.seed)
    backbone = vision_tuned(clip, proc, a.clip_ft, out, a.seed) if a.clip_ft else clip
    per_group = lambda scores: per_group_auc(scores, labels)
    for spec in a.run:
        name, kv = parse_run(spec)
        cfg = RMTrainConfig.cpu(**{"eval_every": 0, "save_every": 50, "seed": a.seed, **kv})
        # with eval_every > 0, validation MAP / GAUC at those steps (the settings can then be chosen on validation)
        ev = splits["validation"] if cfg.eval_every else None
        rm, log = train_reward_model(backbone, proc, splits["train"], out / name, cfg, eval_ds=ev, progress=False)
        scores = score_groups(rm, test, proc, progress=False)[0]
        m = bootstrap_metrics(scores, labels, n_boot=a.n_boot, seed=a.seed)
        rm.remove_hooks()
        closed = {k: (m[k]["value"] - general[k]["value"]) / (oracle[k]["value"] - general[k]["value"]) for k in ("MAP", "GAUC")}
        res[name] = {"spec": spec, "cross_fields": a.cross_fields, "train_groups": len(splits["train"]), "clip_ft": a.clip_ft, "head": "only" if a.head_only else a.head, "no_id": a.no_id, "config": log["config"], "test": m, "gap_closed": closed, "seconds": log["seconds"], "validation": log.get("evals", []),
                     "general": general, "oracle": oracle, "command": " ".join(sys.argv),
                     "group_auc": per_group(scores), "general_group_auc": per_group(general_scores)}
        path.write_text(json.dumps(res, indent=1))
        print(f"{name}: MAP {m['MAP']['value']:.4f} GAUC {m['GAUC']['value']:.4f} [{m['GAUC']['lo']:.3f}, {m['GAUC']['hi']:.3f}]  "
              f"gap closed MAP {closed['MAP']:.0%} GAUC {closed['GAUC']:.0%}  ({log['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
