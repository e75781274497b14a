"""Weight initializers: pure functions of (shape, rng, dtype) for a Dense weight of shape (fan_in, fan_out).

- he_*: variance 2/fan_in, for ReLU-family layers.
- glorot_*: variance 2/(fan_in+fan_out), for tanh/sigmoid layers.
- lecun_*: variance 1/fan_in, for SELU/linear layers.
- small_normal: N(0, 0.01^2), the "x 0.01" start of the classic from-scratch tutorials.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checks import lookup

Initializer = Callable[[tuple[int, ...], np.random.Generator, np.dtype], np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    fan_in = shape[0] if len(shape) >= 1 else 1
    fan_out = shape[1] if len(shape) >= 2 else shape[0]
    return fan_in, fan_out


def _normal(shape, rng, dtype, std: float) -> np.ndarray:
    return (rng.standard_normal(shape) * std).astype(dtype)


def _uniform(shape, rng, dtype, limit: float) -> np.ndarray:
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype=np.float32):
    return _normal(shape, rng, dtype, np.sqrt(2.0 / _fans(shape)[0]))


def he_uniform(shape, rng, dtype=np.float32):
    return _uniform(shape, rng, dtype, np.sqrt(6.0 / _fans(shape)[0]))


def glorot_normal(shape, rng, dtype=np.float32):
    fi, fo = _fans(shape)
    return _normal(shape, rng, dtype, np.sqrt(2.0 / (fi + fo)))


def glorot_uniform(shape, rng, dtype=np.float32):
    fi, fo = _fans(shape)
    return _uniform(shape, rng, dtype, np.sqrt(6.0 / (fi + fo)))


def lecun_normal(shape, rng, dtype=np.float32):
    return _normal(shape, rng, dtype, np.sqrt(1.0 / _fans(shape)[0]))


def lecun_uniform(shape, rng, dtype=np.float32):
    return _uniform(shape, rng, dtype, np.sqrt(3.0 / _fans(shape)[0]))


def small_normal(shape, rng, dtype=np.float32):
    return _normal(shape, rng, dtype, 0.01)


def zeros(shape, rng, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "lecun": lecun_normal,
    "small_normal": small_normal,
    "scaled_normal": small_normal,
    "zeros": zeros,
}
BIAS_INITIALIZERS = ("zeros", "small_normal")


def get_initializer(name: str) -> Initializer:
    """Look an initializer up by name; an unknown name lists the known ones."""
    return lookup(INITIALIZERS, name, "initializer")


RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu")  # He initialisation keeps their activations' variance steady


def auto_initializer(activation: str | None) -> str:
    """init="auto": He for a ReLU-like activation, Glorot otherwise."""
    return "he_normal" if activation in RELU_LIKE else "glorot_uniform"
