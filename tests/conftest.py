"""What the browser tests share: where Chromium is, how it is launched, and the `playwright` fixture.

Without Chromium or the `playwright` package the tests that use the fixture are skipped with the reason — except under
CI=true, where a skip would hide a broken install, so they fail instead.
"""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if Path(p).exists()), None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def launch(p):
    "Headless Chromium with the flags these machines need."
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


@pytest.fixture(scope="module")
def playwright():
    why = None
    if CHROMIUM is None: why = "Chromium not found (install Debian's chromium: apt-get install -y chromium)"
    try: from playwright.sync_api import sync_playwright
    except ImportError: why = why or "the playwright package is not installed (pip install -e '.[dev]')"
    if why:
        if os.environ.get("CI") == "true": pytest.fail(f"{why}, and CI=true: the browser tests must run in CI")
        pytest.skip(why)
    with sync_playwright() as p: yield p
