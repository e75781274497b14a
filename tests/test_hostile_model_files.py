"""Model files as an attacker makes them: crafted values with a valid checksum, non-regular files, huge
declared sizes, kill -9 during save, a full disk. Each ends in a ModelFileError naming the field (or a clear
refusal), never another exception, a hang or an unbounded allocation."""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save

import numpynn as nn
from numpynn.atomic import TMP_SUFFIX
from numpynn.io import _digest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model_file(tmp_path, blobs):
    """A trained model with Flatten, BatchNorm, Adam state and preprocessing, saved; returns its path."""
    X, y = blobs
    model = nn.Sequential([nn.Flatten(input_shape=(2, 2)), nn.Dense(4, 6, "relu"), nn.BatchNorm(), nn.Dense(6, 3)],
                          seed=1)
    model.preprocessing = {"normalize": "standardize", "mean": 0.5, "std": 2.0, "input_shape": [2, 2]}
    model.fit(X.reshape(-1, 2, 2), y, epochs=2, batch_size=50, verbose=0, metrics=["accuracy"])
    path = tmp_path / "m.safetensors"
    model.save(path)
    return path


def craft(path: Path, *, meta=None, text=None, tensors=None) -> Path:
    """Rewrite a saved file with its checksum recomputed: `meta(dict)` edits the metadata, `text(str) -> str` the
    metadata's JSON text (for what json.dumps cannot write), `tensors(dict)` the arrays."""
    arrays = load_file(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta_json = json.loads(f.read(n))["__metadata__"]["numpynn"]
    if meta is not None:
        m = json.loads(meta_json)
        meta(m)
        meta_json = json.dumps(m)
    if text is not None:
        meta_json = text(meta_json)
    if tensors is not None:
        tensors(arrays)
    out = path.with_name("crafted.safetensors")
    out.write_bytes(save(arrays, metadata={"numpynn": meta_json, "numpynn_sha256": _digest(meta_json, arrays)}))
    return out


def _set(keys: str, value):
    """An edit that sets meta[...][...] (dotted path, integers index lists) to value."""
    def edit(m):
        parts = [int(p) if p.isdigit() else p for p in keys.split(".")]
        for p in parts[:-1]:
            m = m[p]
        m[parts[-1]] = value
    return edit


def _drop(keys: str):
    def edit(m):
        parts = keys.split(".")
        for p in parts[:-1]:
            m = m[p]
        del m[parts[-1]]
    return edit


CRAFTED_META = {
    "history [1]": (_set("training.history", [1]), r"training\.history must be an object"),
    "history 'abc'": (_set("training.history", "abc"), r"training\.history must be an object"),
    "history epochs [1]": (_set("training.history", {"epochs": [1]}), r"training\.history\.epochs must be an obj"),
    "history loss 'x'": (_set("training.history.epochs.loss", ["x"]), r"training\.history\.epochs\['loss'\]\[0\]"),
    "pcg64 state -1": (_set("training.rng.state.state", -1), r"training\.rng\.state\.state must be an integer"),
    "pcg64 state 2^200": (_set("training.rng.state.state", 2**200), r"training\.rng\.state\.state"),
    "pcg64 inc 'a'": (_set("training.rng.state.inc", "a"), r"training\.rng\.state\.inc"),
    "epoch true": (_set("training.epoch", True), r"training\.epoch must be an integer"),
    "epoch -1": (_set("training.epoch", -1), r"training\.epoch must be an integer"),
    "iterations -1": (_set("training.optimizer.iterations", -1), r"training\.optimizer: iterations must be"),
    "iterations 1.5": (_set("training.optimizer.iterations", 1.5), r"iterations must be an integer"),
    "lr_scale -1": (_set("training.optimizer.lr_scale", -1), r"lr_scale must be a finite number > 0"),
    "optimizer lr 'x'": (_set("training.optimizer.config.lr", "x"), r"training\.optimizer \(adam\): lr must be"),
    "optimizer unknown": (_set("training.optimizer.name", "evil"), r"training\.optimizer.*unknown optimizer"),
    "optimizer 5": (_set("training.optimizer", 5), r"training\.optimizer must be an object"),
    "batchnorm eps NaN": (_set("model.layers.2.config.eps", float("nan")), r"model\.layers\[2\]: .*eps must be"),
    "batchnorm momentum 'x'": (_set("model.layers.2.config.momentum", "x"), r"model\.layers\[2\]: .*momentum"),
    "dense l2 inf": (_set("model.layers.1.config.l2", float("inf")), r"model\.layers\[1\]: .*l1 and l2"),
    "dense activation ?": (_set("model.layers.1.config.activation", "os.system"), r"model\.layers\[1\]"),
    "flatten shape 'ab'": (_set("model.layers.0.config.input_shape", "ab"), r"model\.layers\[0\]: .*input_shape"),
    "flatten shape 10^30": (_set("model.layers.0.config.input_shape", [10**30]), r"model\.layers\[0\]"),
    "model input_shape": (_set("model.input_shape", [0, 4]), r"model\.input_shape\[0\] must be an integer"),
    "model seed -5": (_set("model.seed", -5), r"model\.seed must be an integer"),
    "loss 'x'": (_set("loss", "x"), r"loss must be an object"),
    "loss smoothing 2": (_set("loss", {"name": "cross_entropy", "config": {"label_smoothing": 2}}),
                         r"loss: label_smoothing"),
    "metrics unknown": (_set("metrics", ["exec"]), r"metrics: unknown metric 'exec'"),
    "format_version '1'": (_set("format_version", "1"), r"format_version must be an integer >= 1, got '1'"),
    "format_version true": (_set("format_version", True), r"format_version must be an integer"),
    "format_version 99": (_set("format_version", 99), r"format version 99 is newer"),
    "preprocessing no mean": (_drop("preprocessing.mean"), r"preprocessing says normalize 'standardize' but has no"),
    "preprocessing std 'abc'": (_set("preprocessing.std", "abc"), r"preprocessing\.std must be a finite number > 0"),
    "preprocessing std 0": (_set("preprocessing.std", 0), r"preprocessing\.std must be a finite number > 0"),
    "preprocessing max 0": (_set("preprocessing", {"normalize": "scale", "max_value": 0}),
                            r"preprocessing\.max_value must be a finite number > 0"),
    "preprocessing kind": (_set("preprocessing.normalize", "rot13"), r"preprocessing\.normalize must be"),
    "preprocessing [1]": (_set("preprocessing", [1]), r"preprocessing must be an object"),
    "preprocessing 2 means": (_set("preprocessing.mean", [0.1, 0.2]),
                              r"preprocessing\.mean lists 2 values for a model of 4 inputs"),
    "preprocessing shape": (_set("preprocessing.input_shape", [3, 3]),
                            r"preprocessing\.input_shape \[3, 3\] does not make the model's 4 inputs"),
}


@pytest.mark.parametrize("case", CRAFTED_META)
def test_crafted_metadata_with_a_valid_checksum_names_the_field(model_file, case):
    edit, match = CRAFTED_META[case]
    with pytest.raises(nn.ModelFileError, match=match):
        nn.load(craft(model_file, meta=edit))


CRAFTED_TEXT = {
    "10^5-deep metadata": (lambda t: "[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),
    "10^5-deep history": (lambda t: t.replace('"batch_loss": [', '"batch_loss": [' + "[" * 100_000 + "]" * 100_000
                                              + ","), "nests deeper than 64 levels"),
    "Flatten [Infinity]": (lambda t: t.replace('"input_shape": [2, 2]}', '"input_shape": [Infinity]}', 1),
                           r"model\.layers\[0\]: .*Flatten input_shape must be"),
    "iterations Infinity": (lambda t: t.replace('"iterations": ', '"iterations": Infinity, "x": '),
                            r"iterations must be an integer"),
    "a 5,000-digit seed": (lambda t: t.replace('"seed": 1', '"seed": ' + "9" * 5000), "not valid JSON"),
    "a string, not JSON": (lambda t: "not json", "not valid JSON"),
    "a JSON list": (lambda t: "[]", "unknown metadata format"),
}


@pytest.mark.parametrize("case", CRAFTED_TEXT)
def test_crafted_metadata_text_with_a_valid_checksum(model_file, case):
    edit, match = CRAFTED_TEXT[case]
    with pytest.raises(nn.ModelFileError, match=match):
        nn.load(craft(model_file, text=edit))


def test_crafted_tensors_with_a_valid_checksum(model_file):
    def nan_weight(t):
        t["1.W"][0, 0] = np.nan

    def inf_moment(t):
        t["optimizer/1.W/m"][0, 0] = np.inf

    def negative_variance(t):
        t["2.running_var"][1] = -1

    def negative_second_moment(t):
        t["optimizer/1.b/v"][0] = -1

    def half_the_state(t):
        del t["optimizer/1.b/v"]

    for edit, match in [(nan_weight, "tensor '1.W' contains NaN or inf"),
                        (inf_moment, "tensor 'optimizer/1.W/m' contains NaN or inf"),
                        (negative_variance, r"model\.layers\[2\] \(BatchNorm\(6\)\): running_var must be >= 0"),
                        (negative_second_moment, r"state '1\.b/v' must hold finite numbers >= 0"),
                        (half_the_state, r"state of '1\.b' has \['m'\]")]:
        with pytest.raises(nn.ModelFileError, match=match):
            nn.load(craft(model_file, tensors=edit))


def _raw_file(path: Path, header: bytes, payload: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + payload)
    return path


def test_crafted_safetensors_headers(tmp_path):
    cases = {
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "nests deeper",
        b'{"w": {"dtype": "F32", "shape": [' + b"7" * 5000 + b'], "data_offsets": [0, 4]}}': "not valid JSON",
        b'{"w": {"dtype": "F32", "shape": [Infinity], "data_offsets": [0, 4]}}': "not valid JSON",
        b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, ' + str(2**70).encode() + b"]}}": "claims bytes",
        b'{"w": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}': "malformed entry",
        b'{"__metadata__": {"numpynn": 5}}': "__metadata__ must map names to strings",
        b"[1, 2]": "must be a JSON object",
    }
    for header, match in cases.items():
        with pytest.raises(nn.ModelFileError, match=match):
            nn.load(_raw_file(tmp_path / "h.safetensors", header, b"\0" * 4))


def _load_within(path, seconds: float = 20.0) -> BaseException | None:
    """nn.load(path) in a thread; fails the test (instead of hanging it) if it does not return in time."""
    result: list = []

    def target():
        try:
            nn.load(path)
            result.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            result.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"nn.load({path}) did not return within {seconds} s"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_non_regular_files_are_refused_before_reading(tmp_path, model_file):
    fifo = tmp_path / "fifo.safetensors"
    os.mkfifo(fifo)
    cases = {fifo: "a FIFO", tmp_path: "a folder"}
    for dev in ("/dev/zero", "/dev/urandom"):
        if os.path.exists(dev):
            cases[Path(dev)] = "a character device"
    for path, kind in cases.items():
        exc = _load_within(path)
        assert isinstance(exc, nn.ModelFileError) and f"not a regular file (it is {kind})" in str(exc), exc
    # a symlink is followed to the file it names (documented in docs/security.md); a dangling one cannot be read
    link = tmp_path / "link.safetensors"
    link.symlink_to(model_file)
    assert nn.load(link).epoch == 2
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    with pytest.raises(nn.ModelFileError, match="cannot read model file"):
        nn.load(tmp_path / "dangling")


def test_a_sparse_8_gb_tail_is_refused_without_reading_it(model_file):
    size = model_file.stat().st_size
    with open(model_file, "r+b") as f:
        f.truncate(size + 8 * 2**30)  # sparse: costs no disk, and must cost no memory
    exc = _load_within(model_file)
    assert isinstance(exc, nn.ModelFileError) and f"{8 * 2**30} bytes after the tensor data" in str(exc)


def test_header_length_over_the_cap_is_refused(tmp_path):
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 200 * 2**20))
        f.truncate(8 + 200 * 2**20 + 10)
    with pytest.raises(nn.ModelFileError, match="the limit is 104857600 bytes"):
        nn.load(path)


