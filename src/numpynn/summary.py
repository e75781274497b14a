"""The text table printed by Sequential.summary()."""

from __future__ import annotations

from typing import Any


def summary_table(model: Any) -> str:
    rows = [("#", "layer", "output shape", "params", "FLOPs/sample")]
    total_flops = 0
    for i, layer in enumerate(model.layers):
        shape = "(batch, " + ", ".join(map(str, layer.output_shape)) + ")" if layer.output_shape else "?"
        flops = layer.flops_per_sample()
        total_flops += flops
        rows.append((str(i), layer.describe(), shape, f"{layer.n_params():,}", f"{flops:,}"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def fmt(row: tuple[str, ...]) -> str:  # text columns left-aligned, numbers right-aligned
        return "  ".join(v.ljust(w) if c < 3 else v.rjust(w) for c, (v, w) in enumerate(zip(row, widths, strict=True)))

    out = [fmt(rows[0]), line, *(fmt(r) for r in rows[1:]), line]
    n_bytes = model.n_params() * model.dtype.itemsize
    out.append(f"parameters: {model.n_params():,} ({n_bytes / 1e6:.2f} MB as {model.dtype.name})   "
               f"forward FLOPs/sample: {total_flops:,}   training ~3x that")
    out.append(f"loss: {model.loss.name}   input: (batch, "
               f"{', '.join(map(str, model.input_shape)) if model.input_shape else '?'})")
    return "\n".join(out)
