"""From a table to a model's inputs and back to the table: learn the preprocessing on the training rows, replay it
on any later table, and say what was done.

    record, schema = learn(train_frame, label="species")
    X = prepare(new_table, {"table": record})      # the same columns in any order; extra columns ignored
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import apply_preprocessing, load_dataset
from ..data.table import Frame, is_table_source, read_table
from ..errors import DatasetError
from .preprocess import ONEHOT_MAX, fit, transform
from .schema import ColumnSchema, infer_schema


def learn(frame: Frame, *, label: str | None = None, scaling: str = "robust", categorical: Sequence[str] = (),
          numeric: Sequence[str] = (), drop: Sequence[str] = (),
          onehot_max: int = ONEHOT_MAX) -> tuple[dict[str, Any], list[ColumnSchema]]:
    """(the preprocessing record, the schema) learned from `frame`, the training rows (label column excluded)."""
    schema = infer_schema(frame, label=label, categorical=categorical, numeric=numeric, drop=drop)
    return fit(frame, schema, scaling=scaling, onehot_max=onehot_max), schema


def prepare(raw: Any, prep: dict[str, Any], dtype=np.float32) -> np.ndarray:
    """A model's inputs (n, features) from raw inputs, as its recorded preprocessing says: a table (a CSV/Parquet
    path, a DataFrame, a pyarrow Table, a dict of columns, a Frame) for a model trained on one, else arrays."""
    if "table" not in prep:
        if isinstance(raw, Frame):
            raw = raw.numeric_matrix()
            if raw is None:
                raise DatasetError("the model takes numbers only, and the table has text or dates")
        return apply_preprocessing(raw, prep, dtype)
    if isinstance(raw, np.ndarray) or not is_table_source(raw):
        raise DatasetError(f"the model was trained on a table and takes one (a DataFrame, a CSV or Parquet file, a "
                           f"dict of columns), got {type(raw).__name__}")
    return transform(prep["table"], read_table(raw), dtype)


def load(source: Any, *, label_column: str | int | None = None, task: str = "auto", scaling: str = "robust",
         categorical: Sequence[str] = (), numeric: Sequence[str] = (), drop: Sequence[str] = (),
         dtype=np.float32) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], dict[str, Any]]:
    """((X_train, y_train), (X_test, y_test), preprocessing) of a table, split 80/20 as `numpynn train` splits
    it, the preprocessing learned from the training rows (give it to a model: `model.preprocessing = prep`)."""
    ds = load_dataset(str(source) if isinstance(source, Path) else source, label_column=label_column, task=task)
    (Xr, y), (Xt, yt) = ds.splits
    if not isinstance(Xr, Frame):
        raise DatasetError(f"{source}: not a table")
    record, _ = learn(Xr, label=ds.label_column, scaling=scaling, categorical=categorical, numeric=numeric,
                      drop=drop)
    prep: dict[str, Any] = {"normalize": "none", "table": record, "task": ds.task, "label_column": ds.label_column}
    if ds.class_names:
        prep["class_names"] = list(ds.class_names)
    return (transform(record, Xr, dtype), y), (transform(record, Xt, dtype), yt), prep
