"""The diagnosis ladder of nbs/17_personalize.ipynb: train one generator per rung on the demo's data and measure
how much it personalizes, on the same held-out (user, prompt, seed) items for every rung.

Usage:
  python benchmarks/personalization_ladder.py --out DIR [--groups 3000] [--seed 0] [--pairs 96] \
      --run NAME:key=value,key=value ... [--run ...]

Each run trains `perfusion.train.train_generator` on the demo's training split (`world_splits`, the same data as
`perfusion demo --seed S`) and reports, against the base model on the same items: the paired difference of true user
utility, the own-vs-other-user gap (paired), the favourite-colour share and prompt consistency. Run keys: every
`GenTrainConfig` field (method, max_steps, lr, batch_size, user_lr_mult, user_init, t_min, beta, ...), plus
`in_uncond` (0/1: the user conditions the unconditional CFG branch too), `stack` (a finished run's NAME to build on,
as PerFusion builds on DPO in the paper), `oracle_sft` (1: train SFT on each training group's candidate the hidden
taste likes best — an upper bound of what the network can express, never a recipe: the hidden taste labels it),
`on_policy` (a trained PerFusionRM folder: on-policy rounds labelled by it, with `rounds`, `requests`,
`steps_per_round`; max_steps is then rounds x steps_per_round; `on_policy=oracle` lets the hidden taste select — an
upper bound, never a recipe).
Results are appended to DIR/ladder.json (a finished run is not trained again) with the command line.
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np
import torch


def parse_run(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    kv = {}
    for part in filter(None, rest.split(",")):
        k, _, v = part.partition("=")
        try: kv[k] = json.loads(v)
        except json.JSONDecodeError: kv[k] = v
    return name, kv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True); ap.add_argument("--groups", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--pairs", type=int, default=96)
    ap.add_argument("--sample-steps", type=int, default=20); ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--run", action="append", default=[], help="NAME:key=value,... (see the module docstring)")
    ap.add_argument("--gallery", help="PNG: for 6 held-out pairs, the base image and each --run model's images for the "
                                      "requesting merchant and for the other merchant (runs must be finished)")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    from perfusion.data import FeatureVocab
    from perfusion.evaluate import eval_pairs, other_users, paired_difference, score_generations
    from perfusion.sampling import generate
    from perfusion.foundation import load_judge, load_mini_sd
    from perfusion.latents import LatentGroups, cache_latents
    from perfusion.train import GenTrainConfig, train_generator
    from perfusion.data import world_splits
    from perfusion.sampling import generate_personalized
    from perfusion.world import World

    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    res_path = out / "ladder.json"
    results = json.loads(res_path.read_text()) if res_path.exists() else {}
    world = World("industrial", seed=a.seed)
    splits = world_splits("industrial", a.groups, out / "data", seed=a.seed, progress=False)
    pipe = load_mini_sd(); pipe.set_progress_bar_config(disable=True)
    vocab = FeatureVocab.fit(splits["train"])
    data = cache_latents(splits["train"], pipe, vocab, out / "latents-train.safetensors", progress=False)
    pairs = eval_pairs(splits["test"], n=a.pairs, seed=a.seed)
    others = other_users(pairs, world, seed=a.seed)
    prompts = [p["prompt"] for p in pairs]
    fids, ofids = vocab.encode_batch([p["features"] for p in pairs]), vocab.encode_batch([o["features"] for o in others])
    judge = load_judge()
    kw = dict(seed=a.seed + 123, steps=a.sample_steps, guidance_scale=7.0)
    base_path = out / f"base-{a.pairs}-{a.sample_steps}.json"
    if base_path.exists(): base = {k: np.array(v) for k, v in json.loads(base_path.read_text()).items()}
    else:
        base = score_generations(generate(pipe, prompts, **kw), pairs, world, judge)
        base_path.write_text(json.dumps({k: v.tolist() for k, v in base.items()}))
    models = {}
    for spec in a.run:
        name, kv = parse_run(spec)
        in_uncond, stack, oracle = bool(kv.pop("in_uncond", 0)), kv.pop("stack", None), bool(kv.pop("oracle_sft", 0))
        rm_dir, op = kv.pop("on_policy", None), {k: kv.pop(k) for k in ("rounds", "requests", "steps_per_round") if k in kv}
        cfg = GenTrainConfig(**{"log_every": 10, "save_every": 50, "seed": a.seed, **kv})
        train = data
        if oracle:     # upper bound: the hidden taste picks one candidate per group (evaluation-only knowledge)
            lab = torch.zeros_like(data.labels)
            for i, gid in enumerate(data.group_ids):
                g = world.group(int(gid.rsplit("g", 1)[1]))
                lab[i, int(np.argmax(g.utilities))] = 1.0
            train = LatentGroups(data.latents, data.prompt_embeds, data.prompt_index, data.feature_ids, lab, data.mask, data.group_ids)
        backbone, t0 = models.get(stack) if stack else None, time.time()
        if stack and backbone is None: sys.exit(f"{name}: stack={stack} needs that run earlier in the same command")
        if rm_dir:     # on-policy rounds: the current model proposes, the trained PerFusionRM selects
            from perfusion.foundation import load_mini_clip
            from perfusion.reward import PerFusionRM
            from perfusion.onpolicy import OnPolicyConfig, train_on_policy
            clip, proc = load_mini_clip()
            if rm_dir == "oracle":   # UPPER BOUND ONLY: the hidden taste (read through the judge) selects; never a recipe
                from on_policy import OracleLabeller
                rm = OracleLabeller(world, judge, vocab)
            else: rm = PerFusionRM.from_pretrained(rm_dir, clip)
            reqs = [{"prompt": p, "features": dict(f)} for p, f in zip(splits["train"]["prompt"], splits["train"]["features"])]
            punet, log = train_on_policy(pipe, reqs, rm, proc, out / name, cfg, OnPolicyConfig(**op), vocab=vocab)
            rm.remove_hooks()
        else: punet, log = train_generator(pipe, train, out / name, cfg, vocab=vocab, backbone=backbone, progress=True)
        models[name], wall = punet, round(time.time() - t0, 1)     # training, and for on-policy runs their proposing too
        if name in results and results[name]["spec"] == spec:
            print(f"{name}: finished earlier", results[name]["summary"]); continue
        t1 = time.time()
        own = generate_personalized(pipe, punet, prompts, fids, user_in_uncond=in_uncond, **kw)
        other = generate_personalized(pipe, punet, prompts, ofids, user_in_uncond=in_uncond, **kw)
        s_own, s_other = score_generations(own, pairs, world, judge), score_generations(other, pairs, world, judge)
        summ = {"d_utility": paired_difference(s_own["true_utility"], base["true_utility"]),
                "gap": paired_difference(s_own["true_utility"], s_other["true_utility"]),
                "d_taste": paired_difference(s_own["taste"], base["taste"]),
                "fav_colour": float(np.nanmean(s_own["fav_colour"])), "fav_colour_base": float(np.nanmean(base["fav_colour"])),
                "consistency": float(s_own["consistency"].mean()), "consistency_base": float(base["consistency"].mean()),
                "train_s": log["seconds"], "sample_s": round(time.time() - t1, 1)}
        results[name] = {"spec": spec, "config": log["config"], "in_uncond": in_uncond, "stack": stack, "oracle_sft": oracle,
                         "on_policy": op and {**op, "rm": rm_dir}, "wall_s": wall,
                         "summary": summ, "curve": log["history"], "command": " ".join(sys.argv)}
        res_path.write_text(json.dumps(results, indent=1))
        f = lambda d: f"{d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"
        print(f"{name}: d_utility {f(summ['d_utility'])}  gap {f(summ['gap'])}  d_taste {f(summ['d_taste'])}  "
              f"fav_colour {summ['fav_colour']:.3f} (base {summ['fav_colour_base']:.3f})  consistency {summ['consistency']:.3f} "
              f"(base {summ['consistency_base']:.3f})  train {summ['train_s']:.0f}s sample {summ['sample_s']:.0f}s", flush=True)

    if a.gallery:
        from perfusion.world import gallery
        from perfusion.case_study import favourites
        from perfusion.world import parse_prompt
        k = [i for i, p in enumerate(pairs) if not {"colour", "pattern"} & set(parse_prompt(p["prompt"]))][:6]
        ims, caps = [], []
        sub = lambda xs: [xs[i] for i in k]
        cols = {"base": generate(pipe, sub(prompts), **kw)}
        for name, punet in models.items():
            cols[f"{name}: own"] = generate_personalized(pipe, punet, sub(prompts), fids[k], **kw)
            cols[f"{name}: other"] = generate_personalized(pipe, punet, sub(prompts), ofids[k], **kw)
        by_id = {m.user_id: m for m in world.merchants}
        for r, i in enumerate(k):
            fav = favourites(world, by_id[pairs[i]["user_id"]], prompts[i])
            for c, v in cols.items():
                ims.append(v[r]); caps.append(f"{c}" + (f"\n{pairs[i]['user_id']} likes {fav['colour']}, {fav['pattern']}" if c == "base" else ""))
        fig = gallery(ims, caps, ncols=len(cols), title="own features vs another merchant's, same prompt and seed")
        fig.savefig(a.gallery, dpi=90, bbox_inches="tight")
        print(f"gallery written to {a.gallery}")


if __name__ == "__main__":
    main()
