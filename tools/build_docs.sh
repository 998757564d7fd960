#!/usr/bin/env bash
# Build the docs site into _docs/ with Octavo, here where Quarto cannot be installed (the published site is still built
# by nbdev's Quarto workflow in .github/). Usage, from anywhere in the repository:
#
#     bash tools/build_docs.sh
#
# 1. a docs environment, build/docs-venv (git-ignored), with Python 3.12 and docs_requirements.txt; reused when it exists
#    and the requirements have not changed. Python 3.12 is taken from $DOCS_PYTHON, else pyenv, else python3.12 on PATH;
# 2. the project's own .venv/bin/nbdev-proc-nbs (README's install makes .venv) writes _proc/;
# 3. tools/docs_octavo.py builds _proc/ into _docs/ (front matter, course-order sidebar, maths with KaTeX vendored from
#    the npm registry into the site, so that it renders offline).
#
# Then: `python3 -m http.server -d _docs 8000` to read it, and `.venv/bin/python -m pytest tests/test_docs_site.py` to
# open every page in Chromium. Environment: DOCS_VENV (default build/docs-venv), DOCS_PYTHON, SKIP_PROC=1 (reuse _proc/).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
venv=${DOCS_VENV:-build/docs-venv}
req=docs_requirements.txt

find_python() {
  if [ -n "${DOCS_PYTHON:-}" ]; then echo "$DOCS_PYTHON"; return; fi
  local p
  local root=${PYENV_ROOT:-$HOME/.pyenv}/versions  # 3.12 first (what Octavo is tested with here), then newer
  for p in $(ls -d "$root"/3.12*/bin/python3 2>/dev/null | sort -V -r) "$(command -v python3.12 || true)" \
           $(ls -d "$root"/3.1[3-9]*/bin/python3 2>/dev/null | sort -V -r) "$(command -v python3.13 || true)"; do
    [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$p"; return; }
  done
  return 1
}

if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/.docs_requirements.txt" && "$venv/bin/python" -c 'import octavo' 2>/dev/null; then
  echo "docs: reusing $venv ($("$venv/bin/python" -c 'import octavo; print("octavo", octavo.__version__)'))"
else
  py=$(find_python) || { echo "docs: Python >= 3.12 not found (Octavo needs it): set DOCS_PYTHON, or 'pyenv install 3.12'"; exit 1; }
  echo "docs: creating $venv with $py ($("$py" --version))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" 2>&1 | grep -v "^WARNING: Location 'file:" || true
  "$venv/bin/python" -c 'import octavo' || { echo "docs: installing $req into $venv failed"; exit 1; }
  cp "$req" "$venv/.docs_requirements.txt"
fi

if [ "${SKIP_PROC:-0}" != 1 ]; then
  [ -x .venv/bin/nbdev-proc-nbs ] || { echo "docs: .venv/bin/nbdev-proc-nbs not found: install the project first (README's test command)"; exit 1; }
  echo "docs: nbdev-proc-nbs -> _proc/"
  # nbdev offers to install Quarto, which fails here without harm ("sudo: not found"); those lines are dropped.
  set +o pipefail
  .venv/bin/nbdev-proc-nbs 2>&1 | grep -v -E "^(Quarto is not installed|Installing or upgrading quarto|sh: 1: sudo: not found|Cancelled. Please download)" || true
  status=${PIPESTATUS[0]}
  set -o pipefail
  [ "$status" -eq 0 ] || { echo "docs: nbdev-proc-nbs failed (exit $status)"; exit 1; }
fi

"$venv/bin/python" tools/docs_octavo.py --src _proc --out _docs --sidebar nbs/sidebar.yml
# The search index again, with pagefind's own command, which exits only when every file is written: the index that
# Octavo writes through pagefind's Python service was once left truncated on a loaded machine (the page scripts then
# failed with "Unexpected end of input").
pagefind=$("$venv/bin/python" -c 'import pagefind_bin, pathlib; print(pathlib.Path(pagefind_bin.__file__).parent / "pagefind")')
rm -rf _docs/pagefind
"$pagefind" --site _docs --root-selector main --output-subdir pagefind > /tmp/perfusion-pagefind.log 2>&1 \
  || { tail -20 /tmp/perfusion-pagefind.log; echo "docs: pagefind failed"; exit 1; }
echo "docs: built _docs/ in $(( $(date +%s) - start )) s; read it with: python3 -m http.server -d _docs 8000"
