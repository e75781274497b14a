"""IDX: round trips for every element type, and numpynn's own error for every kind of corruption."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from numpynn.data import read_idx, read_idx_bytes, write_idx
from numpynn.errors import DatasetError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (2, 1, 3, 2)])
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_round_trip_every_type_and_rank(dtype, shape, suffix, tmp_path, rng):
    a = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype).newbyteorder("=") and b.shape == shape
    np.testing.assert_array_equal(a, b)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def _idx_bytes(code=0x08, dims=(2, 3), payload=None):
    header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + (bytes(int(np.prod(dims))) if payload is None else payload)


def _raises(tmp_path, data: bytes, match: str, gz: bool = False):
    path = tmp_path / ("bad.idx.gz" if gz else "bad.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetError, match=match) as info:
        read_idx(path)
    assert "bad.idx" in str(info.value)  # the message names the file


@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_headers_and_payloads(tmp_path, gz):
    _raises(tmp_path, b"\x01\x00\x08\x02" + bytes(14), "first two bytes must be 0x00 0x00", gz)
    _raises(tmp_path, _idx_bytes(code=0x0A), "unknown IDX type code 0x0a", gz)
    _raises(tmp_path, bytes([0, 0, 8, 0]), "says 0 dimensions", gz)
    _raises(tmp_path, _idx_bytes() + b"\x00", "extra bytes", gz)
    # a raw file is measured, a gzip's claim is checked against the limit: neither is read to its claimed end
    _raises(tmp_path, _idx_bytes(dims=(10**12 // 2**20, 2**20), payload=bytes(100)),
            "more than the limit" if gz else "truncated", gz)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_at_many_offsets(tmp_path, gz, rng):
    data = _idx_bytes(code=0x0D, dims=(4, 5), payload=rng.standard_normal(20).astype(">f4").tobytes())
    for cut in range(0, len(data), 5):
        _raises(tmp_path, data[:cut], "truncated|first two bytes", gz)


def test_truncated_and_damaged_gzip_streams(tmp_path):
    good = gzip.compress(_idx_bytes(dims=(50, 50)))
    for cut in (3, 10, len(good) // 2, len(good) - 4, len(good) - 1):
        path = tmp_path / "t.idx.gz"
        path.write_bytes(good[:cut])
        with pytest.raises(DatasetError, match="t.idx.gz"):
            read_idx(path)
    damaged = bytearray(good)
    damaged[-6] ^= 0xFF  # CRC32 trailer
    path.write_bytes(bytes(damaged))
    with pytest.raises(DatasetError, match="corrupt gzip"):
        read_idx(path)


def test_huge_header_claim_never_allocates(tmp_path):
    # 10^12 one-byte images of 1x1: the reader must fail on the missing data, not try to allocate a terabyte
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**12 % 2**32, 1, 1) + bytes(64)
    with pytest.raises(DatasetError, match="truncated"):
        read_idx_bytes(data, name="claims.idx")
    big = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**16, 2**16) + bytes(64)
    with pytest.raises(DatasetError, match="more than the limit"):
        read_idx_bytes(gzip.compress(big), name="claims.idx.gz")


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="cannot open IDX file"):
        read_idx(tmp_path / "nope.idx")
