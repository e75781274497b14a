""".npz files (np.savez, Keras's mnist.npz) read as an attacker's file would be: nothing trusted before it is checked.

Each member's .npy header is parsed here (not by np.load) so that every claim is checked before a byte of data
is inflated: the header's own length, its fields, a numeric dtype (no objects, text or records: nothing to
unpickle), whole non-negative dimensions, a declared size within `max_bytes` (all members together) and equal
to what the zip entry holds, and all members together within the memory available. The data is then read in
bounded blocks and the zip's CRC verified at its end. A lone .npy file (`load_npy`) is read the same way.
"""

from __future__ import annotations

import ast
import os
import struct
import zipfile
import zlib

import numpy as np

from ..errors import DatasetError
from ..memory import check_available
from .files import open_regular, read_payload

MAX_BYTES = 1 << 32     # all arrays of one file together: 4 GiB (Keras's mnist.npz holds 55 MB)
MAX_HEADER = 10_000     # np.load's own limit on a .npy header
MAX_MEMBERS = 10_000
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float


def load_npz_arrays(path: str | os.PathLike, keys: tuple[str, ...] | None = None, *,
                    max_bytes: int = MAX_BYTES) -> dict[str, np.ndarray]:
    """The numeric arrays of an .npz file (never unpickling); `keys` must all be present. DatasetError otherwise."""
    name = str(path)
    with open_regular(path, ".npz file") as f:
        head = f.read(6)
        if head == b"\x93NUMPY":
            raise DatasetError(f"{name}: this is a .npy file (one array, as np.save writes) named .npz; expected an "
                               f".npz archive of named arrays (np.savez)")
        if head[:2] != b"PK":
            raise DatasetError(f"{name}: not an .npz file: it does not start like a zip archive (got {head[:4]!r})")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as z:
                return _read_archive(z, name, keys, max_bytes)
        except DatasetError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
                struct.error, RuntimeError, NotImplementedError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{name}: not a readable .npz file ({type(exc).__name__}: {exc})") from None


def _read_archive(z: zipfile.ZipFile, name: str, keys: tuple[str, ...] | None,
                  max_bytes: int) -> dict[str, np.ndarray]:
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise DatasetError(f"{name}: {len(infos):,} members; an .npz of arrays has at most {MAX_MEMBERS:,}")
    members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
    present = list(members)
    wanted = keys or tuple(present)
    missing = [k for k in wanted if k not in members]
    if missing:
        raise DatasetError(f"{name}: missing arrays {missing}; the file has {present}")
    # every member's header first: the arrays together must fit the limit and the memory before one is inflated
    budget, headers = max_bytes, {}
    for key in wanted:
        headers[key] = _member_header(z, members[key], f"{name}: array {key!r}", budget)
        budget -= headers[key][3]
    total = max_bytes - budget
    if len(wanted) > 1:
        check_available(total, f"{name}: reading its {len(wanted)} arrays ({', '.join(wanted)[:200]})")
    return {key: _read_member(z, members[key], f"{name}: array {key!r}", headers[key]) for key in wanted}


def _member_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, where: str,
                   budget: int) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, bytes of data) of a member, checked against `budget` and its zip entry."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DatasetError(f"{where}: compression method {info.compress_type}; np.savez writes only stored or "
                           f"deflated members")
    with z.open(info) as m:
        shape, fortran, dtype, header_len = _read_header(m, where)
    nbytes = _declared_bytes(shape, dtype, where, budget, "bytes left of the limit")
    if info.file_size - header_len != nbytes:
        raise DatasetError(f"{where}: the header promises shape {shape} of {dtype} ({nbytes:,} bytes) but the "
                           f"archive entry holds {info.file_size - header_len:,} bytes after the header")
    return shape, fortran, dtype, nbytes