def test_oversized_metadata_is_refused(model_file):
    with pytest.raises(nn.ModelFileError, match="over the limit"):
        nn.load(craft(model_file, text=lambda t: t[:-1] + ', "pad": "' + "x" * (17 * 2**20) + '"}'))


# --- saving --------------------------------------------------------------------------------------------------
def test_save_refuses_non_regular_targets_and_writes_through_symlinks(tmp_path, model_file):
    model = nn.load(model_file)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    targets = {fifo: "a FIFO", tmp_path: "a folder"}
    if os.geteuid() == 0:  # a device node of our own (the null device), never a real /dev entry
        dev = tmp_path / "null"
        os.mknod(dev, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        targets[dev] = "a device"
    for target, kind in targets.items():
        before = os.lstat(target)
        with pytest.raises(nn.NumpynnError, match=f"refusing to write .* it is {kind}"):
            model.save(target)
        after = os.lstat(target)
        assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    # a symlink stays a link: the file it points to is replaced
    real, link = tmp_path / "real.safetensors", tmp_path / "latest.safetensors"
    model.save(real)
    link.symlink_to(real)
    model.epoch = 7
    model.save(link)
    assert link.is_symlink() and nn.load(real).epoch == 7
    assert not list(tmp_path.glob(f"*{TMP_SUFFIX}"))


_SAVER = """
import sys, numpy as np, numpynn as nn
path = sys.argv[1]
models = []
for value in (1.0, 2.0):
    m = nn.Sequential([nn.Dense(256, 1024), nn.Dense(1024, 10)], seed=0)
    for _, p, _ in m.parameters():
        p[...] = value
    models.append(m)
print("ready", flush=True)
i = 0
while True:
    models[i % 2].save(path)
    i += 1
"""


def test_kill_9_during_save_leaves_old_or_new_and_the_next_save_cleans_up(tmp_path, engine):
    if engine == "c":
        pytest.skip("saving does not depend on the engine; run once")
    path = tmp_path / "m.safetensors"
    rng = np.random.default_rng(0)
    killed_with_leftovers = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.02, 0.3)))
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        killed_with_leftovers += bool(list(tmp_path.glob(f"*{TMP_SUFFIX}")))
        if path.exists():  # the first kill may come before the first save ends
            value = float(nn.load(path).layers[0].params["W"][0, 0])
            assert value in (1.0, 2.0)
    assert path.exists()
    nn.load(path).save(path)  # a later save removes what the killed writers left
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"], killed_with_leftovers


