"""The serve pages in a real headless Chromium (Debian's, driven by Playwright): draw a "1" and a "0" with pointer
events and read the answer from the page; train XOR on the playground until the page reports 100 % accuracy; fill
in the form of a penguins model and read its species; names like markup shown as text; no console errors; a
screenshot of each page (for the README's docs/images when NUMPYNN_SCREENSHOTS names that folder:
`NUMPYNN_SCREENSHOTS=docs/images pytest tests/test_serve_browser.py`; else a temporary one, so a test run leaves
the tracked images alone)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

from numpynn.serve import DrawModel, FormModel, load_served

from .serve_support import RunningServer, train_digit_model, train_table_model

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


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """A model trained on the Palmer penguins table written to CSV (the palmerpenguins package's, else the same
    table from tests/data), served."""
    folder = tmp_path_factory.mktemp("penguins")
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        shutil.copy(Path(__file__).parent / "data" / "penguins.csv", folder / "penguins.csv")
    else:
        load_penguins().to_csv(folder / "penguins.csv", index=False)
    served = load_served(train_table_model(folder / "penguins.csv", folder / "run", "species", epochs=10))
    assert isinstance(served, FormModel)
    running = RunningServer(served)
    yield running, served
    running.close()


def _answered(page, count: int) -> None:
    page.wait_for_function("n => Number(document.body.dataset.answered || 0) >= n", arg=count, timeout=15_000)


def _shows(page, served: FormModel, row: dict) -> dict:
    """Wait until the page shows the served model's answer for `row`; that answer."""
    expected = served.predict(row)
    page.wait_for_function(
        "([label, p]) => document.getElementById('prediction').textContent === label && "
        "document.getElementById('confidence').textContent === p",
        arg=[expected["label"], f"probability {100 * max(expected['probabilities']):.1f} %"], timeout=15_000)
    return expected


def test_fill_in_a_penguin_and_read_its_species(penguins, page, shots):
    server, served = penguins
    page.goto(server.url + "form")
    page.wait_for_selector("body[data-ready='1']")
    _answered(page, 1)  # an answer for the row of missing cells, before anything is typed
    names = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
    assert page.locator("#fields label").all_text_contents() == names
    assert page.locator("#column-0 option").all_text_contents() == ["(missing)", "Biscoe", "Dream", "Torgersen"]
    assert page.locator("#column-5 option").all_text_contents() == ["(missing)", "female", "male"]
    medians = {c["name"]: c["median"] for c in served.info()["form"]["columns"] if c["kind"] == "number"}
    assert page.locator("#column-1").get_attribute("placeholder") == f"{medians['bill_length_mm']:.6g}"
    assert page.locator("#column-6").get_attribute("type") == "number"
    _shows(page, served, dict.fromkeys(names))

    gentoo = {"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0, "flipper_length_mm": 217,
              "body_mass_g": 5200, "sex": "male", "year": 2008}
    page.select_option("#column-0", "Biscoe")
    page.locator("#column-1").press_sequentially("47.5", delay=30)  # key by key: predicted as it is typed
    for k, name in enumerate(names[2:5], 2):
        page.fill(f"#column-{k}", str(gentoo[name]))
    page.select_option("#column-5", label="male")
    page.fill("#column-6", "2008")
    expected = _shows(page, served, gentoo)
    assert expected["label"] == "Gentoo"
    bars = page.locator("#bars .bar")
    assert bars.count() == 3 and page.locator("#bars .bar.best").count() == 1
    assert page.locator("#bars .bar .value").all_text_contents() == [f"{100 * p:.1f} %"
                                                                      for p in expected["probabilities"]]
    screenshot(page, shots / "serve-form.png")

    adelie = {"island": "Torgersen", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181,
              "body_mass_g": 3750, "sex": "female", "year": 2007}
    page.select_option("#column-0", "Torgersen")
    for k, name in enumerate(names[1:5], 1):
        page.fill(f"#column-{k}", str(adelie[name]))
    page.select_option("#column-5", label="female")
    page.fill("#column-6", "2007")
    assert _shows(page, served, adelie)["label"] == "Adelie"
    page.click("#clear")  # back to the row of missing cells
    _shows(page, served, dict.fromkeys(names))
    assert page.errors == []


def test_names_like_markup_are_shown_as_text(tmp_path, page):
    """A column named like an image tag with a handler, a category like a script: the page shows them as text and
    makes no element of them; a date column gets a date-and-time input."""
    name, category = '<img src=x onerror="window.pwned=1">', "</option><script>window.pwned=2</script>"
    lines = [f'"{name.replace(chr(34), chr(34) * 2)}",kind,when,label'] + [
        f"{i % 10},{[category, 'plain'][i % 2]},2021-0{1 + i % 9}-1{i % 10} {10 + i % 12}:30,{'ab'[(i // 3) % 2]}"
        for i in range(80)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    served = load_served(train_table_model(tmp_path / "t.csv", tmp_path / "run", "label", epochs=2))
    running = RunningServer(served)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(running.url + "form")
        page.wait_for_selector("body[data-ready='1']")
        _answered(page, 1)
        assert page.locator("#fields label").all_text_contents() == [name, "kind", "when"]
        assert page.locator("#column-1 option").all_text_contents() == ["(missing)", category, "plain"]
        assert page.locator("#fields img, #fields script, main img").count() == 0
        assert page.locator("#column-2").get_attribute("type") == "datetime-local"
        page.fill("#column-0", "4")
        page.select_option("#column-1", label=category)
        page.fill("#column-2", "2021-06-15T12:30")
        _shows(page, served, {name: 4, "kind": category, "when": "2021-06-15T12:30"})
        assert page.evaluate("() => window.pwned") is None and dialogs == []
        assert page.errors == []
    finally:
        running.close()
