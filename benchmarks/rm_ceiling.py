"""What limits PerFusionRM: the general -> oracle GAUC gap decomposed on the demo's test groups.

Usage:
  python benchmarks/rm_ceiling.py --out DIR --seeds 2 3 [--data SWEEP/data] [--groups 3000] [--curve 1000 3000 10000]
      [--rm NAME:key=value,...] [--report]

For every world seed S, on the same 300 test groups as `perfusion demo --seed S` (`world_splits`, 3,000 `industrial`
groups), test GAUC with a group-bootstrap interval of:

- the general model (mini-CLIP's score) and the oracle (the true utilities), as the demo reports them;
- **learnable oracles**: a conditional-logit ranker fitted on the same 2,400 training groups (pairwise logistic loss,
  selected vs. unselected inside a group, L2 chosen on the validation groups) that *sees each candidate's true
  attributes and quality* and scores a candidate by a quality weight plus tables over (user key, attribute value):
  `id` (user_id x attribute: a taste per merchant), `additive` (each profile feature x attribute), `pairs` (every pair of
  profile features x attribute, plus `additive`: the crosses, without knowing which drives which attribute), `world`
  (exactly the world's crosses: the form known, the parameters learned), `world+id` (and a per-merchant part);
- **perception**: the `pairs` ranker on what a model can see instead of the truth: the judge's attribute readings of the
  rendered 64-px images (`judge_pairs`), and mini-CLIP's frozen image embedding (`clip_pairs`: a bilinear score,
  (profile-feature pair x embedding) tables and a general embedding weight);
- **data**: `world` and `pairs` fitted on fewer or more training groups of the same world (`--curve`; the first n of
  the demo's, or groups drawn past the demo's 3,000: attributes only, no rendering needed);
- PerFusionRM trained as the demo trains it (`RMTrainConfig.cpu(max_steps=150)`) and each `--rm` variant.

The hidden taste labels nothing here: the rankers learn from the merchants' selections, like PerFusionRM; only the
oracle row reads the true utilities. Results: DIR/seedS.json with the command; `--report` prints the table, pooled
over seeds (mean of the seeds' GAUCs; the interval resamples seeds, then groups).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

TASTE = ("colour", "pattern", "sleeve", "neckline", "fit")
PROFILE = ("style", "price_level", "region", "main_category")


def tables_of(form: str) -> list[tuple[tuple[str, ...], str]]:
    "The (user key, attribute) tables of a ranker form."
    from itertools import combinations

    from perfusion.world import TASTE_CROSSES

    add = [((f,), a) for f in PROFILE for a in TASTE]
    return {
        "general": [],
        "id": [(("user_id",), a) for a in TASTE],
        "additive": add,
        "pairs": add + [(p, a) for p in combinations(PROFILE, 2) for a in TASTE],
        "world": [(TASTE_CROSSES[a], a) for a in TASTE],
        "world+id": [(TASTE_CROSSES[a], a) for a in TASTE] + [(("user_id",), a) for a in TASTE],
    }[form]


def group_rows(ds) -> list[dict]:
    "Per group: the merchant's features, the candidates' true attributes and qualities, the labels."
    out = []
    for f, lab, meta in zip(ds["features"], ds["labels"], ds["meta"]):
        m = json.loads(meta)
        out.append({"features": f, "items": m["items"], "qualities": m["qualities"], "labels": list(lab),
                    "utilities": m["utilities"]})
    return out


def world_rows(world, start: int, n: int) -> list[dict]:
    "Groups of the world past the demo's, in the same form as `group_rows` (no images)."
    rows = []
    for g in world.groups(n, start=start):
        rows.append({"features": g.merchant.features, "items": g.items, "qualities": list(map(float, g.qualities)),
                     "labels": g.labels.tolist(), "utilities": g.utilities.tolist()})
    return rows


class Ranker(torch.nn.Module):
    "Conditional logit: quality weight + (user key x attribute value) tables (+ bilinear user x embedding tables)."

    def __init__(self, tables, vocab, emb_dim: int = 0):
        super().__init__()
        from perfusion.world import ATTRIBUTES, PROFILE_FEATURES

        self.tables, self.vocab, self.values = tables, vocab, ATTRIBUTES
        sizes = [int(np.prod([len(vocab[f]) for f in key])) for key, _ in tables]
        self.theta = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros(n * len(ATTRIBUTES[a]))) for n, (_, a) in zip(sizes, tables)])
        self.w_q = torch.nn.Parameter(torch.zeros(1))
        self.emb_dim = emb_dim
        if emb_dim:  # perception through an embedding: a general direction and one per (profile pair) value
            from itertools import combinations

            self.ukeys = [(f,) for f in PROFILE] + list(combinations(PROFILE, 2))
            self.w_e = torch.nn.Parameter(torch.zeros(emb_dim))
            self.U = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(int(np.prod(
                [len(PROFILE_FEATURES[f]) for f in k])), emb_dim)) for k in self.ukeys])

    def key_index(self, features: dict, key: tuple) -> int:
        i = 0
        for f in key:
            i = i * len(self.vocab[f]) + self.vocab[f].index(features[f]) if features[f] in self.vocab[f] else -1
            if i < 0:
                return -1
        return i

    def encode(self, rows, attrs_of="items", quality_of="qualities", emb=None) -> dict:
        "Index tensors of every candidate (groups padded to N)."
        N = max(len(r["labels"]) for r in rows)
        idx = torch.full((len(self.tables), len(rows), N), -1, dtype=torch.long)
        for t, (key, a) in enumerate(self.tables):
            nv = len(self.values[a])
            for g, r in enumerate(rows):
                k = self.key_index(r["features"], key)
                if k < 0:
                    continue
                for j, it in enumerate(r[attrs_of]):
                    idx[t, g, j] = k * nv + self.values[a].index(it[a])
        q = torch.zeros(len(rows), N)
        y, mask = torch.zeros(len(rows), N), torch.zeros(len(rows), N, dtype=torch.bool)
        for g, r in enumerate(rows):
            n = len(r["labels"])
            q[g, :n] = torch.tensor(r[quality_of], dtype=torch.float)
            y[g, :n], mask[g, :n] = torch.tensor(r["labels"], dtype=torch.float), True
        b = {"idx": idx, "q": q, "y": y, "mask": mask}
        if self.emb_dim:
            from perfusion.world import PROFILE_FEATURES

            b["emb"] = emb
            b["uidx"] = torch.tensor([[self._pidx(r["features"], k, PROFILE_FEATURES) for k in self.ukeys] for r in rows])
        return b

    @staticmethod
    def _pidx(features, key, pf):
        i = 0
        for f in key:
            i = i * len(pf[f]) + pf[f].index(features[f])
        return i

    def forward(self, b):
        s = self.w_q * b["q"]
        for t, th in enumerate(self.theta):
            ix = b["idx"][t]
            s = s + torch.where(ix >= 0, th[ix.clamp(min=0)], torch.zeros(()))
        if self.emb_dim:
            u = self.w_e + sum(U[b["uidx"][:, k]] for k, U in enumerate(self.U))  # (G, D)
            s = s + torch.einsum("gd,gnd->gn", u, b["emb"])
        return s

    def l2(self):
        return sum((p ** 2).sum() for n, p in self.named_parameters() if n != "w_q")


def pairwise_loss(s, y, mask):
    "Mean logistic loss over (selected, unselected) pairs inside each group."
    d = s.unsqueeze(2) - s.unsqueeze(1)  # (G, N, N): s_i - s_j
    pair = (y.unsqueeze(2) == 1) & (y.unsqueeze(1) == 0) & mask.unsqueeze(2) & mask.unsqueeze(1)
    return torch.nn.functional.softplus(-d[pair]).mean()


def fit(tables, vocab, train, val, emb_dim=0, lams=(1e-4, 1e-3, 1e-2), iters=300, enc_train=None, enc_val=None,
        loss_fn=None):
    "Fit a Ranker for each L2 weight (loss: `pairwise_loss` unless given); keep the one with the best validation GAUC."
    from perfusion.metrics import gauc

    best = None
    for lam in lams:
        torch.manual_seed(0)
        m = Ranker(tables, vocab, emb_dim)
        bt, bv = m.encode(train, **(enc_train or {})), m.encode(val, **(enc_val or {}))
        opt = torch.optim.Adam(m.parameters(), lr=0.05)
        for _ in range(iters):
            opt.zero_grad()
            loss = (loss_fn or pairwise_loss)(m(bt), bt["y"], bt["mask"]) + lam * m.l2() / len(train)
            loss.backward()
            opt.step()
        with torch.no_grad():
            sv = m(bv)
        g = gauc([s[mk].tolist() for s, mk in zip(sv, bv["mask"])], [y[mk].tolist() for y, mk in zip(bv["y"], bv["mask"])])
        if best is None or g > best[0]:
            best = (g, lam, m)
    return best[2], best[1]


def test_scores(m, test, **enc) -> list:
    b = m.encode(test, **enc)
    with torch.no_grad():
        s = m(b)
    return [si[mk].tolist() for si, mk in zip(s, b["mask"])]


def image_embeddings(clip, proc, ds) -> torch.Tensor:
    "(groups, N, D) unit-norm image embeddings of every candidate of `ds` (padded with zeros)."
    from perfusion.foundation import pooled_features

    ims = [im.convert("RGB") for g in ds["images"] for im in g]
    with torch.no_grad():
        e = torch.cat([pooled_features(clip.get_image_features(**proc(images=ims[i:i + 256], return_tensors="pt")))
                       for i in range(0, len(ims), 256)])
    e = e / e.norm(dim=-1, keepdim=True)
    n = [len(g) for g in ds["labels"]]
    out, pos = torch.zeros(len(n), max(n), e.shape[1]), 0
    for g, ng in enumerate(n):
        out[g, :ng], pos = e[pos:pos + ng], pos + ng
    return out


def attribute_probe(emb: dict, rows: dict) -> dict:
    "Test accuracy of a linear probe (logistic regression) of each attribute from the frozen image embedding."
    from sklearn.linear_model import LogisticRegression

    from perfusion.world import ATTRIBUTES

    def xy(k, a):
        x = [emb[k][g, j].numpy() for g, r in enumerate(rows[k]) for j in range(len(r["labels"]))]
        return np.stack(x), [it[a] for r in rows[k] for it in r["items"]]

    acc = {}
    for a in ATTRIBUTES:
        (xt, yt), (xs, ys) = xy("train", a), xy("test", a)
        acc[a] = float(LogisticRegression(max_iter=1000, C=10.0).fit(xt, yt).score(xs, ys))
    return acc


def finetune_vision(clip, proc, steps: int, batch: int = 64, lr: float = 3e-4, seed: int = 0, n_items: int = 4000):
    """A copy of mini-CLIP whose vision tower (only) continued its contrastive pretraining on full-attribute captions of
    freshly rendered random items, each image also against its caption with one attribute changed (a hard negative, as
    in NegCLIP): what items look like — no world's merchants, no selections."""
    import copy

    import torch.nn.functional as F

    from perfusion.foundation import clip_scores
    from perfusion.pretrain import ItemBank
    from perfusion.world import ATTRIBUTES, make_prompt

    m = copy.deepcopy(clip).train()
    for p in m.parameters():
        p.requires_grad_(False)
    for p in [*m.vision_model.parameters(), *m.visual_projection.parameters()]:
        p.requires_grad_(True)
    bank = ItemBank(n_items, seed=10_000 + seed, size=64, progress=False)
    mean = torch.tensor(proc.image_processor.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(proc.image_processor.image_std).view(1, 3, 1, 1)
    tok = proc.tokenizer
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=lr, weight_decay=1e-2)
    rng = np.random.default_rng([seed, 99])
    def one_off(item):
        "The item with one attribute changed: a hard negative caption (random items differ in too much to need details)"
        a = list(ATTRIBUTES)[rng.integers(len(ATTRIBUTES))]
        return {**item, a: [v for v in ATTRIBUTES[a] if v != item[a]][rng.integers(len(ATTRIBUTES[a]) - 1)]}

    for step in range(steps):
        idx = rng.integers(0, len(bank), batch)
        captions = [make_prompt(bank.items[i], rng) for i in idx] + [make_prompt(one_off(bank.items[i]), rng) for i in idx]
        ids = tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
        x = ((bank.images[torch.from_numpy(idx)] + 1) / 2 - mean) / std
        sc = clip_scores(m, ids, x)  # (2B captions, B images)
        target = torch.arange(batch)
        loss = (F.cross_entropy(sc[:batch], target) + F.cross_entropy(sc.T, target)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m.eval()


def run_seed(a, seed: int) -> dict:
    from perfusion.data import world_splits
    from perfusion.foundation import load_judge, load_mini_clip
    from perfusion.metrics import bootstrap_metrics
    from perfusion.train_rm import RMTrainConfig, score_groups, train_reward_model
    from perfusion.world import ATTRIBUTES, PROFILE_FEATURES, World

    t0 = time.time()
    data = Path(a.data) if a.data else Path(a.out) / "data"
    splits = world_splits("industrial", a.groups, data / f"seed{seed}", seed=seed, progress=False)
    world = World("industrial", seed=seed)
    rows = {k: group_rows(splits[k]) for k in ("train", "validation", "test")}
    labels = [r["labels"] for r in rows["test"]]
    vocab = {**PROFILE_FEATURES, "user_id": sorted({r["features"]["user_id"] for r in rows["train"]})}
    res, times = {}, {}

    def record(name, scores, extra=None):
        m = bootstrap_metrics(scores, labels, n_boot=a.n_boot, seed=seed)["GAUC"]
        per_group = [[round(float(x), 5) for x in g] for g in scores]  # what the pooled report resamples
        res[name] = {"GAUC": m["value"], "lo": m["lo"], "hi": m["hi"], "per_group": per_group, **(extra or {})}
        print(f"  seed {seed} {name:16s} GAUC {m['value']:.4f} [{m['lo']:.3f}, {m['hi']:.3f}]", flush=True)

    record("oracle", [r["utilities"] for r in rows["test"]])
    clip, proc = load_mini_clip()
    record("general", score_groups(clip, splits["test"], proc)[0])
    for form in ("general", "id", "additive", "pairs", "world", "world+id"):
        t = time.time()
        m, lam = fit(tables_of(form), vocab, rows["train"], rows["validation"])
        record(f"truth:{form}", test_scores(m, rows["test"]), {"l2": lam})
        times[f"truth:{form}"] = round(time.time() - t, 1)
    # perception: the judge's readings of the rendered images instead of the true attributes
    t = time.time()
    judge = load_judge()
    for k, r in rows.items():
        ims = [im for g in splits[k]["images"] for im in g]
        reads = [x for i in range(0, len(ims), 500) for x in judge.read(ims[i:i + 500])]
        it = iter(reads)
        for g in r:
            rd = [next(it) for _ in g["labels"]]
            g["read_items"] = [{a: x[a] for a in ATTRIBUTES} for x in rd]
            g["read_quality"] = [float(x["quality"]) for x in rd]
    acc = {a: float(np.mean([x[a] == y[a] for g in rows["test"] for x, y in zip(g["read_items"], g["items"])]))
           for a in TASTE}
    enc = {"attrs_of": "read_items", "quality_of": "read_quality"}
    m, lam = fit(tables_of("pairs"), vocab, rows["train"], rows["validation"], enc_train=enc, enc_val=enc)
    record("judge:pairs", test_scores(m, rows["test"], **enc), {"l2": lam, "judge_accuracy": acc})
    times["judge"] = round(time.time() - t, 1)
    # perception: mini-CLIP's frozen image embedding (and, with --clip-ft, a vision tower that saw more items)
    clips = {"clip": clip}
    if a.clip_ft:
        t = time.time()
        clips["clipft"] = finetune_vision(clip, proc, a.clip_ft, seed=seed)
        times["clip_ft"] = round(time.time() - t, 1)
    for name, c in clips.items():
        t = time.time()
        embs = {k: image_embeddings(c, proc, splits[k]) for k in rows}
        m, lam = fit([], vocab, rows["train"], rows["validation"], emb_dim=embs["train"].shape[-1],
                     enc_train={"emb": embs["train"]}, enc_val={"emb": embs["validation"]}, lams=(1e-3, 1e-2, 1e-1, 1.0))
        probe = attribute_probe(embs, rows)
        record(f"{name}:pairs", test_scores(m, rows["test"], emb=embs["test"]), {"l2": lam, "probe_accuracy": probe})
        print(f"  seed {seed} {name} linear probe accuracy: " + ", ".join(f"{k} {v:.2f}" for k, v in probe.items()))
        times[name] = round(time.time() - t, 1)
    # data: the same rankers on more groups of this world (attributes only)
    for n in a.curve:
        tr = rows["train"][:n] + world_rows(world, a.groups, max(0, n - len(rows["train"])))
        for form in ("world", "pairs"):  # one L2 weight (the data decide at these sizes): a third of the time
            m, lam = fit(tables_of(form), vocab, tr, rows["validation"], lams=(1e-3,))
            record(f"truth:{form}@{n}", test_scores(m, rows["test"]), {"l2": lam, "train_groups": n})
    # PerFusionRM as the demo trains it, and the --rm variants
    specs = ["demo:", *a.rm] + (["clipft:"] if a.clip_ft else [])
    for spec in specs:
        name, _, kv = spec.partition(":")
        kw = {k: json.loads(v) for k, v in (p.split("=") for p in filter(None, kv.split(",")))}
        cfg = RMTrainConfig.cpu(**{"max_steps": 150, "eval_every": 0, "save_every": 50, "seed": seed, **kw})
        t = time.time()
        rm, log = train_reward_model(clips.get(name, clip), proc, splits["train"], Path(a.out) / f"seed{seed}" / f"rm_{name}", cfg,
                                     progress=False)
        record(f"perfusion_rm:{name}", score_groups(rm, splits["test"], proc)[0], {"config": log["config"]})
        rm.remove_hooks()
        times[f"perfusion_rm:{name}"] = round(time.time() - t, 1)
    return {"seed": seed, "command": " ".join(["python", *sys.argv]), "results": res, "timing_s": times,
            "total_s": round(time.time() - t0, 1), "labels": labels}


def report(root: Path, n_boot: int = 2000, seeds=None) -> str:
    "Markdown: every row's GAUC per seed, pooled (only `seeds`, when given), and its share of the general -> oracle gap."
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from seed_sweep import hierarchical_bootstrap

    from perfusion.metrics import auc

    per_group = lambda scores, labels: [auc(s, y) for s, y in zip(scores, labels) if 0 < sum(y) < len(y)]
    runs = sorted((json.loads(p.read_text()) for p in root.glob("seed*.json")), key=lambda r: r["seed"])
    runs = [r for r in runs if seeds is None or r["seed"] in seeds]
    if not runs:
        return "no runs"
    names = [n for n in runs[0]["results"] if all(n in r["results"] for r in runs)]
    gap = lambda r, n: (r["results"][n]["GAUC"] - r["results"]["general"]["GAUC"]) / (
        r["results"]["oracle"]["GAUC"] - r["results"]["general"]["GAUC"])
    lines = ["| model | " + " | ".join(f"seed {r['seed']}" for r in runs) + " | pooled GAUC | share of general → oracle |",
             "|---|" + "---|" * (len(runs) + 2)]
    for n in names:
        pooled = hierarchical_bootstrap([per_group(r["results"][n]["per_group"], r["labels"]) for r in runs], n_boot)
        cell = f"{pooled['mean']:.3f} [{pooled['ci'][0]:.3f}, {pooled['ci'][1]:.3f}]"
        lines.append(f"| {n} | " + " | ".join(f"{r['results'][n]['GAUC']:.3f}" for r in runs)
                     + f" | {cell} | {np.mean([gap(r, n) for r in runs]):.0%} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", help="a folder of world_splits data per seed (e.g. seed_sweep's DIR/data)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[])
    ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--curve", type=int, nargs="*", default=[10000])
    ap.add_argument("--rm", action="append", default=[], help="NAME:key=value,...: an RMTrainConfig variant")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--clip-ft", type=int, default=0, help="steps of vision-tower contrastive training (0: skip)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--pool", type=int, nargs="*", help="--report: only these seeds (default: all found)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.threads:
        torch.set_num_threads(a.threads)
    for s in a.seeds:
        path = out / f"seed{s}.json"
        if path.exists():
            print(f"seed {s}: finished earlier ({path})")
            continue
        r = run_seed(a, s)
        path.write_text(json.dumps(r))
    if a.report:
        print(report(out, seeds=a.pool))


if __name__ == "__main__":
    main()
