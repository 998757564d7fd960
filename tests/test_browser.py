"""Browser tests: the studio notebook driven in JupyterLab through headless Chromium, and the demo's report.html.

They need Debian's Chromium (`apt-get install -y chromium`, which `.ci/run` does) and the `playwright` package (dev
extras). Without Chromium they are skipped with the reason — except under CI=true, where a skip would hide a broken
install, so they fail instead.
"""
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import launch

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PERFUSION_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _studio_copy(dest: Path) -> Path:
    "The notebook `perfusion studio` opens, written the way the command writes it."
    from perfusion.studio import write_studio_notebook
    return write_studio_notebook(dest / "studio.ipynb")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    _studio_copy(work)
    port, token = _free_port(), "perfusion-browser-test"
    env = {**os.environ, "PERFUSION_STUDIO_STORE": str(work / "store"), "JUPYTER_CONFIG_DIR": str(work / ".jupyter")}
    log = open(work / "jupyter.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
        except Exception: time.sleep(0.5)
    else:
        proc.terminate(); pytest.fail("JupyterLab did not start: " + (work / "jupyter.log").read_text()[-2000:])
    yield url, token, work
    proc.terminate(); proc.wait(timeout=30)


def test_studio_click_two_and_submit(playwright, lab):
    url, token, work = lab
    browser = launch(playwright)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/tree/studio.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.get_by_text(re.compile(r"\|\s*Idle")).first.wait_for(timeout=120_000)     # the kernel is up ("Python 3 (ipykernel) | Idle")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    button = lambda text: page.locator("button", has_text=re.compile(f"^\\s*{text}\\s*$"))
    pick1 = button("pick 1")
    pick1.wait_for(timeout=300_000)
    button("pick 3").click(); pick1.click()
    button("Submit").click()
    page.get_by_text("recorded round 0").wait_for(timeout=60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pick1.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "studio.png"))
    browser.close()
    with sqlite3.connect(work / "store" / "feedback.sqlite") as con:
        rows = con.execute("SELECT session, round, prompt, labels, usable, images FROM rounds").fetchall()
    assert len(rows) == 1, rows
    session, rnd, prompt, labels, usable, images = rows[0]
    assert session and (rnd, prompt, json.loads(labels), usable) == (0, "dress, v-neck, slim-fit, long sleeves", [1, 0, 1, 0, 0], 1)
    assert all((work / "store" / p).stat().st_size > 0 for p in json.loads(images))


def test_report_renders(playwright, tmp_path):
    from dataclasses import replace

    from perfusion.demo import DemoConfig, demo_gen, run_demo
    from perfusion.train_rm import RMTrainConfig
    tiny = DemoConfig(groups=60, rm=RMTrainConfig(max_steps=2, eval_every=1, eval_groups=200, save_every=50), rm_variants=("duplicated",),
                      gen_methods=("dpo", "sft", "perfusion"), gen=replace(demo_gen(), max_steps=2), gen_pf_steps=3, n_pairs=4,
                      sample_steps=4, case_n=2, n_boot=50)
    run_demo(tmp_path / "demo", cfg=tiny, progress=False)
    browser = launch(playwright)
    page = browser.new_page()
    page.goto((tmp_path / "demo" / "report.html").as_uri())
    assert page.locator("table").count() == 4          # Table 1, Table 2, paired differences, case study
    assert page.locator("table").nth(0).locator("tr").count() >= 4          # header + oracle, general, PerFusionRM
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert len(widths) == 5 and all(w > 100 for w in widths), widths
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    browser.close()
