"""World-generation throughput on this machine: groups per second for each stage, both regimes, one run.

    python benchmarks/world_throughput.py [--groups 400] [--repeats 3]

Stages: `utilities` (sample merchant, prompt, candidates, utilities and the K-of-N selection, no images),
`render` (the same plus rendering every candidate at 64x64), and `dataset` (`build_world`: render and
store as a `datasets.Dataset`). Reported: the best of `--repeats` runs, groups/s and images/s.
"""
import argparse
import platform
import time

import torch

from perfusion.data import build_world
from perfusion.world import World


def best_rate(fn, n, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    return n / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, python {platform.python_version()}")
    print("| regime | N | stage | groups/s | images/s |")
    print("|---|---|---|---|---|")
    for regime in ("pickapic", "industrial"):
        w = World(regime, seed=0)
        n_img = w.regime.n_candidates
        stages = {
            "utilities": (lambda: w.groups(a.groups * 10), a.groups * 10),
            "render": (lambda: [w.render(g) for g in w.groups(a.groups)], a.groups),
            "dataset": (lambda: build_world(w, n_groups=a.groups, progress=False), a.groups),
        }
        for name, (fn, n) in stages.items():
            r = best_rate(fn, n, a.repeats)
            img = "-" if name == "utilities" else f"{r * n_img:,.0f}"
            print(f"| {regime} | {n_img} | {name} | {r:,.0f} | {img} |")


if __name__ == "__main__":
    main()
