"""Browser test of the built docs site: every page opened in headless Chromium, checked for what a reader would see.

The site is built by `bash tools/build_docs.sh` (Octavo, from `nbdev-proc-nbs`'s `_proc/`) into `_docs/`, or into the
folder named by PERFUSION_DOCS_SITE. Without a built site these tests are skipped with the reason, so the normal test
suite passes without a docs build. The site is served over HTTP on 127.0.0.1 (ES modules do not load from file://), and
every request that leaves this machine is refused: the site must render offline, as it does for a reader behind a
firewall. Set PERFUSION_DOCS_SHOTS to a folder to save a full-page screenshot of each page there.

Each page fails on: `#|` directives in visible text; a heading longer than 120 characters (a paragraph rendered as a
heading); LaTeX left unrendered outside maths (`$$`, `$x$`, `\\frac`, ...) or a KaTeX error; front matter shown as
text; Markdown syntax left as text (`code`, *emphasis*, [link](url)); an image that did not load; a link to a page or
file of the site that does not exist, or to an anchor missing on the page; a JavaScript error; a sidebar not in the
course order of `nbs/sidebar.yml`. The search index must answer a query.
"""
import functools
import http.server
import json
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import launch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from docs_sidebar import sidebar_items  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("PERFUSION_DOCS_SITE", ROOT / "_docs"))
SHOTS = os.environ.get("PERFUSION_DOCS_SHOTS")
BUILD = "bash tools/build_docs.sh"
MAX_HEADING = 120
SKIP_DIRS = {"pagefind", "_vendor", "_octavo"}


def _pages():
    if not (SITE / "index.html").exists(): return []
    res = []
    for p in sorted(SITE.rglob("*.html")):
        rel = p.relative_to(SITE)
        if SKIP_DIRS & set(rel.parts[:-1]): continue
        if 'http-equiv="refresh"' in p.read_text(errors="replace")[:2000]: continue  # alias redirect stubs
        res.append(rel.as_posix())
    return res


PAGES = _pages()


def _front_matter(nb_path: Path) -> dict:
    "The front matter nbdev-proc-nbs wrote as the notebook's first (raw) cell, as a flat dict of strings"
    try: cells = json.loads(nb_path.read_text())["cells"]
    except (OSError, ValueError, KeyError): return {}
    if not cells or cells[0]["cell_type"] != "raw": return {}
    src = "".join(cells[0]["source"])
    return dict(re.findall(r"^([\w-]+):\s*(.*?)\s*$", src, re.MULTILINE))


@functools.cache
def expected_sidebar() -> list[str]:
    "Page addresses in course order: nbs/sidebar.yml's notebooks, named as Quarto names them (front matter output-file)"
    import yaml
    contents = yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    res = []
    for nb in sidebar_items(contents):
        out = _front_matter(ROOT / "_proc" / nb).get("output-file") or re.sub(r"^\d+[a-z]?_", "", Path(nb).stem) + ".html"
        res.append(str(Path(nb).parent / out).removeprefix("./"))
    return res


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


@pytest.fixture(scope="module")
def site_url():
    if not PAGES: pytest.skip(f"the docs site is not built ({SITE / 'index.html'} not found): run `{BUILD}` first")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown(); srv.server_close()


@pytest.fixture(scope="module")
def browser(site_url, playwright):
    b = launch(playwright)
    yield b
    b.close()