def _declared_bytes(shape: tuple[int, ...], dtype: np.dtype, where: str, budget: int, limit: str) -> int:
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > budget:
        raise DatasetError(f"{where}: the header promises shape {shape} of {dtype} ({nbytes:,} bytes), more than "
                           f"the {budget:,} {limit}; refusing to read it")
    return nbytes


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, where: str,
                 header: tuple[tuple[int, ...], bool, np.dtype, int]) -> np.ndarray:
    shape, fortran, dtype, nbytes = header
    with z.open(info) as m:
        _read_header(m, where)
        array = _read_data(m, shape, fortran, dtype, nbytes, where)
        if m.read(1):  # also makes zipfile check the CRC at the end of the entry
            raise DatasetError(f"{where}: extra bytes after the {nbytes:,} bytes its header promises")
    return array


def _read_data(stream, shape: tuple[int, ...], fortran: bool, dtype: np.dtype, nbytes: int,
               where: str) -> np.ndarray:
    data, got = read_payload(stream, nbytes, f"{where}: reading its {shape} array of {dtype}")
    if got < nbytes:
        raise DatasetError(f"{where}: truncated: {got:,} of {nbytes:,} bytes")
    array = data.view(dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder())
    return array


def load_npy(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The numeric array of a .npy file (np.save), read as an .npz member is: never unpickled, its header checked
    against the file's size, the limit and the memory available before the data is read. DatasetError otherwise."""
    name = str(path)
    with open_regular(path, ".npy file") as f:
        try:
            shape, fortran, dtype, header_len = _read_header(f, name)
            nbytes = _declared_bytes(shape, dtype, name, max_bytes, "bytes numpynn reads from one file")
            size = os.fstat(f.fileno()).st_size
            if size - header_len != nbytes:
                raise DatasetError(f"{name}: the header promises shape {shape} of {dtype} ({nbytes:,} bytes) but the "
                                   f"file holds {size - header_len:,} bytes after the header")
            return _read_data(f, shape, fortran, dtype, nbytes, name)
        except OSError as exc:
            raise DatasetError(f"{name}: read error: {exc.strerror or exc}") from None


def _read_header(m, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, bytes before the data) of a .npy stream, every field checked."""
    magic = m.read(8)
    if len(magic) != 8 or magic[:6] != b"\x93NUMPY":
        raise DatasetError(f"{where}: not a .npy array (bad magic bytes {magic[:6]!r})")
    major = magic[6]
    if major not in (1, 2, 3):
        raise DatasetError(f"{where}: .npy format version {major}.{magic[7]}; expected 1.0, 2.0 or 3.0")
    size_len = 2 if major == 1 else 4
    raw_len = m.read(size_len)
    if len(raw_len) != size_len:
        raise DatasetError(f"{where}: truncated .npy header")
    header_len = struct.unpack("<H" if major == 1 else "<I", raw_len)[0]
    if header_len > MAX_HEADER:
        raise DatasetError(f"{where}: .npy header of {header_len:,} bytes; at most {MAX_HEADER:,} are accepted")
    raw = m.read(header_len)
    if len(raw) != header_len:
        raise DatasetError(f"{where}: truncated .npy header")
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, UnicodeDecodeError):
        raise DatasetError(f"{where}: the .npy header is not a Python literal dict") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise DatasetError(f"{where}: the .npy header must hold exactly descr, fortran_order and shape")
    shape, fortran = header["shape"], header["fortran_order"]
    if (not isinstance(shape, tuple) or len(shape) > 64
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise DatasetError(f"{where}: the .npy shape must be a tuple of whole numbers >= 0, got {shape!r:.80}")
    if not isinstance(fortran, bool):
        raise DatasetError(f"{where}: fortran_order must be True or False, got {fortran!r:.80}")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        raise DatasetError(f"{where}: not a NumPy dtype: {header['descr']!r:.80}") from None
    if dtype.hasobject:
        raise DatasetError(f"{where}: holds Python objects ({dtype}), which only unpickling could read; numpynn "
                           f"never unpickles")
    if dtype.kind not in NUMERIC_KINDS or dtype.shape or dtype.itemsize == 0:
        raise DatasetError(f"{where}: holds {dtype} values (text, bytes, records or complex numbers); numpynn "
                           f"reads numbers only (bool, integers, floats)")
    return shape, fortran, dtype, 8 + size_len + header_len
