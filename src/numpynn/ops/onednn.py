"""oneDNN's BLAS-like products, loaded through ctypes: `dnnl_gemm_bf16bf16f32` (bfloat16 inputs, float32
accumulation and output) and `dnnl_sgemm` (float32), both row-major, for the bf16 engine (bf16_ops.py).

The library comes from the optional extra `numpynn[bf16]` (the `onednn-cpu-gomp` wheel, which puts
`lib/libdnnl.so.3` under the environment's prefix and needs only GNU OpenMP). NUMPYNN_DNNL names another copy.
Nothing here is imported unless bfloat16 products are asked for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import NumpynnError

# CPU features with bfloat16 dot products: without one, oneDNN emulates them more slowly than float32 runs
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


class Bf16Unavailable(NumpynnError, RuntimeError):
    """bfloat16 products were asked for where this CPU or this installation cannot do them."""


def cpu_flags() -> set[str]:
    """The feature flags of this CPU as Linux lists them (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bf16_flags() -> list[str]:
    """This CPU's bfloat16 features, best first."""
    flags = cpu_flags()
    return [f for f in BF16_FLAGS if f in flags]


def _candidates() -> list[str]:
    named = os.environ.get("NUMPYNN_DNNL")
    if named:
        return [named]
    found = [str(Path(prefix) / "lib" / "libdnnl.so.3") for prefix in dict.fromkeys((sys.prefix, sys.base_prefix))]
    system = ctypes.util.find_library("dnnl")
    return [*found, *([system] if system else [])]


_i64, _ptr, _f32, _char = ctypes.c_int64, ctypes.c_void_p, ctypes.c_float, ctypes.c_char
_GEMM_ARGS = [_char, _char, _i64, _i64, _i64, _f32, _ptr, _i64, _ptr, _i64, _f32, _ptr, _i64]


class OneDNN:
    """The two products of one loaded libdnnl. C = op(A) @ op(B) (+ beta*C), row-major, `op` = "N" or "T"."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lib = ctypes.CDLL(path)
        self._bf16 = self._lib.dnnl_gemm_bf16bf16f32
        self._sgemm = self._lib.dnnl_sgemm
        for fn in (self._bf16, self._sgemm):
            fn.argtypes, fn.restype = _GEMM_ARGS, ctypes.c_int

        class Version(ctypes.Structure):
            _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                        ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]

        self._lib.dnnl_version.restype = ctypes.POINTER(Version)
        v = self._lib.dnnl_version().contents
        self.version = f"{v.major}.{v.minor}.{v.patch}"

    def _call(self, fn, a: np.ndarray, b: np.ndarray, out: np.ndarray, ta: bool, tb: bool) -> np.ndarray:
        # shapes as stored; op(A) is (m, k), op(B) is (k, n)
        m, k = (a.shape[1], a.shape[0]) if ta else a.shape
        kb, n = (b.shape[1], b.shape[0]) if tb else b.shape
        if k != kb or out.shape != (m, n):
            raise ValueError(f"product shapes do not match: {a.shape}{'ᵀ' * ta} @ {b.shape}{'ᵀ' * tb} -> {out.shape}")
        for name, x in (("a", a), ("b", b), ("out", out)):
            if not x.flags.c_contiguous:
                raise ValueError(f"oneDNN products take C-contiguous arrays; {name} is not")
        status = fn(b"T" if ta else b"N", b"T" if tb else b"N", m, n, k, 1.0, a.ctypes.data, a.shape[1],
                    b.ctypes.data, b.shape[1], 0.0, out.ctypes.data, n)
        if status != 0:
            raise RuntimeError(f"oneDNN's product failed with status {status} ({a.shape} @ {b.shape})")
        return out

    def gemm_bf16(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, *, ta: bool = False,
                  tb: bool = False) -> np.ndarray:
        """out = op(a) @ op(b) for bfloat16 bits in uint16 arrays, accumulated and written in float32."""
        if a.dtype != np.uint16 or b.dtype != np.uint16 or out.dtype != np.float32:
            raise TypeError(f"gemm_bf16 takes uint16 (bfloat16 bits) a, b and float32 out, got {a.dtype}, "
                            f"{b.dtype}, {out.dtype}")
        return self._call(self._bf16, a, b, out, ta, tb)

    def sgemm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, *, ta: bool = False,
              tb: bool = False) -> np.ndarray:
        """out = op(a) @ op(b) in float32."""
        if a.dtype != np.float32 or b.dtype != np.float32 or out.dtype != np.float32:
            raise TypeError(f"sgemm takes float32 arrays, got {a.dtype}, {b.dtype}, {out.dtype}")
        return self._call(self._sgemm, a, b, out, ta, tb)


_loaded: OneDNN | None = None


def load() -> OneDNN:
    """The oneDNN library, loaded once; Bf16Unavailable saying why where it cannot be used for bfloat16."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if not sys.platform.startswith("linux"):
        raise Bf16Unavailable(f"bfloat16 products are supported on Linux only, not {sys.platform}")
    if not bf16_flags():
        raise Bf16Unavailable("this CPU has no bfloat16 dot products (neither AMX-BF16 nor AVX512-BF16 in "
                              "/proc/cpuinfo): precision='bf16' would run slower than float32")
    # GNU OpenMP's threads otherwise spin between products, taking the cores from OpenBLAS's threads and numpynn's
    # loops that run in between (measured: a step several times slower on a busy machine); read when libgomp loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    errors = []
    for path in _candidates():
        try:
            _loaded = OneDNN(path)
            return _loaded
        except (OSError, AttributeError) as exc:
            errors.append(f"{path}: {exc}")
    raise Bf16Unavailable("bfloat16 products need oneDNN: pip install 'numpynn[bf16]' (or set NUMPYNN_DNNL to a "
                          "libdnnl.so); tried " + "; ".join(errors or ["nothing found"]))