# Runs in the page once it has loaded; returns what a reader would see wrong.
CHECKS_JS = r"""
async (maxHeading) => {
  const main = document.querySelector('main') || document.body;
  const res = {directives: [], headings: [], latex: [], mathErrors: [], frontMatter: [], markdown: [], images: [], links: [], anchors: [], sidebar: [], mainTypes: []};
  // Images: load lazy ones too, then wait (bounded) for every image to settle.
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.race([Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; }))),
                      new Promise(r => setTimeout(r, 30000))]);
  for (const i of imgs) if (!i.complete || i.naturalWidth === 0) res.images.push(i.getAttribute('src').slice(0, 120));
  // Maths: wait (bounded) for KaTeX to render every carrier.
  const pending = () => main.querySelectorAll('span.math:not([data-mathed]), div.math:not([data-mathed])').length;
  for (let t = 0; t < 300 && pending(); t++) await new Promise(r => setTimeout(r, 100));
  for (const el of main.querySelectorAll('.math')) {
    if (!el.querySelector('.katex')) res.latex.push('unrendered: ' + el.textContent.slice(0, 80));
  }
  for (const el of main.querySelectorAll('.katex-error')) res.mathErrors.push(el.textContent.slice(0, 80));
  // API signatures: types named as `__main__.X` (the notebook's own classes, as nbdev qualifies them).
  for (const el of main.querySelectorAll('pre')) {
    const m = el.textContent.match(/__main__\.\w+/);
    if (m) res.mainTypes.push(m[0]);
  }
  // Visible text outside code and rendered maths.
  const skip = 'pre, code, script, style, .katex, .math, template, noscript';
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement && !n.parentElement.closest(skip) && n.parentElement.checkVisibility() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT});
  const blocks = new Map();
  for (let n; (n = walker.nextNode());) {
    const b = n.parentElement.closest('p, li, td, th, h1, h2, h3, h4, h5, h6, blockquote, dd, dt, figcaption, summary') || n.parentElement;
    blocks.set(b, (blocks.get(b) || '') + n.textContent);
  }
  const latex = [/\$\$/, /\\(frac|sum|prod|mathcal|mathbf|mathrm|hat|tilde|log|exp|sigma|alpha|beta|lambda|epsilon|varnothing|top|cdot|cdots|dots|ldots|oplus|otimes|qquad|quad|left|right|sqrt|text|operatorname|in|le|ge|leq|geq|sim|mid|to)\b/,
                 /(^|[^\w$\\])\$[^\s$\d][^$\n]{0,80}?[^\s$\\]\$(?!\d)/, /(^|[^\w$\\])\$[A-Za-z]\$/];
  const markdown = [/(^|[\s(])(\*\*?|__)[A-Za-z][^*_\n]{0,100}?[A-Za-z.)]\2(?=$|[\s.,;:!?)])/, /`[^`\n]+`/, /\[[^\]\n]+\]\([^)\s]+\)/];
  for (const [b, t] of blocks) {
    if (/(^|\n)\s*#\|/.test(t)) res.directives.push(t.trim().slice(0, 100));
    for (const re of markdown) if (re.test(t)) { res.markdown.push(t.trim().slice(0, 140)); break; }
    for (const re of latex) if (re.test(t)) { res.latex.push(t.trim().slice(0, 140)); break; }
  }
  // Directives can also sit in code blocks (a cell shown with its `#|` lines).
  for (const el of main.querySelectorAll('pre')) {
    if (el.checkVisibility() && /(^|\n)\s*#\|\s*[\w-]+\s*:?/.test(el.innerText)) res.directives.push('code: ' + el.innerText.trim().slice(0, 100));
  }
  for (const h of main.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const t = h.textContent.replace(/#$/, '').trim();
    if (t.length > maxHeading) res.headings.push(`${h.tagName}(${t.length} chars): ${t.slice(0, 100)}`);
  }
  // Front matter shown as text: YAML keys or a `---` line near the top of the article.
  const top = main.innerText.split('\n').map(s => s.trim()).filter(Boolean).slice(0, 15);
  for (const l of top) if (/^(---|title:|description:|output-file:|order:|skip_exec:|skip_showdoc:)/.test(l)) res.frontMatter.push(l.slice(0, 100));
  if (/(^|\n)\s*output-file:\s*\S+\.html/.test(main.innerText)) res.frontMatter.push('output-file: ... in the text');
  // Links: every same-origin address, and every in-page anchor.
  const ids = new Set([...document.querySelectorAll('[id]')].map(e => e.id));
  const links = new Set();
  for (const a of document.querySelectorAll('a[href]')) {
    const raw = a.getAttribute('href');
    if (raw.startsWith('#')) { const id = decodeURIComponent(raw.slice(1)); if (id && !id.startsWith('tag=') && !ids.has(id)) res.anchors.push(raw); continue; }
    const u = new URL(raw, location.href);
    if (u.protocol === 'file:') { res.links.push('file: ' + raw); continue; }
    if (u.origin === location.origin) links.add(u.pathname);
  }
  res.linkPaths = [...links];
  res.sidebar = [...document.querySelectorAll('nav[aria-label="Site"] a[href]')].map(a => new URL(a.getAttribute('href'), location.href).pathname);
  res.title = document.title;
  return res;
}
"""


