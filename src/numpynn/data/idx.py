"""IDX files, the format of the original MNIST distribution: read and write, gzip or raw.

Layout: two zero bytes, a type code, the number of dimensions n, then n big-endian uint32 sizes, then the
values in big-endian C order. The reader checks each part before trusting it: the magic bytes, the type
code, the dimensions, and that the payload is exactly as long as the dimensions promise. The size the header
declares is checked against a limit (`max_bytes`) and against the memory available before anything is
inflated, and memory is touched only by bytes actually read, so neither a header that claims 10^12 images nor
a small gzip that inflates to 2^62 bytes (nor an honest 3 GiB one on a machine without 3 GiB free) can cause
an allocation that fails. Gzip files are read to the end, so their CRC and length are verified.
Only regular files are read (a FIFO or a device is refused, never waited on).
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..atomic import atomic_writer
from ..errors import DatasetError
from .files import open_regular, read_payload

# type code -> big-endian dtype
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_TYPES.items()}
MAX_DIMS = 16
MAX_BYTES = 1 << 32  # 4 GiB of values: ~90 times the MNIST training images; pass max_bytes= for more


def _read_exact(stream, n: int, name: str, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise DatasetError(f"{name}: truncated {what}: expected {n} bytes, the file ends after {len(data)}")
    return data


def read_idx(path: str | os.PathLike, *, name: str | None = None, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a native-endian array of its own dtype and shape.

    `max_bytes` bounds the values the header may declare (DatasetError above it, before anything is read).
    """
    path = Path(path)
    name = name or str(path)
    raw = open_regular(path, "IDX file")
    try:
        with raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            with (gzip.GzipFile(fileobj=raw) if gz else raw) as stream:
                return _parse(stream, name, None if gz else os.fstat(raw.fileno()).st_size, max_bytes)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{name}: corrupt gzip data ({exc}); delete the file and fetch it again") from None
    except OSError as exc:
        raise DatasetError(f"{name}: read error: {exc}") from None


def read_idx_bytes(data: bytes, *, name: str = "<bytes>", max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read IDX data held in memory (gzip-compressed or raw)."""
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                return _parse(stream, name, None, max_bytes)
        return _parse(io.BytesIO(data), name, len(data), max_bytes)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{name}: corrupt gzip data ({exc})") from None


def _parse(stream, name: str, total_size: int | None, max_bytes: int) -> np.ndarray:
    magic = _read_exact(stream, 4, name, "header")
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(f"{name}: not an IDX file: the first two bytes must be 0x00 0x00, got "
                           f"0x{magic[0]:02x} 0x{magic[1]:02x}")
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise DatasetError(f"{name}: unknown IDX type code 0x{code:02x}; expected one of "
                           f"{', '.join(f'0x{c:02x}' for c in IDX_TYPES)}")
    if not 1 <= ndim <= MAX_DIMS:
        raise DatasetError(f"{name}: IDX header says {ndim} dimensions; expected 1 to {MAX_DIMS}")
    dims = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, name, "dimension list"))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    if total_size is not None and total_size - 4 - 4 * ndim != expected:
        actual = total_size - 4 - 4 * ndim
        problem = "truncated" if actual < expected else "extra bytes"
        raise DatasetError(f"{name}: the header promises {' x '.join(map(str, dims))} values ({expected} bytes) "
                           f"but the file holds {actual} bytes of data ({problem})")
    if expected > max_bytes:
        raise DatasetError(f"{name}: the header promises {' x '.join(map(str, dims))} values ({expected:,} bytes), "
                           f"more than the limit of {max_bytes:,} bytes; refusing to read it (pass max_bytes= to "
                           f"raise the limit)")
    data, got = read_payload(stream, expected, f"{name}: reading its {' x '.join(map(str, dims))} values")
    if got < expected:
        raise DatasetError(f"{name}: truncated: the header promises {' x '.join(map(str, dims))} values "
                           f"({expected} bytes) but the data ends after {got} bytes")
    if stream.read(1):
        raise DatasetError(f"{name}: extra bytes after the {expected} bytes of data the header promises")
    array = data.view(dtype).reshape(dims)  # a view of the buffer read, not a copy
    if not dtype.isnative:  # big-endian on disk, little-endian here: swap in place, then read as native
        array = array.byteswap(inplace=True).view(dtype.newbyteorder())
    return array


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write `array` as IDX (atomically); gzip when `compress` is True or the name ends in .gz."""
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=").str[1:] if a.dtype.byteorder not in "|" else a.dtype.str[1:]
    code = _CODES.get(key)
    if code is None:
        raise DatasetError(f"IDX stores uint8, int8, int16, int32, float32 or float64; got {a.dtype}")
    if not 1 <= a.ndim <= MAX_DIMS:
        raise DatasetError(f"IDX stores 1 to {MAX_DIMS} dimensions; got {a.ndim}")
    header = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    payload = np.ascontiguousarray(a, dtype=IDX_TYPES[code]).tobytes()
    path = Path(path)
    compress = path.suffix == ".gz" if compress is None else compress
    with atomic_writer(path) as f:
        if compress:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
                gz.write(header + payload)
        else:
            f.write(header + payload)
