"""`numpynn predict` on photos: digits drawn (with PIL) from MNIST test digits as dark ink on grey paper (108/255
and 120/255), on white, light on dark and on a transparent background, each read by a model trained on the
bundled sample; --invert/--no-invert, --show, and a decompression bomb refused with its pixel count."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import numpynn as nn
from numpynn import data
from numpynn.errors import DatasetError

Image = pytest.importorskip("PIL.Image")
from numpynn.data.images import load_digit_image, mnist_style, read_image  # noqa: E402

SCALE = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
N_DIGITS = 10


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small network trained once on the bundled sample, its file, and test digits it reads right as they are."""
    (X, y), _ = data.load("mnist-sample")
    model = nn.build_mlp(784, [128], 10, seed=0)
    model.fit(X, y, optimizer=nn.Adam(2e-3), epochs=3, batch_size=64, verbose=0)
    model.preprocessing = dict(SCALE)
    path = tmp_path_factory.mktemp("model") / "digits.safetensors"
    model.save(path)
    _, (Xt, yt) = data.load_raw("mnist-sample")
    right = np.flatnonzero(model.predict(data.apply_preprocessing(Xt[:60], SCALE)) == yt[:60])[:N_DIGITS]
    return model, path, Xt[right], yt[right]


def canvas(digit: np.ndarray, size: int = 160) -> np.ndarray:
    """The digit's ink (0..1) enlarged into a bigger field, off-centre, as a photo would frame it."""
    big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.BILINEAR), np.float32) / 255
    out = np.zeros((size, size), np.float32)
    out[20:132, 34:146] = big
    return out


def photo(digit: np.ndarray, paper: float, ink: float, rng, noise: float = 0.02) -> np.ndarray:
    img = paper + (ink - paper) * canvas(digit) + noise * rng.standard_normal((160, 160))
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


STYLES = {"dark on grey 108": (108 / 255, 0.08), "dark on grey 120": (120 / 255, 0.1),
          "dark on white": (0.97, 0.05), "light on dark": (0.08, 0.95)}


def read_as(model, path, **kw) -> int:
    return int(model.predict(data.apply_preprocessing(load_digit_image(path, **kw)[None], SCALE))[0])


def assert_mnist_convention(x: np.ndarray) -> None:
    """Light digit on black: the border is 0, the strongest stroke 255, the ink a small part of the field."""
    assert x.shape == (28, 28) and x.dtype == np.uint8
    assert x[0].max() == x[-1].max() == x[:, 0].max() == x[:, -1].max() == 0
    assert x.max() >= 250 and 0.05 < (x > 128).mean() < 0.4


@pytest.mark.parametrize("style", STYLES)
def test_photos_are_read_as_the_right_digit(tmp_path, trained, style):
    model, _, digits, labels = trained
    rng = np.random.default_rng(0)
    paper, ink = STYLES[style]
    right = 0
    for i, (d, label) in enumerate(zip(digits, labels, strict=True)):
        path = tmp_path / f"{i}.png"
        Image.fromarray(photo(d, paper, ink, rng)).save(path)
        assert_mnist_convention(load_digit_image(path))
        right += read_as(model, path) == label
    assert right >= N_DIGITS - 2, f"{style}: {right} of {N_DIGITS} read right"


@pytest.mark.parametrize("stroke", [0, 255])
def test_transparent_drawings_in_dark_or_light_ink(tmp_path, trained, stroke):
    model, _, digits, labels = trained
    right = 0
    for i, (d, label) in enumerate(zip(digits, labels, strict=True)):
        rgba = np.zeros((160, 160, 4), np.uint8)
        rgba[..., :3] = stroke
        rgba[..., 3] = (canvas(d) * 255).astype(np.uint8)  # the strokes are the only opaque pixels
        path = tmp_path / f"{i}.png"
        Image.fromarray(rgba, "RGBA").save(path)
        assert_mnist_convention(load_digit_image(path))
        right += read_as(model, path) == label
    assert right >= N_DIGITS - 2, f"{right} of {N_DIGITS} read right"


