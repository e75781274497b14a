"""Bf16Ops: the fused engine with its matrix products in bfloat16 (float32 accumulation), from oneDNN.

A step's products take their inputs rounded to bfloat16 (8 significant bits: a relative error of at most 2^-8
per input, so at most about 2^-7 per product term, typically far less in a sum) and add them up in float32.
Everything else stays float32: the master weights, the gradients they receive, the optimizer's state, every
elementwise loop. On CPUs with bfloat16 dot products (AMX-BF16, AVX512-BF16) such products can run several
times faster than float32 ones; docs/performance.md has what was measured.

Layers hand their product operands through `operand` once (x and W in the forward pass, dz in the backward
pass, each reused by both products that read it), so each is rounded once per step.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .fused_ops import FusedOps
from .onednn import OneDNN

_BITS = np.dtype(np.uint16)  # a bfloat16 number is stored as its 16 bits


class Bf16Ops(FusedOps):
    """FusedOps whose matrix products run in bfloat16 (numpynn's precision="bf16")."""

    name = "bf16"

    def __init__(self, fused: ModuleType, dnnl: OneDNN) -> None:
        super().__init__(fused)
        self._dnnl = dnnl

    def describe(self) -> str:
        return f"bfloat16 products (oneDNN {self._dnnl.version}), float32 elsewhere: " + super().describe()

    def to_product(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """`a` (float32) rounded to bfloat16, as 16-bit words, into `out`."""
        if a.dtype != np.float32:
            raise TypeError(f"bfloat16 products are made from float32 arrays, got {a.dtype}")
        self._c.to_bf16(np.ascontiguousarray(a), out)
        return out

    def operand(self, a, scratch=None, name=""):
        if not isinstance(a, np.ndarray):  # a SciPy sparse batch multiplies in float32, as it is
            return a
        out = np.empty(a.shape, _BITS) if scratch is None else scratch._buffer("low_" + name, a.shape, _BITS)
        return self.to_product(a, out)

    def _operands(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        if a.dtype == _BITS and b.dtype == _BITS:
            return a, b, True
        if a.dtype == _BITS or b.dtype == _BITS:
            raise TypeError(f"a bfloat16 product needs both operands rounded, got {a.dtype} and {b.dtype}")
        return a, b, False

    def matmul(self, a, b, out):
        a, b, low = self._operands(a, b)
        return self._dnnl.gemm_bf16(a, b, out) if low else super().matmul(a, b, out)

    def matmul_tn(self, a, b, out):
        a, b, low = self._operands(a, b)
        return self._dnnl.gemm_bf16(a, b, out, ta=True) if low else super().matmul_tn(a, b, out)

    def matmul_nt(self, a, b, out):
        a, b, low = self._operands(a, b)
        return self._dnnl.gemm_bf16(a, b, out, tb=True) if low else super().matmul_nt(a, b, out)
