"""End to end in a real browser: Debian's chromium, driven by Playwright, against a studio on loopback.

Browsers cannot be downloaded here: `scripts/setup.sh` installs Debian's chromium and this test fails (it does
not skip) when it is missing, so `make test` cannot pass without the browser check.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import uvicorn
from PIL import Image

from _model_fixtures import AUDIO_RATE, NOTES
from _studio_fakes import by_name
from scorebridge.midi import write_midi
from scorebridge.studio import StudioConfig, create_app

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def serve(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < end and thread.is_alive(), "the studio server did not start"
        time.sleep(0.05)
    return srv, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path):
    srv, thread, url = serve(create_app(StudioConfig(workdir=tmp_path)))
    yield url
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def fake_server(tmp_path):
    """A studio whose jobs are the fakes of _studio_fakes, chosen by the upload's name."""
    srv, thread, url = serve(create_app(StudioConfig(workdir=tmp_path), job=by_name))
    yield url
    srv.should_exit = True
    thread.join(10)


def console_problems(page) -> list[str]:
    """Errors and warnings the page logs (a CSP refusal is one), and uncaught exceptions."""
    found: list[str] = []
    page.on("console", lambda m: found.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: found.append(f"exception: {exc}"))
    return found


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup.sh` (installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def test_upload_a_score_and_see_and_hear_it(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = console_problems(page)
    page.goto(server + "/")
    page.set_input_files("#file", str(EXAMPLE))
    page.click("#go")
    page.wait_for_selector("#score svg g.measure", timeout=60_000)
    page.wait_for_selector("#player[src]", state="attached")
    assert page.is_visible("#player") and page.is_visible("#roll")
    assert page.locator("#downloads a").count() >= 6
    assert page.locator("#score g.measure:not(.bounding-box)").count() == 16
    assert page.text_content("#status").startswith("finished in")  # not "done: done"
    # the tempo mark's note is drawn with Verovio's embedded font (a data: URL the CSP must allow)
    fonts = page.evaluate("""async () => { try { await document.fonts.load('20px Leipzig'); } catch (e) { }
        return [...document.fonts].filter((f) => f.family.replace(/["']/g, '') === 'Leipzig')
          .map((f) => f.status); }""")
    assert fonts and set(fonts) == {"loaded"}, fonts
    # the piano roll has axes: pitch names left of the notes, seconds below them (one read of the canvas)
    inked = page.evaluate("""() => { const c = document.getElementById('roll'), s = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const ink = (x0, y0, x1, y1) => { for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++)
          if (d[(y * c.width + x) * 4 + 3] > 0) return true; return false; };
        return [ink(0, 0, Math.floor(40 * s), c.height),
                ink(Math.floor(50 * s), c.height - Math.floor(16 * s), Math.floor(250 * s), c.height)]; }""")
    assert inked == [True, True]
    # play a moment: the sounding measure is highlighted (the player is muted in headless chromium)
    page.evaluate("() => { const a = document.getElementById('player'); a.muted = true; a.currentTime = 4;"
                  " a.dispatchEvent(new Event('seeked')); }")
    page.wait_for_selector("#score g.measure.sb-playing", timeout=10_000)
    shot = tmp_path / "studio.png"  # kept in pytest's tmp dir (the last three runs stay)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not problems, problems


def offered(page) -> dict[str, str]:
    """Each target shown on the page: "checked", "unchecked" or "disabled"."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#targets label[data-target]')]
        .filter((l) => !l.hidden).map((l) => { const b = l.querySelector('input');
          return [b.value, b.disabled ? 'disabled' : b.checked ? 'checked' : 'unchecked']; }))""")


def test_targets_are_offered_per_input_type(server, browser, tmp_path):
    write_midi(NOTES, tmp_path / "song.mid")
    t = np.arange(AUDIO_RATE) / AUDIO_RATE
    sf.write(tmp_path / "take.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_RATE)
    Image.new("L", (200, 100), 255).save(tmp_path / "page.png")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = console_problems(page)
    page.goto(server + "/")
    page.wait_for_function("() => document.getElementById('model-state').textContent !== ''")
    # without a model: what a MIDI file can become without one is ticked (audio by FluidSynth), MIDI itself is not
    # offered
    page.set_input_files("#file", str(tmp_path / "song.mid"))
    assert offered(page) == {"notation": "checked", "audio": "checked", "image": "checked"}
    assert "needs a model" not in page.text_content("label[data-target=audio]")
    assert page.is_hidden("#input-row")
    page.set_input_files("#file", str(tmp_path / "take.wav"))  # a recording: heard at once, read by a model only
    assert offered(page) == {"notation": "disabled", "midi": "disabled", "image": "disabled"}
    assert page.is_visible("#input-row") and page.get_attribute("#input-player", "src").startswith("blob:")
    page.set_input_files("#file", str(tmp_path / "page.png"))
    assert offered(page) == {"notation": "disabled", "midi": "disabled", "audio": "disabled"}
    assert page.is_hidden("#input-row")
    page.set_input_files("#file", str(EXAMPLE))
    assert offered(page) == {"notation": "disabled", "midi": "checked", "image": "checked", "audio": "checked"}
    assert page.is_checked("label[data-target=notation] input")  # always made from a score
    # a MIDI file translated with the defaults: its roll, and the file itself to listen to (FluidSynth)
    page.set_input_files("#file", str(tmp_path / "song.mid"))
    page.click("#go")
    page.wait_for_selector("#score svg g.measure", timeout=60_000)
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('finished')")
    assert page.is_visible("#roll") and page.is_visible("#input-row")
    # the audio target made by FluidSynth is the file itself played: the player reuses it (else an input.wav)
    assert page.get_attribute("#input-player", "src").endswith(("/score.wav", "/input.wav"))
    assert "MIDI file" in page.text_content("#input-label")
    # a new file clears the previous job's status and player
    page.set_input_files("#file", str(EXAMPLE))
    assert page.is_hidden("#progress") and page.text_content("#status") == ""
    assert not problems, problems


def test_cautions_and_problems_are_listed_not_done_done(fake_server, browser, tmp_path):
    score = tmp_path / "noted.musicxml"
    score.write_bytes(EXAMPLE.read_bytes())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = console_problems(page)
    page.goto(fake_server + "/")
    page.wait_for_function("() => document.getElementById('model-state').textContent !== ''")
    page.set_input_files("#file", str(score))
    page.click("#go")
    page.wait_for_selector("#warnings li")
    assert page.text_content("#warnings li") == "the built-in model cannot read scores reliably yet: check the result"
    assert page.text_content("#problems li") == "score: system 2 was cut short" and page.is_visible("#problems")
    status = page.text_content("#status")
    assert status.startswith("finished in") and "read the notes" in status and "done" not in status
    assert not problems, problems
