"""FusedOps: the methods of NumpyOps, each done in one compiled pass over memory where the C loop applies.

NumPy makes one pass over memory per operation, on one core: the reference Adam is a dozen passes over every
weight, a ReLU layer's bias and activation two, its backward pass three. Around the matrix products of a small
network those passes cost about as much as the products. `_fused.c` does each job in one pass, on the BLAS
library's worker threads as well as the caller's (openblas.py). Bias + ReLU, its backward pass and the
bias sum use the reference's float operations in the same order, so they are bit-identical to it; Adam uses
the paper's own rearrangement of its step and the softmax a vectorized exp, so those agree with the reference
to a few units in the last place (the tests state the tolerance).

Each method falls back to the reference where its C loop does not apply: another activation, arrays that are
not C-contiguous float32/float64 of one dtype, per-sample weights, one-hot targets, an optimizer without a loop.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType

import numpy as np

from .activations import Activation
from .batch_rows import BatchRows
from .numpy_ops import DenseStep, NumpyOps
from .openblas import share as share_blas_threads

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# up to this many rows, prediction runs each Dense layer as one C call that reads only the weights of nonzero
# inputs; from here on one BLAS product, which reads the weights once for all rows, is faster
FEW_ROWS = 3


def _fits(*arrays: np.ndarray) -> bool:
    """C-contiguous float32/float64 arrays of one dtype: what the C loops take (a plain loop: this runs several
    times a step)."""
    dtype = arrays[0].dtype
    if dtype not in _FLOATS:
        return False
    for a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def _is_relu(act: Activation | None) -> bool:
    return act is not None and act.name == "relu"


class FusedOps(NumpyOps):
    """The engine with numpynn's C loops (module numpynn.ops._fused)."""

    name = "c"

    def __init__(self, fused: ModuleType) -> None:
        self._c = fused
        self._blas_library = share_blas_threads(fused)

    def describe(self) -> str:
        shared = ", long loops shared with OpenBLAS's threads" if self._blas_library else ""
        return f"numpynn C extension (one pass per job{shared})"

    def blas_threads(self, on: bool | None = None) -> str | None:
        """The OpenBLAS library whose worker threads share the long loops, or None; `on` switches the sharing."""
        if on is not None:
            self._blas_library = share_blas_threads(self._c, on)
        return self._blas_library

    # --- layers ----------------------------------------------------------------------------------------
    def bias_activation(self, z, b, act, out):
        if _is_relu(act) and out is z and _fits(z, b):
            self._c.bias_relu(z, b)
            return z
        return super().bias_activation(z, b, act, out)

    def bias_activation_backward(self, dy, z, y, act, dz, db):
        if _is_relu(act) and _fits(dy, y, dz, db):
            self._c.relu_backward(dy, y, dz, db)  # the activation's gradient and the bias sum at once
            return dz
        return super().bias_activation_backward(dy, z, y, act, dz, db)

    def sum_rows(self, a, out):
        if a.ndim == 2 and _fits(a, out):
            self._c.sum_rows(a, out)  # np.sum(axis=0) without NumPy's per-call set-up
            return out
        return super().sum_rows(a, out)

    # --- losses and outputs ------------------------------------------------------------------------------
    def softmax(self, z, out):
        if _fits(z, out):
            self._c.softmax(z, out)
            return out
        return super().softmax(z, out)

    def softmax_cross_entropy(self, logits, targets, label_smoothing=0.0, weights=None):
        labels = targets.ndim == 1 and targets.dtype == np.int64 and targets.flags.c_contiguous
        if labels and weights is None and _fits(logits):
            grad = np.empty_like(logits)
            total = self._c.softmax_cross_entropy(logits, targets, label_smoothing, 1.0 / len(logits), grad)
            return float(total), grad
        return super().softmax_cross_entropy(logits, targets, label_smoothing, weights)

    # --- optimizers ------------------------------------------------------------------------------------
    def adam(self, p, g, m, v, *, lr, beta1, beta2, eps, t, weight_decay=0.0, decoupled=False):
        if not _fits(p, g, m, v):
            return super().adam(p, g, m, v, lr=lr, beta1=beta1, beta2=beta2, eps=eps, t=t,
                                weight_decay=weight_decay, decoupled=decoupled)
        # Kingma & Ba, end of section 2: the bias corrections folded into the step size and eps,
        # p -= a * m / (sqrt(v) + eps_hat), a = lr * sqrt(1 - beta2^t) / (1 - beta1^t), eps_hat = eps*sqrt(1 - beta2^t)
        root = math.sqrt(1.0 - beta2**t)
        a, eps_hat = lr * root / (1.0 - beta1**t), eps * root
        decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
        self._c.adam(p, g, m, v, a, beta1, beta2, eps_hat, decay, l2)

    # --- data ----------------------------------------------------------------------------------------------
    def take_rows(self, X, idx, out):
        if X.flags.c_contiguous and out.flags.c_contiguous and out.dtype == X.dtype and idx.dtype == np.int64 \
                and idx.flags.c_contiguous and X.ndim >= 1 and len(X):
            self._c.take_rows(X, idx, out)  # np.take, prefetching the scattered rows
            return out
        return super().take_rows(X, idx, out)

    def warp(self, images, affine, field=None):
        fits = images.ndim == 3 and images.dtype in _FLOATS and images.flags.c_contiguous and \
            affine.dtype == np.float64 and affine.shape == (len(images), 2, 3) and affine.flags.c_contiguous and \
            (field is None or (field.dtype == images.dtype and field.shape == (2,) + images.shape
                               and field.flags.c_contiguous))
        if not fits:
            return super().warp(images, affine, field)
        out = np.empty_like(images)
        self._c.warp(images, affine, field, out)  # one pass a pixel, bounds-checked taps instead of a padded copy
        return out

    def all_finite(self, a, block=1 << 20):
        if a.dtype in _FLOATS and a.flags.c_contiguous:
            return self._c.all_finite(a)  # one pass, no temporary
        return super().all_finite(a, block)

    # --- prediction ------------------------------------------------------------------------------------------
    def predictor(self, layers: Sequence[DenseStep]):
        """A few rows (up to FEW_ROWS) of a ReLU stack in one C call, more rows as BatchRows does."""
        batch = BatchRows(self, layers, self._bias_activation_alone)
        relu_only = all(act is None or _is_relu(act) for _, _, act in layers)
        if not relu_only or not _fits(*[a for W, b, _ in layers for a in (W, b)]):
            return batch
        return _FewRows(self._c, layers, batch)

    def _bias_activation_alone(self, z, b, act, out):
        """bias_activation on the calling thread alone. A batch's bias + ReLU comes right after a product, while
        BLAS's workers still spin; handing them a part then waits for them to be scheduled, which on a loaded
        machine costs more than the part (docs/performance.md)."""
        if _is_relu(act) and out is z and _fits(z, b):
            self._c.bias_relu(z, b, False)
            return z
        return super().bias_activation(z, b, act, out)

    @contextlib.contextmanager
    def flush_subnormals(self) -> Iterator[None]:
        """Within the block, this thread computes floats below the smallest normal number (1.2e-38 in float32) as
        zero. Training makes such subnormal numbers: where a weight's gradient is zero step after step (a pixel
        that is always background, a ReLU unit that never fires), its optimizer state decays geometrically and
        after some 850 Adam steps is subnormal; x86 CPUs compute on those about a hundred times slower."""
        previous = self._c.flush_subnormals(True)
        try:
            yield
        finally:
            self._c.flush_subnormals(previous)


