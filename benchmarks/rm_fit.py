"""The bilinear ranker's own features fitted four ways: which of its features and its fit make it read mini-CLIP's
frozen embedding better than the models trained the way PerFusionRM is. A diagnostic outside the package.

Usage:
  python benchmarks/rm_fit.py --out DIR/seedS --seed S     # DIR as for rm_levers.py (its DIR/seedS/data is reused)

The form is `rm_ceiling.py`'s `clip:pairs` ranker with every quality 0 (`rm_perception.py`'s `no quality` row): a
user direction w_e + sum over the profile's four fields and six pairs of a learnt direction per value, dotted with
each candidate's unit-norm frozen image embedding. Fitted on the demo's 2,400 training groups as

- `fit_full`: the ranker's own fit (full batch, Adam lr 0.05, 300 iterations, pairwise logistic loss, L2 weight chosen
  on the validation groups from 1e-3 ... 1);
- `fit_full_group`: the same with PerFusionRM's group loss (Eq. 9, `perfusion.losses.reward_group_loss`);
- `fit_recipe`: the demo's PerFusionRM recipe (`perfusion.demo.demo_rm`: `RMTrainConfig`'s defaults, 150 steps):
  150 steps of 32 groups drawn without replacement pass by pass, AdamW lr 1e-3 with weight decay 1e-2, the
  engine's linear warm-up over 100 steps, the group loss (the engine's gradient clipping at norm 1.0 is left out);
- `fit_recipe_lr`: the same at the ranker's lr 0.05;
- `fit_recipe_1200`, `fit_recipe_4800`: the recipe run 8 and 32 times as many steps (added after the first four had
  been read).

Each run is written into DIR/seedS/rm_levers.json in `rm_levers.py`'s form (every test group's AUC), so that
`rm_compare.py` pairs them.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def fit_full(rows, vocab, embs, loss_fn=None):
    "The ranker's own fit (`rm_perception.fit_clip_ranker`), with `loss_fn` in place of the pairwise loss if given."
    from rm_perception import fit_clip_ranker

    m, lam, _ = fit_clip_ranker(rows, vocab, embs, loss_fn=loss_fn)
    return m, {"l2": lam}


def fit_recipe(rows, vocab, embs, lr=1e-3, steps=150, batch=32, warmup=100, weight_decay=1e-2, seed=0):
    "The demo's PerFusionRM recipe on the ranker's form: mini-batches of groups, AdamW, linear warm-up, group loss."
    import torch
    from rm_ceiling import Ranker

    from perfusion.losses import reward_group_loss

    torch.manual_seed(seed)
    m = Ranker([], vocab, embs["train"].shape[-1])
    bt = m.encode(rows["train"], emb=embs["train"], quality_of="no_quality")
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup) if warmup else 1.0)
    g = torch.Generator().manual_seed(seed)
    n, order = len(rows["train"]), torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        if len(order) < batch:  # a new pass over the training groups
            order = torch.cat([order, torch.randperm(n, generator=g)])
        ix, order = order[:batch], order[batch:]
        b = {k: (v[:, ix] if k == "idx" else v[ix]) for k, v in bt.items()}
        opt.zero_grad()
        reward_group_loss(m(b), b["y"], b["mask"]).backward()
        opt.step()
        sched.step()
    return m, {"lr": lr, "steps": steps, "batch": batch, "warmup": warmup, "weight_decay": weight_decay}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--groups", type=int, default=3000); ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--only", nargs="+", help="run only these arms (the others stay in the JSON as they are)")
    a = ap.parse_args()
    from rm_ceiling import test_scores
    from rm_levers import per_group_auc
    from rm_perception import clip_ranker_inputs

    from perfusion.data import world_splits
    from perfusion.foundation import load_mini_clip
    from perfusion.losses import reward_group_loss
    from perfusion.metrics import bootstrap_metrics
    from perfusion.train_rm import score_groups

    out = Path(a.out); path = out / "rm_levers.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    splits = world_splits("industrial", a.groups, out / "data", seed=a.seed, progress=False)
    clip, proc = load_mini_clip()
    rows, vocab, embs = clip_ranker_inputs(clip, proc, splits)
    labels = [r["labels"] for r in rows["test"]]
    oracle = bootstrap_metrics([r["utilities"] for r in rows["test"]], labels, n_boot=a.n_boot, seed=a.seed)
    general_scores = score_groups(clip, splits["test"], proc, progress=False)[0]
    general = bootstrap_metrics(general_scores, labels, n_boot=a.n_boot, seed=a.seed)
    arms = {
        "fit_full": lambda: fit_full(rows, vocab, embs),
        "fit_full_group": lambda: fit_full(rows, vocab, embs, reward_group_loss),
        "fit_recipe": lambda: fit_recipe(rows, vocab, embs, seed=a.seed),
        "fit_recipe_lr": lambda: fit_recipe(rows, vocab, embs, lr=0.05, seed=a.seed),
        # added after the four arms above had been read: the recipe run on, 8 and 32 times the demo's steps
        "fit_recipe_1200": lambda: fit_recipe(rows, vocab, embs, steps=1200, seed=a.seed),
        "fit_recipe_4800": lambda: fit_recipe(rows, vocab, embs, steps=4800, seed=a.seed),
    }
    if a.only:
        arms = {k: v for k, v in arms.items() if k in a.only}
    for name, run in arms.items():
        t0 = time.time()
        m, how = run()
        secs = round(time.time() - t0, 1)
        scores = test_scores(m, rows["test"], emb=embs["test"], quality_of="no_quality")
        t = bootstrap_metrics(scores, labels, n_boot=a.n_boot, seed=a.seed)
        closed = {k: (t[k]["value"] - general[k]["value"]) / (oracle[k]["value"] - general[k]["value"]) for k in ("MAP", "GAUC")}
        res[name] = {"spec": f"{name} (rm_fit.py)", "fit": how, "train_groups": len(rows["train"]), "test": t,
                     "gap_closed": closed, "seconds": secs, "general": general, "oracle": oracle,
                     "command": " ".join(sys.argv), "group_auc": per_group_auc(scores, labels),
                     "general_group_auc": per_group_auc(general_scores, labels)}
        print(f"{name}: GAUC {t['GAUC']['value']:.4f} [{t['GAUC']['lo']:.3f}, {t['GAUC']['hi']:.3f}] "
              f"gap closed {closed['GAUC']:.0%} ({how}; {secs} s)", flush=True)
        path.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
