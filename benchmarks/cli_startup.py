"""Start-up time of the command line: wall-clock seconds of `perfusion --help`, a subcommand's `--help`, an argument
error and `perfusion gpu --help`, each in a fresh Python process, for this checkout and (optionally) another one.

    python benchmarks/cli_startup.py [--repeats 5] [--before PATH]

`--before PATH` times the package found at PATH (a checkout of an earlier commit, e.g. made with
`git worktree add /tmp/before COMMIT`) in the same run, interleaved with this checkout's runs, so that both see the
same machine load. Reported: the median and the slowest of `--repeats` runs (the first run of each also pays for a
cold file cache).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "perfusion --help": ["--help"],
    "perfusion train --help": ["train", "--help"],
    "perfusion train --steps ten (argument error)": ["train", "--steps", "ten"],
    "perfusion gpu --help": ["gpu", "--help"],
    "perfusion gpu rm --pairs x (argument error)": ["gpu", "rm", "--pairs", "x"],
}


def time_once(root: Path, argv: list[str]) -> float:
    "Seconds for `main(argv)` in a fresh interpreter that imports `perfusion` from `root`."
    code = "import sys; from perfusion.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(root)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, cwd=root)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before", help="another checkout to time in the same run")
    a = ap.parse_args()
    roots = {"this checkout": Path(__file__).resolve().parent.parent}
    if a.before:
        roots = {"before": Path(a.before).resolve(), **roots}
    times = {(r, c): [] for r in roots for c in CASES}
    for _ in range(a.repeats):
        for c, argv in CASES.items():
            for r, root in roots.items():
                times[r, c].append(time_once(root, argv))
    print("| command | " + " | ".join(f"{r}: median (slowest) s" for r in roots) + " |")
    print("|---|" + "---|" * len(roots))
    for c in CASES:
        cells = [f"{statistics.median(times[r, c]):.2f} ({max(times[r, c]):.2f})" for r in roots]
        print(f"| `{c}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
