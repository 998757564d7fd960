#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb (nbdev-readme needs Quarto, which is not available everywhere).

Markdown cells are copied as they are; code cells become ```python blocks followed by their text output.
Cells marked `#| hide` are left out and `#|` directive lines are removed.
`--check` exits with status 1 if README.md differs from what the notebook gives.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _text(x):
    return "".join(x) if isinstance(x, list) else x


def render(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    parts = []
    for cell in nb["cells"]:
        src = _text(cell["source"])
        lines = src.splitlines()
        directives = [l.strip()[2:].replace(" ", "") for l in lines if l.strip().startswith("#|")]
        if any(d == "hide" or d.startswith("export") or d == "include:false" for d in directives):
            continue
        body = "\n".join(l for l in lines if not l.lstrip().startswith("#|")).strip("\n")
        show_code, show_output = "echo:false" not in directives, "output:false" not in directives
        if cell["cell_type"] == "markdown":
            parts.append(body)
        elif cell["cell_type"] == "code" and body:
            if show_code:
                parts.append(f"```python\n{body}\n```")
            out = []
            for o in (cell.get("outputs", []) if show_output else []):
                if o.get("output_type") == "stream":
                    out.append(_text(o["text"]))
                elif "text/plain" in o.get("data", {}) and "text/markdown" not in o.get("data", {}):
                    out.append(_text(o["data"]["text/plain"]) + "\n")
            if out:
                parts.append("```\n" + "".join(out).rstrip("\n") + "\n```")
    return "\n\n".join(parts) + "\n"


def main(argv):
    text = render(ROOT / "nbs" / "index.ipynb")
    readme = ROOT / "README.md"
    if "--check" in argv:
        if not readme.exists() or readme.read_text() != text:
            print("README.md disagrees with nbs/index.ipynb: run `python tools/make_readme.py`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
