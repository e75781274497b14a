"""Fuzz targets for numpynn's data readers: IDX files and .npz archives.

Each target takes a path and must end in a result or numpynn's own error (`NumpynnError`) for every input:
never another exception, a hang, or an allocation beyond its stated bound (`MAX_BYTES` of array data, plus
the reader's own bounded blocks). `python fuzz/targets_data.py` rewrites the seed corpus in
`fuzz/corpus/<target>/` (small crafted files, each a class of hostile input).
"""

from __future__ import annotations

import gzip
import io
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from numpynn.data.idx import read_idx
from numpynn.data.npz import load_npz_arrays

MAX_BYTES = 64 << 20  # what a fuzz input may make a reader hold; the replay runs under a memory limit above it


def _read_idx(path: Path) -> np.ndarray:
    return read_idx(path, max_bytes=MAX_BYTES)


def _npz(path: Path) -> dict[str, np.ndarray]:
    return load_npz_arrays(path, max_bytes=MAX_BYTES)


TARGETS: dict[str, Callable[[Path], object]] = {"read_idx": _read_idx, "npz": _npz}


def _idx(code: int, dims: tuple[int, ...], payload: bytes | None = None) -> bytes:
    header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + (bytes(int(np.prod(dims))) if payload is None else payload)


def _npy(header: str, data: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    text = header.encode("latin-1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    size = struct.pack("<H", len(text)) if version == b"\x01\x00" else struct.pack("<I", len(text))
    return b"\x93NUMPY" + version + size + text + data


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def _savez(compressed: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def idx_corpus() -> dict[str, bytes]:
    good = _idx(0x08, (3, 4, 4), bytes(range(48)))
    damaged = bytearray(gzip.compress(_idx(0x08, (50, 50)), mtime=0))
    damaged[10] = 0xFF  # the first deflate block's type: "reserved", an invalid stream (zlib.error)
    bad_crc = bytearray(gzip.compress(_idx(0x08, (50, 50)), mtime=0))
    bad_crc[-6] ^= 0xFF
    return {
        "good.idx.gz": gzip.compress(good, mtime=0),
        "good-float.idx": _idx(0x0D, (2, 3), np.arange(6, dtype=">f4").tobytes()),
        "labels-1.5.idx": _idx(0x0D, (3,), np.array([0, 1.5, 2], dtype=">f4").tobytes()),
        "bad-magic.idx": b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"\x00\x00",
        "bad-type.idx": _idx(0x0A, (2,)),
        "zero-dims.idx": bytes([0, 0, 8, 0]),
        "many-dims.idx": bytes([0, 0, 8, 255]) + bytes(1020),
        "truncated.idx": good[:30],
        "extra-bytes.idx.gz": gzip.compress(good + b"\x00", mtime=0),
        "claims-2e62.idx.gz": gzip.compress(_idx(0x0E, (2**31, 2**31), b""), mtime=0),
        "bomb-2e62.idx.gz": gzip.compress(_idx(0x08, (2**31, 2**31), bytes(1 << 20)), 9, mtime=0),
        "bomb-past-claim.idx.gz": gzip.compress(_idx(0x08, (10,), bytes(8 << 20)), 9, mtime=0),
        "corrupt-deflate.idx.gz": bytes(damaged),
        "bad-crc.idx.gz": bytes(bad_crc),
        "gzip-truncated.idx.gz": gzip.compress(good, mtime=0)[:-6],
        "empty.idx": b"",
    }


def npz_corpus() -> dict[str, bytes]:
    compressed = bytearray(_savez(True, x=np.arange(4000, dtype=np.int32)))
    name_len, extra_len = struct.unpack("<HH", compressed[26:30])  # the first local header: data follows it
    compressed[30 + name_len + extra_len] = 0xFF  # the member's first deflate block: an invalid type (zlib.error)
    bad_crc = bytearray(_savez(True, x=np.arange(4000, dtype=np.int32)))
    bad_crc[len(bad_crc) // 3] ^= 0x55
    huge = _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 6), }", bytes(48))
    return {
        "good.npz": _savez(x=np.arange(6, dtype=np.float32).reshape(2, 3), y=np.array([0, 1])),
        "good-compressed.npz": _savez(True, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.array([1, 2])),
        "corrupt-deflate.npz": bytes(compressed),
        "bad-crc.npz": bytes(bad_crc),
        "shape-2e40x6.npz": _zip({"x.npy": huge}),
        "npy-renamed.npz": _npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", bytes(16)),
        "strings.npz": _savez(x=np.array(["abc", "de"])),
        "object.npz": _zip({"x.npy": _npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                          b"\x80\x04N.")}),
        "structured.npz": _savez(x=np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])),
        "negative-shape.npz": _zip({"x.npy": _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")}),
        "header-not-literal.npz": _zip({"x.npy": _npy("__import__('os').system('true')")}),
        "header-too-long.npz": _zip({"x.npy": b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{"}),
        "deep-header.npz": _zip({"x.npy": _npy("[" * 3000 + "]" * 3000)}),
        "size-mismatch.npz": _zip({"x.npy": _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }",
                                                 bytes(8))}),
        "bzip2-member.npz": _zip({"x.npy": _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                                bytes(4))}, zipfile.ZIP_BZIP2),
        "truncated.npz": _savez(x=np.arange(100))[:200],
        "not-a-zip.npz": b"PK\x03\x04 not really a zip",
        "empty.npz": b"",
    }


def write_corpus(root: Path) -> None:
    for target, files in (("read_idx", idx_corpus()), ("npz", npz_corpus())):
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (folder / name).write_bytes(body)


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus")
