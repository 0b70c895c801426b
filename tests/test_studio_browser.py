"""End to end in a real browser: Debian's chromium, driven by Playwright, against a studio on loopback.

Browsers cannot be downloaded here: `scripts/setup.sh` installs Debian's chromium and this test fails (it does
not skip) when it is missing, so `make test` cannot pass without the browser check.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from scorebridge.studio import StudioConfig, create_app

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(StudioConfig(workdir=tmp_path)), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < end and thread.is_alive(), "the studio server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_upload_a_score_and_see_and_hear_it(server, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup.sh` (installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server + "/")
            page.set_input_files("#file", str(EXAMPLE))
            page.click("#go")
            page.wait_for_selector("#score svg g.measure", timeout=60_000)
            page.wait_for_selector("#player[src]", state="attached")
            assert page.is_visible("#player") and page.is_visible("#roll")
            assert page.locator("#downloads a").count() >= 6
            assert page.locator("#score g.measure:not(.bounding-box)").count() == 16
            # play a moment: the sounding measure is highlighted (the player is muted in headless chromium)
            page.evaluate("() => { const a = document.getElementById('player'); a.muted = true; a.currentTime = 4;"
                          " a.dispatchEvent(new Event('seeked')); }")
            page.wait_for_selector("#score g.measure.sb-playing", timeout=10_000)
            shot = tmp_path / "studio.png"  # kept in pytest's tmp dir (the last three runs stay)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert not errors, errors
        finally:
            browser.close()
