"""Build the docs site from nbdev's processed notebooks (`_proc/`) with Octavo, where Quarto is not available.

Run it with the docs environment's Python (Octavo needs Python >= 3.12), after `nbdev-proc-nbs`:

    build/docs-venv/bin/python tools/docs_octavo.py --src _proc --out _docs

`tools/build_docs.sh` does all of this. What this adds to a plain `octavo.site.Site.from_dir` build:

- nbdev writes each notebook's front matter (title, description, output-file) as a *raw* first cell; Octavo would
  show a raw cell as a code block, so it is turned into a Markdown cell, which Octavo reads as the page's front matter.
- The description under each title is rendered as Markdown, as Quarto does (Octavo prints it as it is).
- Pages keep the file names Quarto gives them (`output-file`, e.g. `02a_sources.ipynb` -> `sources.html`).
- The sidebar follows `nbs/sidebar.yml` (the course order), not Octavo's default order by title.
- API signatures name types as the code does: nbdev writes the notebooks' own classes as `__main__.X` (they are
  defined while the notebook runs) and other annotations fully qualified; `__main__.X` becomes `X`, and so does a class
  of the libraries that export their classes at the top (`diffusers.models....AutoencoderKL` -> `AutoencoderKL`).
  numpy's and torch's stay qualified (`numpy.random._generator.Generator` and `torch._C.Generator` would collide).
- Maths: `$...$` and `$$...$$` are read as maths (Octavo's default reads only `\\(...\\)`), and KaTeX, which the pages
  load from a CDN, is vendored into the site from the npm registry so that maths renders offline too.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml
from docs_sidebar import sidebar_items  # tools/, the script's own folder, is on sys.path
from mdhtml import md2mdhtml, mdhtml2html
from octavo.pages import GeneratedFile, scan
from octavo.site import Site, relhref

try: from mdhtml.md2html import KATEX as KATEX_CDN  # e.g. https://cdn.jsdelivr.net/npm/katex@0.16.22/dist
except ImportError: KATEX_CDN = None
VENDOR = '_vendor'
SITE_CSS = '_vendor/perfusion-docs.css'
# Octavo breaks words anywhere in the article, which squeezes table columns of code to a few letters a line
# (`08_t|rain|_rm`): tables keep whole words, and scroll sideways when even that does not fit.
# Cell outputs set apart from the code above them, as nbs/styles.css does for Quarto.
CSS = """main.prose table { display: block; max-width: 100%; overflow-x: auto; overflow-wrap: normal; }
main.prose .output pre { margin-left: 0.8rem; background: none; border-left: 2px solid lightsalmon; border-radius: 0; }
"""


def front_matter_cell(nb):
    "nbproc for Octavo: nbdev's raw front-matter cell becomes Markdown, so Octavo parses it instead of showing it as code"
    cells = nb.cells
    if cells and cells[0].cell_type == 'raw' and ''.join(cells[0].source).lstrip().startswith('---'):
        cells[0].cell_type = 'markdown'
        cells[0].source = ''.join(cells[0].source).lstrip()
    return nb


_QUALIFIED = re.compile(r'(?<![\w.])((?:[A-Za-z_]\w*\.)+)([A-Za-z_]\w*)')
_STRING_OR_COMMENT = re.compile(r'("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*)')
# libraries whose classes are known by their name alone (each exports them at its top level)
_SHORT_LIBS = ('diffusers', 'transformers', 'perfusion', 'huggingface_hub', 'accelerate', 'datasets', 'PIL')


def short_name(m: re.Match) -> str:
    "`__main__.X` -> `X`; a class of `_SHORT_LIBS` (`diffusers.models.vae.AutoencoderKL`) -> its name; others unchanged"
    prefix, name = m[1], m[2]
    if prefix == '__main__.': return name
    is_class = name[:1].isupper() and any(ch.islower() for ch in name)  # CapWords, not an ENUM_MEMBER
    return name if is_class and prefix.split('.')[0] in _SHORT_LIBS else m[0]


def short_code(code: str) -> str:
    "Qualified names shortened in a signature, outside its strings and comments"
    parts = _STRING_OR_COMMENT.split(code)  # odd parts are strings or comments
    return ''.join(p if i % 2 else _QUALIFIED.sub(short_name, p) for i, p in enumerate(parts))


def short_signatures(nb):
    "nbproc: the signature blocks of show_doc outputs name types without their modules (see the module docstring)"
    for c in nb.cells:
        for o in c.get('outputs', []) if c.cell_type == 'code' else []:
            md = o.get('data', {}).get('text/markdown')
            if md is None: continue
            md = ''.join(md)
            if not md.lstrip().startswith('---') or '```python' not in md: continue
            parts = md.split('```')  # odd parts are the code blocks
            for i in range(1, len(parts), 2):
                if parts[i].startswith('python'): parts[i] = short_code(parts[i])
            o['data']['text/markdown'] = '```'.join(parts)
    return nb


def nbproc(nb):
    "Every rewrite of a processed notebook before Octavo reads it"
    return short_signatures(front_matter_cell(nb))


def sidebar_links(contents, dest_of):
    "Quarto sidebar `contents` as Octavo's `sidebar_links`: `{text, href, children}`, text left to the page title"
    res = []
    for o in contents or []:
        if isinstance(o, str): o = {'href': o}
        if not isinstance(o, dict): continue
        item = {}
        if o.get('href'):
            if o['href'] not in dest_of: print(f'docs: sidebar entry {o["href"]!r} has no page; left out', file=sys.stderr); continue
            item['href'] = dest_of[o['href']]
        if o.get('text') or o.get('section'): item['text'] = o.get('text') or o.get('section')
        if o.get('contents'): item['children'] = sidebar_links(o['contents'], dest_of)
        if item.get('href') or item.get('children'): res.append(item)
    return res


def vendor_katex(cache: Path) -> Path | None:
    "KaTeX's `dist/` folder of the version mdhtml links to, fetched once with `npm pack` into `cache`; None if it can't be"
    if not KATEX_CDN or not (m := re.search(r'katex@([\w.-]+)/dist', KATEX_CDN)): return None
    dist = cache / f'katex-{m[1]}' / 'dist'
    if (dist / 'katex.mjs').exists(): return dist
    if not shutil.which('npm'):
        print('docs: npm not found, so KaTeX is not vendored: maths renders only where the CDN can be reached', file=sys.stderr)
        return None
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(['npm', 'pack', f'katex@{m[1]}', '--pack-destination', tmp, '--silent'], capture_output=True, text=True, check=False)
        tgz = next(Path(tmp).glob('katex-*.tgz'), None)
        if r.returncode or tgz is None:
            print(f'docs: `npm pack katex@{m[1]}` failed, so maths renders only online:\n{r.stderr[-800:]}', file=sys.stderr)
            return None
        with tarfile.open(tgz) as t:
            members = [o for o in t.getmembers() if o.name.startswith('package/dist/') and (o.isfile() or o.isdir())]
            t.extractall(tmp, members=members, filter='data')
        shutil.rmtree(dist.parent, ignore_errors=True); dist.parent.mkdir(parents=True)
        shutil.move(Path(tmp) / 'package' / 'dist', dist)
    return dist


def localise_katex(out: Path, pages, dist: Path | None):
    "Copy KaTeX into the site and point every page at that copy instead of the CDN"
    if dist is None or not KATEX_CDN: return
    shutil.copytree(dist, out / VENDOR / 'katex')
    for p in pages:
        f = out / p.dest
        html = f.read_text()
        local = relhref(p.dest, f'{VENDOR}/katex')
        if not local.startswith('.'): local = './' + local  # an ES module import needs an explicit relative path
        f.write_text(html.replace(KATEX_CDN, local))


def render_descriptions(out: Path, pages):
    "Octavo writes the front matter's description as it is; Quarto renders its Markdown (`code`, *emphasis*): do that"
    for p in pages:
        if not isinstance(d := p.meta.get('description'), str): continue
        f = out / p.dest
        html, old = f.read_text(), f'<p class="description">{d}</p>'
        if old not in html: continue
        new = mdhtml2html(md2mdhtml(d, math='dollars')).strip()
        if new.startswith('<p>') and new.endswith('</p>'): new = new[3:-4]
        f.write_text(html.replace(old, f'<p class="description">{new}</p>', 1))


def build(src: Path, out: Path, sidebar: Path, project: Path, vendor_cache: Path):
    src, out = src.resolve(), out.resolve()
    cfg = {}
    if (src / 'nbdev.yml').exists(): cfg = (yaml.safe_load((src / 'nbdev.yml').read_text()) or {}).get('website', {})
    order = yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents'] if sidebar.exists() else []

    pages = scan(src, nbproc=nbproc, exclude=['*.yml', '*.css'])
    for p in pages:  # keep Quarto's page names, so links written for the published site (`sources.html`) work here
        if of := p.meta.get('output-file'): p.nm = Path(of).stem
    dests = [p.dest for p in pages]
    if len(set(dests)) != len(dests): raise SystemExit(f'docs: two pages share an output name: {sorted(dests)}')
    dest_of = {p.rel: p.dest for p in pages}
    rank = {rel: i for i, rel in enumerate(sidebar_items(order))}
    for p in pages: p.meta.setdefault('order', rank.get(p.rel, len(rank)))
    if missing := [p.rel for p in pages if p.rel not in rank]:
        print(f'docs: not in {sidebar.name}, so not in the sidebar: {missing}', file=sys.stderr)

    settings = {'title': cfg.get('title', project.name), 'description': cfg.get('description'), 'math': 'dollars',
                'sidebar_links': sidebar_links(order, dest_of) if order else None, 'exclude': ['*.yml', '*.css']}
    if cfg.get('site-url'): settings['site_url'] = cfg['site-url']
    if cfg.get('repo-url'): settings['tools'] = [{'icon': 'github', 'href': cfg['repo-url'], 'label': 'Repository'}]
    settings = {k: v for k, v in settings.items() if v is not None}

    if out == src or src in out.parents: raise SystemExit('docs: the output folder must not be inside the source folder')
    settings['css'] = [SITE_CSS]
    site = Site(pages, root=str(src), files=[GeneratedFile('perfusion-docs.css', SITE_CSS, CSS)], **settings)
    missing_links = site.build(out=str(out))
    render_descriptions(out, pages)
    localise_katex(out, pages, vendor_katex(vendor_cache))
    (out / '.nojekyll').touch()
    if missing_links:
        print('docs: unresolved links to documents:', file=sys.stderr)
        for k, v in missing_links.items(): print(f'  {k}: {", ".join(v)}', file=sys.stderr)
    print(f'docs: wrote {len(pages)} pages to {out}')
    return missing_links


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    root = Path(__file__).resolve().parents[1]
    ap.add_argument('--src', default=root / '_proc', type=Path, help="nbdev-proc-nbs output (default: _proc)")
    ap.add_argument('--out', default=root / '_docs', type=Path, help='site folder, emptied first (default: _docs)')
    ap.add_argument('--sidebar', default=root / 'nbs' / 'sidebar.yml', type=Path, help='course order (default: nbs/sidebar.yml)')
    ap.add_argument('--vendor-cache', default=root / 'build' / 'docs-vendor', type=Path, help='where vendored KaTeX is kept')
    a = ap.parse_args(argv)
    if not a.src.is_dir(): raise SystemExit(f'docs: {a.src} not found: run nbdev-proc-nbs first')
    build(a.src, a.out, a.sidebar, root, a.vendor_cache)


if __name__ == '__main__': main()