def test_stale_temporaries_of_live_processes_are_kept(tmp_path, model_file):
    mine = tmp_path / f".m.safetensors.1.abcd{TMP_SUFFIX}"  # pid 1 is always alive
    mine.write_bytes(b"x")
    nn.load(model_file).save(model_file)
    assert mine.exists()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 256 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(tiny_tmpfs):
    path = tiny_tmpfs / "m.safetensors"
    small = nn.Sequential([nn.Dense(4, 3)], seed=0)
    small.save(path)
    before = path.read_bytes()
    big = nn.Sequential([nn.Dense(300, 300)], seed=0)  # 361 KB: more than the disk holds
    with pytest.raises(OSError, match=r"No space left on device while writing .*m\.safetensors.* unchanged") as e:
        big.save(path)
    assert e.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and [p.name for p in tiny_tmpfs.iterdir()] == ["m.safetensors"]
    assert nn.load(path).get_config() == small.get_config()


def test_a_fifo_as_the_model_path_is_one_line_exit_2(tmp_path, capsys):
    from numpynn.cli import main

    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    for args in (["predict", str(fifo), str(tmp_path / "x.npy")], ["evaluate", str(fifo), "--data", "mnist-sample"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "not a regular file (it is a FIFO)" in err and len(err.strip().splitlines()) == 1, err
    # and as a real process: exit status 2, one line, no traceback
    r = subprocess.run([sys.executable, "-m", "numpynn.cli", "info", str(fifo)], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"numpynn: error: {fifo}: not a regular file (it is a FIFO); numpynn "
                                             f"reads model files only from regular files"]