class _FewRows:
    """FusedOps' predictor of a stack of Dense layers (ReLU or none): up to FEW_ROWS rows in one C call, more
    rows (or rows the call cannot take) as BatchRows does; a new array either way.

    A product of one row with W reads all of W, and for a small network that read is most of the time. The C
    loop reads only the rows of W whose input is nonzero (about half of an image's pixels are background, and
    about half of a ReLU layer's outputs are zero) and does the bias and ReLU in the same pass; one call runs
    every layer, each reading the one before. Its output buffers, one set per row count and thread, are reused:
    threads predicting at once each write their own.
    """

    def __init__(self, fused: ModuleType, layers: Sequence[DenseStep], batch: BatchRows) -> None:
        self._run, self._batch = fused.dense_rows, batch
        self._layers = tuple(layers)
        self._width, self._dtype = layers[0][0].shape[0], layers[0][0].dtype
        self._local = threading.local()

    def __call__(self, x: np.ndarray, softmax: bool = False, max_rows: int | None = None) -> np.ndarray:
        n = len(x)
        if n > FEW_ROWS or x.ndim != 2 or x.shape[1] != self._width or x.dtype != self._dtype \
                or not x.flags.c_contiguous:
            return self._batch(x, softmax, max_rows)
        plan = self.buffers(n)
        self._run(x, plan, softmax)
        return plan[-1][2].copy()

    def buffers(self, n: int) -> tuple:
        """This thread's (W, b, out, relu) of each layer for n rows."""
        plans = getattr(self._local, "plans", None)
        if plans is None:
            plans = self._local.plans = {}
        plan = plans.get(n)
        if plan is None:
            plan = plans[n] = tuple((W, b, np.empty((n, W.shape[1]), W.dtype), act is not None)
                                    for W, b, act in self._layers)
        return plan