def test_the_invert_decision_can_be_forced():
    rng = np.random.default_rng(1)
    _, (Xt, _) = data.load_raw("mnist-sample")
    grey = photo(Xt[0], 120 / 255, 0.1, rng).astype(np.float32) / 255
    auto, forced = mnist_style(grey), mnist_style(grey, invert=True)
    np.testing.assert_array_equal(auto, forced)
    with pytest.raises(DatasetError, match="the image is blank") as caught:
        mnist_style(np.full((50, 50), 0.9, np.float32) - 0.8 * (np.indices((50, 50)).sum(0) % 7 == 0), invert=False)
    assert "--" not in str(caught.value) and not caught.value.inverted  # flags are the command line's to name


def numpynn(*args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "numpynn.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_predict_shows_the_28x28_input_and_takes_invert_flags(tmp_path, trained):
    model, path, digits, labels = trained
    Image.fromarray(photo(digits[0], 108 / 255, 0.08, np.random.default_rng(2))).save(tmp_path / "seven.png")
    r = numpynn("predict", path, tmp_path / "seven.png", "--show", tmp_path / "seen.png")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"class: {labels[0]} ")
    seen = np.asarray(Image.open(tmp_path / "seen.png"))
    np.testing.assert_array_equal(seen, load_digit_image(tmp_path / "seven.png"))
    r = numpynn("predict", path, tmp_path / "seven.png", "--no-invert", "--show", tmp_path / "negative.png")
    assert r.returncode == 0, r.stderr  # the paper's grain, read as ink: what --no-invert asked for
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "negative.png")), seen)
    Image.fromarray(photo(digits[0], 1.0, 0.0, np.random.default_rng(2), noise=0)).save(tmp_path / "white.png")
    r = numpynn("predict", path, tmp_path / "white.png", "--no-invert")
    assert r.returncode == 2 and "blank" in r.stderr and "try --invert" in r.stderr
    r = numpynn("predict", path, tmp_path / "white.png", "--invert", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["labels"] == [str(labels[0])]


def bomb_png(path, side: int = 20000) -> None:
    """A genuine 1-bit PNG of side x side pixels, all zero: a few hundred kilobytes that inflate to 50 MB."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + side // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_with_its_pixel_count(tmp_path, trained):
    _, path, _, _ = trained
    bomb = tmp_path / "bomb.png"
    bomb_png(bomb)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DatasetError, match="400000000 pixels|400,000,000 pixels"):
        read_image(bomb)
    bomb_png(tmp_path / "big.png", 8000)  # 64 MP: past numpynn's limit, below Pillow's
    with pytest.raises(DatasetError, match="64,000,000 pixels"):
        read_image(tmp_path / "big.png")
    r = numpynn("predict", path, bomb)
    assert r.returncode == 2 and "pixels" in r.stderr and "Traceback" not in r.stderr
    assert "DecompressionBombError" not in r.stderr


def test_cli_predict_on_a_kaggle_style_csv_drops_its_label_column(tmp_path, trained):
    model, path, digits, labels = trained
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(tmp_path / "train.csv", np.column_stack([labels[:5], digits[:5].reshape(5, 784)]), fmt="%d",
               delimiter=",", header=header, comments="")
    r = numpynn("predict", path, tmp_path / "train.csv", "--json")
    assert r.returncode == 0, r.stderr
    expected = model.predict(data.apply_preprocessing(digits[:5], SCALE))
    assert json.loads(r.stdout)["predictions"] == expected.tolist() == labels[:5].tolist()


def _main_within(seconds: float, argv: list[str]) -> int:
    """numpynn.cli.main(argv) in a thread; the test fails (rather than hangs) if it has not returned in time."""
    import threading

    from numpynn.cli import main

    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("rc", main(argv)), daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"numpynn {' '.join(argv)} still running after {seconds} s (blocked on the input?)")
    return box["rc"]


@pytest.mark.parametrize("name", ["pipe.npy", "pipe.png", "pipe.jpg"])
def test_cli_predict_refuses_a_fifo_without_waiting_on_it(tmp_path, trained, capsys, name):
    _, path, _, _ = trained
    os.mkfifo(tmp_path / name)
    assert _main_within(20, ["predict", str(path), str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert f"{name}: expected a regular" in err and "FIFO" in err and "Traceback" not in err


def test_cli_predict_on_a_device_or_a_lying_npy_says_what_it_is(tmp_path, trained, capsys):
    _, path, digits, labels = trained
    (tmp_path / "zero.npy").symlink_to("/dev/zero")
    assert _main_within(20, ["predict", str(path), str(tmp_path / "zero.npy")]) == 2
    err = capsys.readouterr().err
    assert "zero.npy: expected a regular .npy file, but it is a character device" in err and "pickled" not in err
    np.save(tmp_path / "digits.npy", digits[:3])
    with open(tmp_path / "lying.npy", "wb") as f:  # three images under a header that claims three million
        np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (3_000_000, 28, 28)})
        f.write(digits[:3].tobytes())
    assert _main_within(20, ["predict", str(path), str(tmp_path / "lying.npy")]) == 2
    assert "lying.npy: the header promises shape" in capsys.readouterr().err
    np.save(tmp_path / "one.npy", np.float32(3))
    assert _main_within(20, ["predict", str(path), str(tmp_path / "one.npy")]) == 2
    assert "one.npy: expected samples" in capsys.readouterr().err
    assert _main_within(20, ["predict", str(path), str(tmp_path / "digits.npy"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == [str(v) for v in labels[:3]]


EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "digits")


def test_the_shipped_example_digits_are_read_right_one_by_one_and_as_a_folder(trained, tmp_path):
    model, path, _, _ = trained
    shipped = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".png"))
    assert [f.split("-")[0] for f in shipped] == ["drawn", "inverted", "photo"]
    for name in shipped:  # the file's name says its digit
        assert read_as(model, os.path.join(EXAMPLES, name)) == int(name[-5])
    r = numpynn("predict", path, EXAMPLES, os.path.join(EXAMPLES, "drawn-7.png"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "file,row,class,probability" and len(lines) == 1 + len(shipped) + 1
    for line, name in zip(lines[1:], [*shipped, "drawn-7.png"], strict=True):
        file, row, label, _ = line.split(",")
        assert file.endswith(name) and row == "0" and label == name[-5]
    np.save(tmp_path / "two.npy", data.load_raw("mnist-sample")[1][0][:2])
    r = numpynn("predict", path, tmp_path / "two.npy", os.path.join(EXAMPLES, "photo-2.png"), "--json")
    out = json.loads(r.stdout)
    assert out["files"] == [str(tmp_path / "two.npy")] * 2 + [os.path.join(EXAMPLES, "photo-2.png")]
    assert out["labels"][2] == "2"
    (tmp_path / "empty").mkdir()
    r = numpynn("predict", path, tmp_path / "empty")
    assert r.returncode == 2 and "a folder with no images in it" in r.stderr
    r = numpynn("predict", path, EXAMPLES, "--show", tmp_path / "seen.png")
    assert r.returncode == 2 and "give one image file" in r.stderr


def test_the_readme_and_the_demo_point_at_the_shipped_digits_and_say_what_each_time_counts():
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    readme, makefile = (open(os.path.join(root, name)).read() for name in ("README.md", "Makefile"))
    for text in (readme, makefile):
        assert "numpynn predict runs/demo/model.safetensors examples/digits/" in text and "my-digit" not in text
    assert "11-19 s on 2 cores for the whole command" in readme and "training time alone:" in readme