def _exists(path: str) -> bool:
    p = SITE / unquote(path).lstrip("/")
    return p.is_file() or (p.is_dir() and (p / "index.html").is_file())


@pytest.mark.parametrize("rel", PAGES or ["(no site built)"])
def test_docs_page(browser, site_url, rel):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(120_000)
    outside, errors = [], []
    def _route(route):
        u = urlsplit(route.request.url)
        if u.hostname in ("127.0.0.1", "localhost") or u.scheme in ("data", "blob"): route.continue_()
        else: outside.append(route.request.url); route.abort()
    ctx.route("**/*", _route)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    try:
        page.goto(f"{site_url}/{rel}", wait_until="load", timeout=120_000)
        r = page.evaluate(CHECKS_JS, MAX_HEADING)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / (rel.replace("/", "_") + ".png")), full_page=True, timeout=120_000)
    finally:
        ctx.close()
    problems = []
    def add(what, items):
        if items: problems.append(f"{what} ({len(items)}): " + "; ".join(dict.fromkeys(items))[:1500])
    add("`#|` directives visible", r["directives"])
    add(f"headings longer than {MAX_HEADING} chars (markdown rendered as a heading?)", r["headings"])
    add("LaTeX not rendered", r["latex"])
    add("KaTeX errors", r["mathErrors"])
    add("front matter shown as text", r["frontMatter"])
    add("Markdown syntax shown as text (`code`, *emphasis*, [link](url))", r["markdown"])
    add("signatures naming types as `__main__.X`", r["mainTypes"])
    add("images that did not load", r["images"])
    add("links to pages or files that do not exist", r["links"] + [p for p in r["linkPaths"] if not _exists(p)])
    add("in-page anchors with no target", r["anchors"])
    add("JavaScript errors", errors)
    want = ["/" + o for o in expected_sidebar()]
    if r["sidebar"] != want:
        extra, miss = [o for o in r["sidebar"] if o not in want], [o for o in want if o not in r["sidebar"]]
        problems.append(f"sidebar not in the course order of nbs/sidebar.yml: got {r['sidebar']}, want {want}"
                        f" (extra {extra}, missing {miss})")
    assert not problems, f"{rel} ({r['title']}), requests refused as off-machine: {sorted(set(outside))[:5]}\n" + "\n".join(problems)


def test_docs_site_has_every_notebook(site_url):
    "Every notebook in the course order has a page (the per-page test cannot see a page that was never written)"
    missing = [o for o in expected_sidebar() if not (SITE / o).is_file()]
    assert not missing, f"notebooks in nbs/sidebar.yml with no page in {SITE}: {missing}"


def test_docs_search(browser, site_url):
    "The Pagefind index built with the site answers a query, offline"
    ctx = browser.new_context()
    ctx.set_default_timeout(120_000)
    ctx.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    try:
        page = ctx.new_page()
        page.goto(f"{site_url}/index.html", wait_until="load", timeout=120_000)
        urls = page.evaluate("""async () => { const pf = await import('./pagefind/pagefind.js'); await pf.init();
            const r = await pf.search('GAUC'); return Promise.all(r.results.slice(0, 5).map(async x => (await x.data()).url)); }""")
    finally:
        ctx.close()
    assert urls, "search for 'GAUC' found nothing: the Pagefind index is empty or did not load"
    assert all(_exists(u) for u in urls), f"search results point to missing pages: {urls}"
