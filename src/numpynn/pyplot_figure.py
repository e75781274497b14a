"""A pyplot figure that a notebook shows once: `history.plot()` returns it, so both `plt.savefig(path)` (pyplot
tracks it) and the figure as a cell's value work.

Jupyter's inline backend shows every open pyplot figure when a cell ends, and IPython shows a cell's value as
well: a plain Figure returned by the cell would appear twice. This one, shown as a value, is drawn there and
then closed, so the backend does not draw it again. Under another interactive backend (ipympl, a window) pyplot
shows it and the value adds nothing; where nothing shows figures (Agg) the value is the PNG. Imported only when
a figure is drawn: matplotlib is optional (the `plots` extra).
"""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# matplotlib's built-in backends that never show a figure on screen (backend_registry lists them from 3.9 on)
_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


class PyplotFigure(Figure):
    """A matplotlib Figure made by `plt.figure(FigureClass=PyplotFigure)`."""

    def _ipython_display_(self) -> None:
        """What IPython shows for the figure (as a cell's value, or when the inline backend shows its figures)."""
        backend = matplotlib.get_backend().lower()
        held = plt.fignum_exists(getattr(self, "number", -1))
        if held and matplotlib.is_interactive() and backend not in _NON_INTERACTIVE and "inline" not in backend:
            return  # ipympl or a window shows it
        from IPython.display import display

        png = io.BytesIO()
        self.savefig(png, format="png", bbox_inches="tight")
        display({"image/png": png.getvalue(), "text/plain": repr(self)}, raw=True)
        if held and "inline" in backend:
            plt.close(self)  # shown: the inline backend's end-of-cell pass would show it again
