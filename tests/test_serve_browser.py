"""The serve pages in a real headless Chromium (Debian's, driven by Playwright): draw a "1" and a "0" with pointer
events and read the answer from the page; train XOR on the playground until the page reports 100 % accuracy; no
console errors; a screenshot of each page (for the README's docs/images when NUMPYNN_SCREENSHOTS names that
folder: `NUMPYNN_SCREENSHOTS=docs/images pytest tests/test_serve_browser.py`; else a temporary one, so a test run
leaves the tracked images alone)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

from numpynn.serve import DrawModel

from .serve_support import RunningServer, train_digit_model

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the test extra has it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (tools/install-system-deps.sh installs it)")

PNG = b"\x89PNG\r\n\x1a\n"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("NUMPYNN_SCREENSHOTS")
    return Path(where) if where else tmp_path_factory.mktemp("screenshots")


def screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000  # a picture, not an empty page


@pytest.fixture(scope="module")
def server():
    running = RunningServer(DrawModel(train_digit_model()))
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        except sync_api.Error as exc:
            pytest.skip(f"Chromium does not start here: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records every console error and uncaught exception."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def stroke(page, points):
    """One stroke of the mouse over the drawing pad, through pointer events, at pad coordinates (0-280)."""
    box = page.locator("#pad").bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=2)
    page.mouse.up()


def wait_for_answer(page, label):
    page.wait_for_function("label => document.getElementById('prediction').textContent === label", arg=label,
                           timeout=15_000)


def test_draw_a_one_and_a_zero(server, page, shots):
    page.goto(server.url + "draw")
    page.wait_for_selector("#bars .bar >> nth=9")  # a bar per class, drawn once the model's info came
    stroke(page, [(150 - 3 * i, 50 + 18 * i) for i in range(11)])
    wait_for_answer(page, "1")
    assert page.locator("#bars .bar").count() == 10 and page.locator("#bars .bar.best").count() == 1
    assert page.locator("#hidden .cells span").count() == 64
    assert page.locator("#units figure").count() == 8
    # a second stroke, then undo: back to the "1"
    stroke(page, [(60, 140), (220, 140)])
    page.wait_for_function("() => document.getElementById('prediction').textContent !== '1'", timeout=15_000)
    page.click("#undo")
    wait_for_answer(page, "1")

    page.click("#clear")
    assert page.locator("#prediction").text_content() == ""
    ellipse = [(140 + 62 * math.sin(2 * math.pi * t / 40), 140 - 95 * math.cos(2 * math.pi * t / 40))
               for t in range(41)]
    stroke(page, ellipse)
    wait_for_answer(page, "0")
    screenshot(page, shots / "serve-draw.png")
    assert page.errors == []


def test_playground_learns_xor_with_2_4_1_tanh(server, page, shots):
    page.goto(server.url + "playground")
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#dataset", "xor")
    page.select_option("#optimizer", "adam")
    page.select_option("#lr", "0.03")
    rows = page.locator(".layer-row")
    assert rows.count() == 1  # 2 inputs -> 4 tanh -> 1 output
    rows.locator("input").fill("4")
    rows.locator("select").select_option("tanh")
    page.click("#reset")
    page.click("#play")  # waits until the button is enabled again: the new session is there
    page.wait_for_function("() => document.getElementById('accuracy').textContent === '100.0 %'", timeout=60_000)
    screenshot(page, shots / "serve-playground.png")
    page.click("#play")  # pause
    page.wait_for_function("() => document.getElementById('play').textContent === 'Play'")
    epoch = int(page.locator("#epoch").text_content())
    assert epoch > 0
    loss = float(page.locator("#train-loss").text_content())
    assert loss < 0.69  # below chance level, log 2
    # paused means paused: the page shows the last state and no more epochs come
    page.wait_for_timeout(300)
    assert int(page.locator("#epoch").text_content()) == epoch
    assert page.errors == []
