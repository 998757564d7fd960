"""Sizes of the exported cells of the notebooks: how many, the median, how many are small or large.

    python tools/cell_sizes.py [NBS_DIR] [--largest N]

Two counts per cell: its lines of code (the `#| export` line and other cell directives left out) and all its lines.
Reads the notebooks as JSON; imports nothing of the package.
"""

import argparse
import json
import statistics
from pathlib import Path


def exported_cells(nbs: Path) -> list[tuple[str, int, int, str]]:
    "(notebook, lines of code, all lines, first line of code) of every exported code cell."
    rows = []
    for path in sorted(nbs.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            lines = "".join(cell["source"]).splitlines()
            if cell["cell_type"] != "code" or not any(l.startswith("#|") and "export" in l for l in lines):
                continue
            code = [l for l in lines if not l.startswith("#|")]
            rows.append((path.name, len(code), len(lines), next((l for l in code if l.strip()), "")[:70]))
    return rows


def summary(sizes: list[int]) -> str:
    "Count, median, mean and the counts at most 10, over 20, over 40, and the largest."
    n10, n20, n40 = (sum(s <= 10 for s in sizes), sum(s > 20 for s in sizes), sum(s > 40 for s in sizes))
    return (
        f"{len(sizes)} cells, median {statistics.median(sizes):g}, mean {statistics.mean(sizes):.1f}, "
        f"<= 10: {n10}, > 20: {n20}, > 40: {n40}, largest {max(sizes)}"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nbs", nargs="?", default=Path(__file__).resolve().parents[1] / "nbs", type=Path)
    ap.add_argument("--largest", type=int, default=0, help="also list the N largest cells")
    a = ap.parse_args()
    rows = exported_cells(a.nbs)
    print("lines of code:", summary([r[1] for r in rows]))
    print("all lines:    ", summary([r[2] for r in rows]))
    for nb, code, _, first in sorted(rows, key=lambda r: -r[1])[: a.largest]:
        print(f"{code:4d}  {nb:28s} {first}")
