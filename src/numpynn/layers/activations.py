"""Activation layers: ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, Identity.

The maths lives in numpynn/ops/activations.py; these classes only cache what backward needs. After a Dense
layer, a model runs the pair as one step (Dense applies the activation in the same pass as its bias).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import in_range
from ..ops import Activation
from .base import Layer


class ActivationLayer(Layer):
    """Base of the layers that apply one elementwise (or row-wise) activation, `act`, and nothing else."""

    fn_name = "identity"
    abstract = True  # not a layer a model file can name

    def __init__(self) -> None:
        super().__init__()
        self.act = Activation(self.fn_name, self._alpha())
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def _alpha(self) -> float | None:
        return None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            return self.infer(x)
        y = self.ops.activation(x, self.act, self._buffer("y", x.shape))
        self._ready_for_backward = True
        self._x, self._y = (x if self.act.needs_input else None), y
        return y

    def infer(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """act(x) as a new array, or (inplace, for an x the caller owns) in x itself."""
        return self.ops.activation(x, self.act, x if inplace else np.empty_like(x))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        return self.ops.activation_backward(self._x, self._y, dy, self.act, self._buffer("dx", dy.shape))

    def flops_per_sample(self) -> int:
        return int(np.prod(self.output_shape)) if self.output_shape else 0


class ReLU(ActivationLayer):
    """max(x, 0)."""

    fn_name = "relu"


class _AlphaActivation(ActivationLayer):
    """An activation with one shape parameter `alpha`, validated by `_valid` (described by `rule`)."""

    rule = ""

    def __init__(self, alpha: float) -> None:
        if not (in_range(alpha) and self._valid(alpha)):
            raise ValueError(f"{type(self).__name__} alpha must be {self.rule}, got {alpha!r}")
        self.alpha = float(alpha)
        super().__init__()

    @staticmethod
    def _valid(alpha: float) -> bool:
        raise NotImplementedError

    def _alpha(self) -> float:
        return self.alpha

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class LeakyReLU(_AlphaActivation):
    """x for x > 0, alpha * x otherwise."""

    fn_name, rule = "leaky_relu", "in [0, 1)"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__(alpha)

    @staticmethod
    def _valid(alpha: float) -> bool:
        return 0 <= alpha < 1


class ELU(_AlphaActivation):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    fn_name, rule = "elu", "> 0"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha)

    @staticmethod
    def _valid(alpha: float) -> bool:
        return alpha > 0


class GELU(ActivationLayer):
    """Gaussian error linear unit (tanh approximation)."""

    fn_name = "gelu"


class Sigmoid(ActivationLayer):
    """1 / (1 + exp(-x)), computed without overflow."""

    fn_name = "sigmoid"


class Tanh(ActivationLayer):
    """Hyperbolic tangent."""

    fn_name = "tanh"


class Softmax(ActivationLayer):
    """Row-wise softmax over the features axis. As a last layer before cross-entropy it is fused into the loss."""

    fn_name = "softmax"


class Identity(ActivationLayer):
    """Passes its input through unchanged."""

    fn_name = "identity"

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if training:
            self._ready_for_backward = True
        return x

    def infer(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        return dy

    def flops_per_sample(self) -> int:
        return 0


# names accepted by Dense(activation=...) and by the CLI, mapped to their layer class
ACTIVATION_LAYERS: dict[str, type[ActivationLayer]] = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU,
    "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax, "identity": Identity, "linear": Identity,
}
