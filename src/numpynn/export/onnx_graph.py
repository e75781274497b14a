"""The ONNX graph under construction: its nodes, initializers, inputs and outputs, every value named once.

Input names come from the user (a table's column names), so they are taken first, as they are; every name the
exporter makes up (a node's output, a constant) steps aside from a name already taken, whatever it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OUTPUT_NAMES = ("probabilities", "label", "values")  # the graph's outputs, never an input's name


class Graph:
    """Nodes, initializers and value infos, each named once, in the model's compute dtype `dtype`."""

    def __init__(self, onnx, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._taken: set[str] = set(OUTPUT_NAMES)
        self._n = 0

    def fresh(self, name: str) -> str:
        """`name`, or `name` with a suffix where it is taken; taken from now on."""
        out, k = name, 1
        while out in self._taken:
            k += 1
            out = f"{name}~{k}"
        self._taken.add(out)
        return out

    def elem(self, dtype: np.dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def input(self, name: str, dtype: np.dtype | int, shape: tuple[int, ...]) -> str:
        """A graph input of element type `dtype` (a NumPy dtype, or an ONNX TensorProto type) and per-sample
        `shape`, with a dynamic batch; the name is used as it is and must be free."""
        elem = dtype if isinstance(dtype, int) else self.elem(dtype)
        if name in self._taken:
            raise ValueError(f"the ONNX name {name!r} is taken")
        self._taken.add(name)
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem, ["batch", *shape]))
        return name

    def output(self, name: str, dtype: np.dtype, shape: list) -> None:
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, self.elem(dtype), shape))

    def const(self, name: str, value: Any, dtype: np.dtype | None = None) -> str:
        """An initializer holding `value` (in `dtype`, default the model's); returns the name it got."""
        a = np.asarray(value, dtype=dtype or self.dtype)
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        return name

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        """A node of `op` (attrs: its attributes, and `domain` for another operator set); returns its output's
        name: `out` (one of the graph's outputs) or a fresh one."""
        if out is None:
            self._n += 1
            out = self.fresh(f"{op.lower()}_{self._n}")
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], **attrs))
        return out
