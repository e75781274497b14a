"""The table of Sequential.summary(), as text for a terminal and as HTML for a notebook (`_repr_html_`)."""

from __future__ import annotations

import html
from typing import Any

HEADER = ("#", "layer", "output shape", "params", "FLOPs/sample")


def _rows(model: Any) -> tuple[list[tuple[str, ...]], int]:
    """One row per layer (the HEADER's columns) and the forward FLOPs per sample of the whole model."""
    rows, total_flops = [], 0
    for i, layer in enumerate(model.layers):
        shape = "(batch, " + ", ".join(map(str, layer.output_shape)) + ")" if layer.output_shape else "?"
        flops = layer.flops_per_sample()
        total_flops += flops
        rows.append((str(i), layer.describe(), shape, f"{layer.n_params():,}", f"{flops:,}"))
    return rows, total_flops


def _footer(model: Any, total_flops: int) -> list[str]:
    n_bytes = model.n_params() * model.dtype.itemsize
    return [f"parameters: {model.n_params():,} ({n_bytes / 1e6:.2f} MB as {model.dtype.name})   "
            f"forward FLOPs/sample: {total_flops:,}   training ~3x that",
            f"loss: {model.loss.name}   input: (batch, "
            f"{', '.join(map(str, model.input_shape)) if model.input_shape else '?'})"]


def summary_table(model: Any) -> str:
    body, total_flops = _rows(model)
    rows = [HEADER, *body]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def fmt(row: tuple[str, ...]) -> str:  # text columns left-aligned, numbers right-aligned
        return "  ".join(v.ljust(w) if c < 3 else v.rjust(w) for c, (v, w) in enumerate(zip(row, widths, strict=True)))

    out = [fmt(rows[0]), line, *(fmt(r) for r in rows[1:]), line]
    out += _footer(model, total_flops)
    return "\n".join(out)


def html_table(header: tuple[str, ...], rows: list[tuple[str, ...]], numeric_from: int, caption: str = "") -> str:
    """A plain HTML table (escaped); columns from `numeric_from` on are right-aligned."""
    def cells(row: tuple[str, ...], tag: str) -> str:
        return "".join(f'<{tag} style="text-align:{"right" if c >= numeric_from else "left"}">{html.escape(v)}</{tag}>'
                       for c, v in enumerate(row))

    head = f"<thead><tr>{cells(header, 'th')}</tr></thead>"
    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    cap = f"<caption style='caption-side:bottom;text-align:left'>{caption}</caption>" if caption else ""
    return f"<table>{cap}{head}<tbody>{body}</tbody></table>"


def summary_html(model: Any) -> str:
    """The summary as an HTML table, for Jupyter."""
    rows, total_flops = _rows(model)
    return html_table(HEADER, rows, 3, "<br>".join(html.escape(line) for line in _footer(model, total_flops)))
