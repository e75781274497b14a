"""Hostile data files: every class gets numpynn's own error (or a result), never a raw exception, a hang or an
unbounded allocation; a corrupt copy of a dataset is skipped for the next one.

The fuzz corpus of `fuzz/targets_data.py` (and seeded mutations of it) is replayed in a subprocess under an
address-space limit, so an allocation the readers did not bound fails the test instead of the machine.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from numpynn import data
from numpynn.cli import main
from numpynn.errors import DatasetError
from tests.blocking import within

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def engine():
    """The readers use no engine: one run of each test (the conftest fixture would run them twice)."""
    return None


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"




REPLAY = r"""
import json, os, random, resource, signal, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
sys.path.insert(0, sys.argv[1])
from targets_data import TARGETS
from numpynn.errors import NumpynnError

def alarm(*_):
    raise TimeoutError("still running after 20 s")
signal.signal(signal.SIGALRM, alarm)
rng, scratch, outcomes = random.Random(0), Path(sys.argv[3]), []
for target, fn in TARGETS.items():
    seeds = sorted((Path(sys.argv[2]) / target).iterdir())
    cases = [(p.name, p.read_bytes()) for p in seeds]
    for i in range(int(sys.argv[4])):  # seeded mutations: byte flips, cuts and insertions of the seeds
        name, body = rng.choice(cases[:len(seeds)])
        body = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            op, at = rng.random(), rng.randrange(len(body) + 1)
            if op < 0.6 and body:
                body[min(at, len(body) - 1)] ^= 1 << rng.randrange(8)
            elif op < 0.8:
                del body[at:]
            else:
                body[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        cases.append((f"{name}~{i}", bytes(body)))
    for name, body in cases:
        path = scratch / (target + "-" + name.replace("~", "-") + (".npz" if target == "npz" else ""))
        path.write_bytes(body)
        signal.alarm(20)
        try:
            fn(path)
            kind = "result"
        except NumpynnError:
            kind = "numpynn"
        except BaseException as exc:
            kind = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            signal.alarm(0)
        path.unlink()
        outcomes.append([target, name, kind])
print(json.dumps(outcomes))
"""


def test_corpus_and_mutations_end_in_a_result_or_numpynns_error_under_a_memory_limit(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", REPLAY, str(ROOT / "fuzz"), str(CORPUS), str(tmp_path), "300"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = json.loads(proc.stdout)
    bad = [o for o in outcomes if o[2] not in ("result", "numpynn")]
    assert not bad, bad[:10]
    seeds = {(t, n): k for t, n, k in outcomes if "~" not in n}
    assert len(seeds) >= 24 and sum(1 for t, _ in seeds if t == "npz") >= 12
    assert seeds[("read_idx", "good.idx.gz")] == seeds[("npz", "good.npz")] == "result"  # the replay can tell
    assert seeds[("read_idx", "bomb-2e62.idx.gz")] == seeds[("npz", "shape-2e40x6.npz")] == "numpynn"


@pytest.mark.parametrize(("name", "match"), [
    ("corrupt-deflate.npz", r"not a readable \.npz file \(error: Error -3 while decompressing"),
    ("bad-crc.npz", "not a readable .npz file .*Bad CRC-32"),
    ("shape-2e40x6.npz", r"promises shape \(1099511627776, 6\) of float64 \(52,776,558,133,248 bytes\)"),
    ("npy-renamed.npz", r"this is a \.npy file .* named \.npz"),
    ("strings.npz", "holds <U3 values .*numpynn reads numbers only"),
    ("structured.npz", "numpynn reads numbers only"),
    ("object.npz", "never unpickles"),
    ("header-not-literal.npz", "not a Python literal dict"),
    ("header-too-long.npz", "at most 10,000 are accepted"),
    ("size-mismatch.npz", "archive entry holds 8 bytes"),
])
def test_hostile_npz_classes(name, match):
    with pytest.raises(DatasetError, match=match):
        data.load_npz_arrays(CORPUS / "npz" / name)


def test_npz_through_load_and_a_good_file(tmp_path):
    np.savez(tmp_path / "own.npz", X=np.array(["a", "b", "c", "d", "e"]), y=np.arange(5))
    with pytest.raises(DatasetError, match="array 'X': holds <U1 values"):
        data.load(tmp_path / "own.npz")
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3, order="F")
    np.savez(tmp_path / "ok.npz", a=np.asfortranarray(big_endian), b=np.array([True, False]))
    arrays = data.load_npz_arrays(tmp_path / "ok.npz")
    np.testing.assert_array_equal(arrays["a"], big_endian)
    assert arrays["a"].dtype.isnative and arrays["b"].dtype == np.bool_
    with pytest.raises(DatasetError, match="more than the 8 bytes left of the limit"):
        data.load_npz_arrays(tmp_path / "ok.npz", max_bytes=8)


def _idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def test_gzip_promising_2e62_bytes_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(_idx_header(0x08, (2**31, 2**31)) + os.urandom(3 << 20), 1))  # a 3 MB gzip
    tracemalloc.start()
    with pytest.raises(DatasetError, match=r"promises 2147483648 x 2147483648 values .*more than the limit"):
        data.read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 << 20, peak


def test_gzip_inflating_far_past_its_claim_is_read_only_as_far_as_the_claim(tmp_path):
    path = tmp_path / "past.idx.gz"
    path.write_bytes(gzip.compress(_idx_header(0x08, (10,)) + bytes(256 << 20), 9))  # 256 MB of zeros in 250 KB
    tracemalloc.start()
    with pytest.raises(DatasetError, match="extra bytes after the 10 bytes"):
        data.read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20, peak
    with pytest.raises(DatasetError, match="more than the limit of 5 bytes"):
        data.read_idx(path, max_bytes=5)


def _write_set(folder: Path, labels: np.ndarray, n: int = 6) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, pin in data.registry.MNIST_FILES.items():
        array = labels[:n] if split.endswith("labels") else rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        data.write_idx(folder / pin.filename, array)


def test_float_labels_are_refused_not_truncated(tmp_path):
    _write_set(tmp_path / "half", np.array([0, 1.5, 2, 3, 4, 5], np.float32))
    with pytest.raises(DatasetError, match=r"class labels must be whole numbers, got \[1\.5\] \(1 such labels\)"):
        data.load_raw(tmp_path / "half")
    _write_set(tmp_path / "nan", np.array([0, np.nan, 2, 3, 4, 5], np.float64))
    with pytest.raises(DatasetError, match="whole numbers, got \\[nan\\]"):
        data.load_raw(tmp_path / "nan")
    csv = tmp_path / "mnist_784.csv"
    rows = np.zeros((7, 785))
    rows[:, -1] = [0, 1, 2, 3, 4, 5, 6.5]
    np.savetxt(csv, rows, fmt="%g", delimiter=",", header=",".join([f"pixel{i}" for i in range(784)] + ["class"]),
               comments="")
    with pytest.raises(DatasetError, match=r"mnist_784.csv: class labels must be whole numbers, got \[?6\.5"):
        data.load(csv)
    _write_set(tmp_path / "whole", np.array([0, 1, 2, 3, 4, 5], np.float32))
    (_, y), _ = data.load_raw(tmp_path / "whole")
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4, 5]


@pytest.fixture
def odd_paths(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    os.mkfifo(tmp_path / "pipe.csv")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder.npz").mkdir()
    return {"fifo": fifo, "fifo-csv": tmp_path / "pipe.csv", "fifo-bare": tmp_path / "pipe",
            "folder": tmp_path / "folder.npz", "device": Path("/dev/zero")}


@pytest.mark.parametrize("kind", ["fifo", "fifo-csv", "fifo-bare", "folder", "device"])
def test_fifo_device_or_folder_as_a_dataset_path_is_refused_without_blocking(odd_paths, kind):
    path = odd_paths[kind]
    what = {"fifo": "FIFO", "fifo-csv": "FIFO", "fifo-bare": "FIFO", "folder": "a folder",
            "device": "character device"}[kind]
    pin = data.registry.MNIST_FILES["test_labels"]
    calls = [(data.read_idx, path), (data.verify_file, path, pin)]
    if kind != "folder":
        calls += [(data.load_npz_arrays, path), (data.load_raw, path)]
    if kind in ("fifo", "fifo-csv", "device"):
        calls.append((lambda p: data.locate("mnist", path=p, download_missing=False), path))
    for fn, *args in calls:
        with pytest.raises(DatasetError, match=what):
            within(20, fn, *args)


def test_cli_datasets_on_a_fifo_is_one_line_of_error(odd_paths, capsys):
    assert within(20, main, ["datasets", "verify", "mnist", "--path", str(odd_paths["fifo"])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "FIFO" in err and "Traceback" not in err
    for path in (odd_paths["fifo-csv"], odd_paths["fifo-bare"]):
        out = odd_paths["fifo"].parent / f"run-{path.name}"
        assert within(20, main, ["train", "--dataset", str(path), "--epochs", "1", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "FIFO" in err, err


def _pinned_dataset(tmp_path: Path, name: str = "pinned"):
    """A small IDX dataset registered with content pins (as Fashion-MNIST's) and a system folder of good files."""
    good = tmp_path / "system"
    _write_set(good, np.arange(6, dtype=np.uint8) % 10)
    files = {}
    for split, pin in data.registry.MNIST_FILES.items():
        content = gzip.decompress((good / pin.filename).read_bytes())
        files[split] = data.DataFile(pin.filename, "0" * 64, hashlib.sha256(content).hexdigest(),
                                     content_size=len(content))
    spec = data.register(data.DatasetSpec(name, files, system_dirs=(str(good),), class_names=tuple("0123456789")),
                         replace=True)
    return spec, good


def _corrupt_gz(good: Path, bad: Path) -> None:
    body = bytearray(good.read_bytes())
    body[10] = 0xFF  # the deflate stream's first block: an invalid type, zlib.error if not handled
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(bytes(body))


def test_corrupt_gz_in_the_cache_moves_on_to_the_next_copy(tmp_path, isolated_cache, capsys):
    spec, good = _pinned_dataset(tmp_path)
    name = spec.files["train_images"].filename
    _corrupt_gz(good / name, isolated_cache / spec.name / name)
    assert data.verify_file(isolated_cache / spec.name / name, spec.files["train_images"]) is False
    logs = []
    (X, _), _ = data.load_raw(spec.name, log=logs.append, download_missing=False)
    assert X.shape == (6, 28, 28)
    assert any("corrupt gzip data" in line and "trying the next copy" in line for line in logs), logs
    assert main(["datasets", "verify", spec.name]) == 0
    out = capsys.readouterr().out
    assert str(good / name) in out and out.count("verified") == 4


def test_corrupt_gz_under_path_moves_on_to_an_uncompressed_copy_or_says_why(tmp_path):
    spec, good = _pinned_dataset(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    for pin in spec.files.values():
        _corrupt_gz(good / pin.filename, folder / pin.filename)
    with pytest.raises(DatasetError, match="(?s)no genuine copy of .*corrupt gzip data .*invalid block type"):
        data.locate(spec.name, path=folder, download_missing=False)
    raw = folder / spec.files["test_labels"].filename[:-3]
    raw.write_bytes(gzip.decompress((good / spec.files["test_labels"].filename).read_bytes()))
    for split, pin in spec.files.items():
        if split != "test_labels":
            (folder / pin.filename).unlink()
            (folder / pin.filename).symlink_to(good / pin.filename)
    assert data.locate(spec.name, path=folder, download_missing=False)["test_labels"] == raw


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_with_a_corrupt_cached_gz_uses_debians_copy(isolated_cache, monkeypatch):
    monkeypatch.setattr(data.sources, "download", lambda *a, **k: pytest.fail("downloaded despite Debian's copy"))
    name = "train-labels-idx1-ubyte.gz"
    _corrupt_gz(FASHION_DIR / name, isolated_cache / "fashion-mnist" / name)
    (_, y), (_, yt) = data.load_raw("fashion-mnist")
    assert np.bincount(y).tolist() == [6000] * 10 and len(yt) == 10000
    assert main(["datasets", "verify", "fashion-mnist"]) == 0


def test_an_oversized_csv_copy_is_not_parsed_to_verify_it(tmp_path):
    path = tmp_path / "mnist_784.csv"
    path.write_text("pixel1,class\n")
    os.truncate(path, (1 << 30) + 1)  # sparse: 1 GiB on paper, nothing on disk
    assert within(20, data.verify_file, path, data.registry.MNIST_FILES["train_images"]) is False


# --- honest bombs: files whose headers tell the truth about more data than there is memory for ----------------
def _deflated(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """(a raw deflate stream, its CRC-32) of `prefix` followed by `zeros` zero bytes: one compressed MiB repeated,
    so that gigabytes cost a few MB and a second to write."""
    block = 1 << 20

    def part(raw: bytes, final: bool = False) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(raw) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    whole, rest = divmod(zeros, block)
    crc = zlib.crc32(prefix)
    for _ in range(whole):
        crc = zlib.crc32(bytes(block), crc)
    crc = zlib.crc32(bytes(rest), crc)
    return part(prefix) + part(bytes(block)) * whole + part(bytes(rest), final=True), crc


def honest_idx_gz(path: Path, dims: tuple[int, ...]) -> None:
    """A valid gzip IDX of uint8 zeros with the dimensions it declares."""
    header = _idx_header(0x08, dims)
    n = int(np.prod(dims, dtype=object))
    body, crc = _deflated(header, n)
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body
                     + struct.pack("<II", crc, (len(header) + n) & 0xFFFFFFFF))


def honest_npz(path: Path, members: dict[str, int]) -> None:
    """A valid .npz (deflated, as np.savez_compressed writes) of uint8 zero vectors of the given lengths."""
    local, central = b"", b""
    for key, n in members.items():
        head = b"\x93NUMPY\x01\x00"
        text = repr({"descr": "|u1", "fortran_order": False, "shape": (n,)}).encode()
        text += b" " * (-(len(head) + 2 + len(text) + 1) % 64) + b"\n"
        prefix = head + struct.pack("<H", len(text)) + text
        body, crc = _deflated(prefix, n)
        name = f"{key}.npy".encode()
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(body), len(prefix) + n)
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0,
                                                                                len(local)) + name
        local += b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name + body
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(local + central + end)


def test_the_bomb_writers_write_honest_files(tmp_path):
    honest_idx_gz(tmp_path / "small-idx1-ubyte.gz", (3, 1 << 20))
    assert data.read_idx(tmp_path / "small-idx1-ubyte.gz").shape == (3, 1 << 20)
    assert gzip.decompress((tmp_path / "small-idx1-ubyte.gz").read_bytes())[:4] == b"\x00\x00\x08\x02"
    honest_npz(tmp_path / "small.npz", {"X": 5, "y": (1 << 20) + 3})
    arrays = data.load_npz_arrays(tmp_path / "small.npz")
    assert arrays["X"].tolist() == [0] * 5 and arrays["y"].shape == ((1 << 20) + 3,)
    assert np.load(tmp_path / "small.npz")["y"].shape == ((1 << 20) + 3,)  # NumPy reads them too


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """A 3 GiB gzip IDX and an .npz of two 2 GiB arrays, both valid and within the 4 GiB default limits."""
    folder = tmp_path_factory.mktemp("bombs")
    honest_idx_gz(folder / "images-idx3-ubyte.gz", (3, 1024, 1 << 20))
    honest_npz(folder / "two.npz", {"X": 1 << 31, "y": 1 << 31})
    return folder


def test_valid_files_larger_than_the_memory_are_refused_before_inflating(bombs, monkeypatch):
    from numpynn import memory

    assert (bombs / "images-idx3-ubyte.gz").stat().st_size < 8 << 20 and (bombs / "two.npz").stat().st_size < 8 << 20
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"images-idx3-ubyte.gz: reading its 3 x 1024 x 1048576 values needs "
                                               r"3\.0 GiB of memory \(3,221,225,472 bytes\) but 1\.0 GiB is available"):
            data.read_idx(bombs / "images-idx3-ubyte.gz")
        with pytest.raises(DatasetError, match=r"two.npz: reading its 2 arrays \(X, y\) needs 4\.0 GiB .* but 1\.0"):
            data.load_npz_arrays(bombs / "two.npz")
        with pytest.raises(DatasetError, match=r"two.npz: reading its 2 arrays"):
            data.load(bombs / "two.npz")
        assert tracemalloc.get_traced_memory()[1] < 64 << 20  # nothing was inflated
    finally:
        tracemalloc.stop()


