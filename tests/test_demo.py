"""The demo: `make demo` from a fresh clone, and the report it writes (valid HTML, every picture embedded and real)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Checker(HTMLParser):
    """Fails on any unclosed, stray or misnested tag; collects <img> sources."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def check_report(report: Path) -> int:
    """Assert report.html is well-formed and self-contained with real pictures; return the number of pictures."""
    from PIL import Image

    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    assert not re.search(r'src="(?!data:)', text), "every picture is embedded, nothing is linked"
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        img.load()
        assert img.format == "PNG" and min(img.size) >= 150 and max(img.size) <= 3000, img.size
        assert len(np.unique(np.asarray(img.convert("L")))) > 10  # not a blank picture
    return len(checker.images)


def browser_loaded_images(report: Path, tmp_path: Path) -> tuple[int, int]:
    """Open the report in headless Chromium; count the pictures it decoded."""
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", """<script>
window.addEventListener('load', () => { const imgs = [...document.images];
  document.title = 'LOADED ' + imgs.filter(i => i.complete && i.naturalWidth > 0).length + '/' + imgs.length; });
</script></body>"""))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"<title>LOADED (\d+)/(\d+)</title>", dom)
    assert m, dom[:500]
    return int(m.group(1)), int(m.group(2))


def test_demo_configuration_writes_a_complete_report(tmp_path):
    """The command `make demo` runs, with the same defaults, into a temporary folder."""
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "numpynn.cli", "train", "--dataset", "mnist-sample", "--out", str(out),
                        "--plain"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for name in ("model.safetensors", "config.toml", "history.json", "history.csv", "metrics.json", "curves.png",
                 "confusion.png", "predictions.png", "mistakes.png", "first_layer.png", "report.html", "speed.png",
                 "reliability.png", "saliency.png", "doctor.png", "doctor.jsonl"):
        assert (out / name).is_file(), name
    assert check_report(out / "report.html") == 9
    assert "test accuracy" in r.stderr and str(out / "report.html") in r.stdout
    if CHROMIUM:
        loaded, total = browser_loaded_images(out / "report.html", tmp_path)
        assert loaded == total == 9


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("make") is None, reason="needs a git checkout")
def test_make_demo_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    r = subprocess.run(["make", "demo"], cwd=clone, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert check_report(clone / "runs" / "demo" / "report.html") == 9
    assert "numpynn predict runs/demo/model.safetensors" in r.stdout  # a newcomer is told what to run next
