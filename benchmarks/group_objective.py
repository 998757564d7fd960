"""Group objective vs pairwise Diffusion-DPO on the expanded pairs, and peak memory of a PerFusion step vs an SFT step.

Usage: python benchmarks/group_objective.py [--steps 6] [--groups 4] [--json out.json]

Throughput: groups of N=5 candidates with K=2 positives. (a) PerFusion's group objective runs the N candidates of a
group once (model + frozen reference). (b) The pairwise route expands each group into its |P|x|N| = 6 (winner, loser)
pairs and trains Diffusion-DPO on them, 2 candidates per pair. Same model (mini-SD + personalized adapter), same
optimizer, same machine, alternating in one run; reported as groups/s and their ratio.

Memory: what a PerFusion step keeps for the backward pass vs an SFT step (positives only, no reference pass), counted
exactly with torch's saved-tensor hooks (distinct storages, bytes); parameters and optimizer state are the same for
both and are reported once. Resident-set sampling is too coarse for a 3 M-parameter model on a CPU.
"""
import argparse, json, platform, statistics, time

import torch


def setup(groups, n=5, k=2, seed=0):
    from diffusers import DDPMScheduler
    from perfusion.data import FeatureVocab
    from perfusion.foundation import load_mini_sd
    from perfusion.train import GenTrainConfig, build_generator_model
    pipe = load_mini_sd()
    vocab = FeatureVocab({"user_id": [f"u{i}" for i in range(600)], "style": list("abcd")})
    torch.manual_seed(seed)
    punet = build_generator_model(pipe, vocab, GenTrainConfig(method="perfusion"))
    opt = torch.optim.AdamW([p for p in punet.adapter.parameters() if p.requires_grad], lr=1e-5)
    g = torch.Generator().manual_seed(seed)
    batch = {"latents": torch.randn(groups, n, 4, 16, 16, generator=g),
             "encoder_hidden_states": torch.randn(groups, 32, 128, generator=g),
             "feature_ids": torch.randint(1, 4, (groups, 2), generator=g),
             "labels": torch.tensor([[1] * k + [0] * (n - k)] * groups, dtype=torch.float32),
             "mask": torch.ones(groups, n, dtype=torch.bool)}
    return punet, opt, batch, DDPMScheduler.from_config(pipe.scheduler.config)


def pairs_of(batch):
    "Each group -> its (positive, negative) pairs as groups of 2 (winner first)."
    rows = []
    for b in range(len(batch["labels"])):
        pos = [i for i in range(batch["labels"].shape[1]) if batch["labels"][b, i] == 1]
        neg = [i for i in range(batch["labels"].shape[1]) if batch["labels"][b, i] == 0]
        rows += [(b, p, q) for p in pos for q in neg]
    return {"latents": torch.stack([batch["latents"][b, [p, q]] for b, p, q in rows]),
            "encoder_hidden_states": torch.stack([batch["encoder_hidden_states"][b] for b, _, _ in rows]),
            "feature_ids": torch.stack([batch["feature_ids"][b] for b, _, _ in rows]),
            "labels": torch.tensor([[1.0, 0.0]] * len(rows)), "mask": torch.ones(len(rows), 2, dtype=torch.bool)}


def step(punet, opt, batch, sched, objective, seed):
    from perfusion.losses import group_preference_loss, pairwise_dpo_loss, sft_loss
    from perfusion.train import candidate_errors
    gen = torch.Generator().manual_seed(seed)
    if objective == "sft":
        pos = (batch["labels"] == 1) & batch["mask"]
        err, _ = candidate_errors(punet, batch, sched, gen, rows=pos)
        loss = sft_loss(err, batch["labels"], pos)
    else:
        err, ref = candidate_errors(punet, batch, sched, gen, reference=punet)
        loss = (group_preference_loss if objective == "group" else pairwise_dpo_loss)(err, ref, batch["labels"], 2500.0, batch["mask"])
    opt.zero_grad(); loss.backward(); opt.step()


def saved_for_backward_mb(fn) -> float:
    "MB of distinct tensors autograd saves for the backward pass while `fn` runs."
    seen = {}
    def pack(t):
        seen[(t.untyped_storage().data_ptr(), t.device)] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): fn()
    return sum(seen.values()) / 2**20


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--steps", type=int, default=6); ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--json")
    a = ap.parse_args()
    punet, opt, batch, sched = setup(a.groups)
    pairs = pairs_of(batch)
    runs = {"group objective": lambda i: step(punet, opt, batch, sched, "group", i),
            "pairwise DPO on expanded pairs": lambda i: step(punet, opt, pairs, sched, "pairwise", i)}
    times = {k: [] for k in runs}
    for f in runs.values(): f(0)                                     # warm-up
    for i in range(a.steps):
        for k, f in runs.items():
            t = time.perf_counter(); f(i + 1); times[k].append(time.perf_counter() - t)
    gps = {k: a.groups / statistics.median(v) for k, v in times.items()}
    ratio = gps["group objective"] / gps["pairwise DPO on expanded pairs"]
    for k, v in gps.items(): print(f"{k:32s} {v:6.2f} groups/s  (median of {a.steps} steps of {a.groups} groups)")
    print(f"ratio {ratio:.2f}x  ({len(pairs['labels'])} pairs = {2 * len(pairs['labels'])} candidates vs {batch['latents'].shape[0] * batch['latents'].shape[1]})")
    mem = {obj: saved_for_backward_mb(lambda: step(punet, opt, batch, sched, obj, 0)) for obj in ("group", "sft")}
    params = sum(p.numel() * p.element_size() for p in punet.parameters()) / 2**20
    trainable = sum(p.numel() for p in punet.adapter.parameters() if p.requires_grad)
    print(f"saved for backward per step of {a.groups} groups: PerFusion {mem['group']:.1f} MB, SFT {mem['sft']:.1f} MB (ratio {mem['group'] / mem['sft']:.2f}); "
          f"parameters {params:.1f} MB + AdamW state {2 * trainable * 4 / 2**20:.1f} MB for both")
    if a.json:
        open(a.json, "w").write(json.dumps({"info": {"torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine()},
                                            "groups_per_s": gps, "ratio": ratio, "saved_for_backward_mb": mem, "groups": a.groups, "steps": a.steps}, indent=1))


if __name__ == "__main__":
    main()