REFUSE_UNDER_A_LIMIT = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from pathlib import Path
from numpynn import data
from numpynn.errors import DatasetError
for read, name in ((data.read_idx, "images-idx3-ubyte.gz"), (data.load_npz_arrays, "two.npz")):
    try:
        read(Path(sys.argv[1]) / name)
        print("read", name)
    except DatasetError as exc:
        print("refused", exc)
"""


def test_the_real_memory_figure_refuses_them_under_an_address_space_limit(bombs):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", REFUSE_UNDER_A_LIMIT, str(bombs)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("refused ") for line in lines), proc.stdout
    assert "needs 3.0 GiB of memory" in lines[0] and "needs 4.0 GiB of memory" in lines[1]
    have = [float(line.split("but ")[1].split(" GiB")[0]) for line in lines]
    assert all(0 < h < 2 for h in have)  # what is left of the 2 GiB the process may map


def test_a_zero_dimensional_X_in_an_npz_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "scalar.npz", X=np.array(3.0), y=np.array([1, 0]))
    with pytest.raises(DatasetError, match=r"scalar.npz: X must hold one row per sample, got a single value"):
        data.load(tmp_path / "scalar.npz")
    np.savez(tmp_path / "scalar-y.npz", X=np.zeros((2, 3)), y=np.array(1))
    with pytest.raises(DatasetError, match=r"scalar-y.npz: y must hold one row per sample"):
        data.load_raw(tmp_path / "scalar-y.npz")
