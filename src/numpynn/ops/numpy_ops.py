"""NumpyOps: every array operation of a training step, written as its maths reads, in plain NumPy.

This is the version to read. Layers, losses, optimizers and the fit loop call these methods and nothing else
for their elementwise work; `FusedOps` (fused_ops.py) has the same methods and does each in one compiled pass.
The matrix products are NumPy's `@` (BLAS) in both engines; `Bf16Ops` (bf16_ops.py) runs them in bfloat16.

Arrays are batch-first, (batch, features); `out=` arguments are preallocated by the caller and may be the input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .activations import Activation, sigmoid, softmax
from .batch_rows import BatchRows
from .warp import warp as resample

# one Dense layer for few-row prediction: (W (in, out), b (out,), the activation it applies or None)
DenseStep = tuple[np.ndarray, np.ndarray, Activation | None]


class NumpyOps:
    """The reference engine."""

    name = "numpy"

    def describe(self) -> str:
        return "NumPy reference"

    def blas_threads(self, on: bool | None = None) -> str | None:
        """The BLAS library whose threads share this engine's loops: none, NumPy runs them on the calling thread."""
        return None

    # --- matrix products ---------------------------------------------------------------------------------
    def operand(self, a: np.ndarray, scratch: Any = None, name: str = "") -> np.ndarray:
        """`a` as this engine's products take it: itself here. An engine that multiplies in a lower precision
        rounds it, into `scratch._buffer(name, ...)` (a layer's reused scratch) or, without scratch, a new array;
        a layer hands each operand through once a step, and both products that read it take the result."""
        return a

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = a @ b: a layer's forward product, x @ W (x may be a SciPy sparse batch)."""
        if not isinstance(a, np.ndarray):  # sparse: its product is dense, the batch stays sparse
            out[...] = a @ b
            return out
        return np.matmul(a, b, out=out)

    def matmul_tn(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = aᵀ @ b: the weight gradient, xᵀ @ dz (x may be a SciPy sparse batch)."""
        if not isinstance(a, np.ndarray):
            out[...] = a.T @ b
            return out
        return np.matmul(a.T, b, out=out)

    def matmul_nt(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = a @ bᵀ: the gradient passed back, dz @ Wᵀ."""
        return np.matmul(a, b.T, out=out)

    # --- layers ----------------------------------------------------------------------------------------
    def bias_activation(self, z: np.ndarray, b: np.ndarray, act: Activation | None, out: np.ndarray) -> np.ndarray:
        """y = act(z + b): z (batch, k) gets the bias in place; y goes to `out` (which may be z)."""
        z += b
        if act is None:
            return z
        return act.forward(z, out)

    def bias_activation_backward(self, dy: np.ndarray, z: np.ndarray, y: np.ndarray, act: Activation | None,
                                 dz: np.ndarray, db: np.ndarray) -> np.ndarray:
        """dz = dL/dz = act'(z) * dy and db = dL/db = sum of dz over the batch; returns dz (`dy` itself
        without an activation)."""
        if act is not None:
            dy = self.activation_backward(z, y, dy, act, dz)
        self.sum_rows(dy, db)
        return dy

    def sum_rows(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = a summed over its rows (the batch): a bias gradient."""
        return np.sum(a, axis=0, out=out)

    def activation(self, x: np.ndarray, act: Activation, out: np.ndarray) -> np.ndarray:
        """y = act(x) into `out`."""
        return act.forward(x, out)

    def activation_backward(self, x: np.ndarray | None, y: np.ndarray, dy: np.ndarray, act: Activation,
                            out: np.ndarray) -> np.ndarray:
        """dL/dx = act'(x) * dy into `out`."""
        return act.backward(x, y, dy, out)

    # --- losses and outputs ------------------------------------------------------------------------------
    def softmax(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Row-wise softmax of (batch, k) logits into `out`."""
        return softmax(z, out)

    def sigmoid(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        return sigmoid(z, out)

    def softmax_cross_entropy(self, logits: np.ndarray, targets: np.ndarray, label_smoothing: float = 0.0,
                              weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Mean cross-entropy of softmax(logits) against integer labels (batch,) or probability rows (batch, k),
        and its gradient (softmax(z) - t) / batch, in one stable step (log-sum-exp of shifted logits).

        With label smoothing eps the target is (1 - eps) * t + eps / k. Per-sample `weights` scale each term;
        the mean then divides by their sum."""
        n, k = logits.shape
        shifted = logits - logits.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):
            exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        log_z = np.log(sums)  # log-sum-exp of the shifted logits, >= 0
        probs = exp / sums
        eps = label_smoothing
        if targets.ndim == 1:  # labels: -log p[label], without building the one-hot rows
            rows = np.arange(n)
            per_sample = log_z[:, 0] - shifted[rows, targets]
            if eps:
                per_sample = (1 - eps) * per_sample + eps * (log_z[:, 0] - shifted.mean(axis=1))
            grad = probs
            if eps:
                grad -= eps / k
            grad[rows, targets] -= 1 - eps
        else:
            t = targets.astype(logits.dtype, copy=False)
            if eps:
                t = t * (1 - eps) + eps / k
            per_sample = (t * (log_z - shifted)).sum(axis=1)
            grad = probs - t
        return _weighted_mean(per_sample, grad, weights, n)

    def sigmoid_binary_cross_entropy(self, logits: np.ndarray, targets: np.ndarray,
                                     weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Mean over samples of the summed binary cross-entropy of sigmoid(z) against 0/1 targets, from the
        logits: max(z, 0) - z*t + log(1 + exp(-|z|)) never overflows. Gradient (sigmoid(z) - t) / batch."""
        n = logits.shape[0]
        z = logits.reshape(n, -1)
        t = targets.reshape(z.shape).astype(logits.dtype, copy=False)
        with np.errstate(under="ignore"):
            per_sample = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)
        grad = sigmoid(z, np.empty_like(z)) - t
        value, grad = _weighted_mean(per_sample, grad, weights, n)
        return value, grad.reshape(logits.shape)

    # --- optimizers: each updates p (and its state) in place from the gradient g ----------------------------
    def sgd(self, p: np.ndarray, g: np.ndarray, velocity: np.ndarray | None, *, lr: float, momentum: float = 0.0,
            nesterov: bool = False, weight_decay: float = 0.0) -> None:
        """g += wd * p;  v = mu * v + g;  p -= lr * v  (Nesterov: p -= lr * (g + mu * v)); plain SGD without
        momentum. `g` is the model's gradient buffer and may be changed."""
        if weight_decay:
            g += weight_decay * p
        if not momentum:
            p -= lr * g
            return
        velocity *= momentum
        velocity += g
        p -= lr * (g + momentum * velocity if nesterov else velocity)

    def adam(self, p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, *, lr: float, beta1: float,
             beta2: float, eps: float, t: int, weight_decay: float = 0.0, decoupled: bool = False) -> None:
        """Adam (Kingma & Ba 2015, Algorithm 1), step t = 1, 2, ...:
            m = beta1 * m + (1 - beta1) * g            first moment
            v = beta2 * v + (1 - beta2) * g^2          second moment
            m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)      bias corrections
            p -= lr * m_hat / (sqrt(v_hat) + eps)
        Weight decay is added to the gradient (Adam's L2) or, decoupled (AdamW, Loshchilov & Hutter), shrinks
        the weights by lr * weight_decay before the step."""
        if decoupled:
            p -= lr * weight_decay * p
        elif weight_decay:
            g += weight_decay * p
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * np.square(g)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)

    def rmsprop(self, p: np.ndarray, g: np.ndarray, sq: np.ndarray, *, lr: float, rho: float, eps: float,
                weight_decay: float = 0.0) -> None:
        """RMSprop (Hinton): sq = rho * sq + (1 - rho) * g^2;  p -= lr * g / (sqrt(sq) + eps)."""
        if weight_decay:
            g += weight_decay * p
        sq *= rho
        sq += (1 - rho) * np.square(g)
        p -= lr * g / (np.sqrt(sq) + eps)

    def adagrad(self, p: np.ndarray, g: np.ndarray, total: np.ndarray, *, lr: float, eps: float,
                weight_decay: float = 0.0) -> None:
        """Adagrad (Duchi et al. 2011): total += g^2;  p -= lr * g / (sqrt(total) + eps)."""
        if weight_decay:
            g += weight_decay * p
        total += np.square(g)
        p -= lr * g / (np.sqrt(total) + eps)

    # --- data ----------------------------------------------------------------------------------------------
    def take_rows(self, X: np.ndarray, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = X[idx]: a minibatch gathered into a reused buffer."""
        return np.take(X, idx, axis=0, out=out)

    def warp(self, images: np.ndarray, affine: np.ndarray, field: np.ndarray | None = None) -> np.ndarray:
        """Augmentation's resampling: images (n, h, w) read at affine (n, 2, 3) maps of each output pixel
        (r, c, 1), plus a displacement field (2, n, h, w); bilinear, zero outside (ops/warp.py)."""
        return resample(images, affine, field)

    def all_finite(self, a: np.ndarray, block: int = 1 << 20) -> bool:
        """True when no element is NaN or inf; checked in blocks of rows, so the temporary stays small."""
        if a.dtype.kind != "f":
            return True
        if a.size <= block or a.ndim == 0:
            return bool(np.isfinite(a).all())
        rows = max(1, block // max(1, a.size // len(a)))
        return all(np.isfinite(a[i:i + rows]).all() for i in range(0, len(a), rows))

    # --- prediction ------------------------------------------------------------------------------------------
    def predictor(self, layers: Sequence[DenseStep]) -> Callable[..., np.ndarray]:
        """The way to run this stack of Dense layers at prediction: `run(x, softmax=False, max_rows=None)`, the
        last layer's output (with softmax, its row-wise softmax) as a new array; reentrant. Here: in place,
        without copies (batch_rows.py)."""
        return BatchRows(self, layers)

    @contextlib.contextmanager
    def flush_subnormals(self) -> Iterator[None]:
        """Within the block, numbers below the smallest normal float count as zero, where the engine can set
        that mode. NumPy cannot: the reference keeps strict IEEE arithmetic."""
        yield


def _weighted_mean(per_sample: np.ndarray, grad: np.ndarray, weights: np.ndarray | None,
                   n: int) -> tuple[float, np.ndarray]:
    """(mean of per_sample, grad / n), or with weights (sum w_i l_i / sum w, w_i grad_i / sum w)."""
    if weights is None:
        norm = 1.0 / n
    else:
        norm = 1.0 / float(weights.sum())
        per_sample = per_sample * weights
        grad *= weights[:, None]
    grad *= norm
    return float(per_sample.sum(dtype=np.float64) * norm), grad
