"""DataFrames straight into the estimators: which inputs take numpynn's table preprocessing, and how.

`preprocess="auto"` (the default) keeps scikit-learn's own path, and so MLPClassifier's numbers, for arrays,
sparse matrices and DataFrames of numbers (booleans included) without a missing cell. A pandas or polars
DataFrame or a pyarrow Table with a text, categorical or date column, or a missing cell, goes through the table
preprocessing `numpynn train` learns from a file (numpynn.tables): numbers imputed with the median (and a
missing flag), scaled robustly; categories one-hot, or embedded when many; dates as numbers. Columns of a
categorical dtype (pandas' category, polars' Categorical/Enum, Arrow dictionaries) are categories whatever their
values, as HistGradientBoosting's categorical_features="from_dtype". `preprocess="table"` takes every input
that way (an array's columns are named x0, x1, ...), `"none"` never.

The preprocessing is learned from the rows given to fit, kept on the estimator and as data in
`model_.preprocessing` (so a saved model, `numpynn predict` and the exporters replay it), and replayed by predict,
predict_proba and score on a table whose columns come in any order (extra columns are ignored, a missing one is
refused by name). The table path trains and predicts in float32.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import sparse

from .. import tables
from ..data.table import Frame, read_table
from ..errors import DataError

PREPROCESS = ("auto", "table", "none")
_LIBRARIES = {("pandas", "DataFrame"): "pandas", ("polars", "DataFrame"): "polars", ("pyarrow", "Table"): "pyarrow",
              ("pyarrow", "RecordBatch"): "pyarrow"}


def library_of(X: Any) -> str | None:
    """"pandas", "polars" or "pyarrow" for a DataFrame or Table of that library, else None."""
    return _LIBRARIES.get((type(X).__module__.split(".")[0], type(X).__name__))


def takes_table(X: Any, preprocess: str) -> bool:
    """Whether fit's X goes through the table preprocessing (see the module's docstring)."""
    if preprocess == "none":
        return False
    if preprocess == "table":
        return True
    kind = library_of(X)
    return kind is not None and not _numbers_only(X, kind)


def _numbers_only(X: Any, kind: str) -> bool:
    """Every column numbers or booleans, no cell missing: what scikit-learn's own validation takes as it is."""
    if kind == "pandas":
        import pandas as pd

        for _, s in X.items():
            if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s.dtype):
                return False
        return not X.isna().to_numpy().any()
    if kind == "polars":
        import polars as pl

        for s in X.get_columns():
            if not (s.dtype.is_numeric() or s.dtype == pl.Boolean) or s.null_count():
                return False
            if s.dtype.is_float() and s.is_nan().any():
                return False
        return True
    import pyarrow as pa
    import pyarrow.compute as pc

    for col in X.columns:
        t = col.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)) or col.null_count:
            return False
        if pa.types.is_floating(t) and pc.any(pc.is_nan(col)).as_py():
            return False
    return True


def categorical_columns(X: Any) -> list[str]:
    """The names of the columns whose dtype says they hold categories."""
    kind = library_of(X)
    if kind == "pandas":
        import pandas as pd

        return [str(name) for name, s in X.items() if isinstance(s.dtype, pd.CategoricalDtype)]
    if kind == "polars":
        import polars as pl

        return [s.name for s in X.get_columns() if isinstance(s.dtype, (pl.Categorical, pl.Enum))]
    if kind == "pyarrow":
        import pyarrow as pa

        return [name for name, col in zip(X.column_names, X.columns, strict=True) if pa.types.is_dictionary(col.type)]
    return []


def frame_of(X: Any, names: list[str] | None = None, owner: str = "the estimator") -> Frame:
    """X as a Frame: a DataFrame or Table by its column names; an array's columns named `names` (those fit saw)
    or x0, x1, ...; (n_samples, n_columns) in, one Frame column per column out. Messages use scikit-learn's words."""
    if library_of(X) is not None:
        return read_table(X)
    if sparse.issparse(X):
        raise DataError("the table preprocessing takes a DataFrame or a dense array, got a sparse matrix; use "
                        "preprocess='none' for sparse input")
    a = np.asarray(X)
    if a.dtype.kind == "c":
        raise DataError("Complex data not supported: the table preprocessing takes numbers, text and dates")
    if a.ndim != 2:
        raise DataError(f"expected a 2-D table (n_samples, n_features), got an array of shape {a.shape}. Reshape "
                        "your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one sample")
    if names is None:
        names = [f"x{j}" for j in range(a.shape[1])]
    elif len(names) != a.shape[1]:
        raise DataError(f"X has {a.shape[1]} features, but {owner} is expecting {len(names)} features as input "
                        f"(fit's columns {', '.join(map(repr, names[:10]))}{', ...' if len(names) > 10 else ''})")
    return read_table({n: a[:, j] for j, n in enumerate(names)}, name="X")


def learn_inputs(est: Any, X: Any, y: Any) -> np.ndarray:
    """fit's X as model inputs (n, n_inputs) float32, the table preprocessing learned from its rows and kept on
    `est`; sets `n_features_in_` (X's columns) and `feature_names_in_` (where they are strings) as scikit-learn
    does. y (as fit was given it) names the label column when it is a named Series."""
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None.")
    frame = frame_of(X)
    shape = (frame.n_rows, len(frame.names))
    if not frame.names:
        raise DataError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required.")
    if frame.n_rows < 2:  # one row is constant in every column: nothing to learn a scaling or categories from
        raise DataError(f"Found array with {frame.n_rows} sample(s) (shape={shape}) while a minimum of 2 is "
                        "required by the table preprocessing (n_samples = 1 has nothing to scale).")
    record, _ = tables.learn(frame, categorical=categorical_columns(X))
    est.n_features_in_ = len(frame.names)
    if _string_names(X):
        est.feature_names_in_ = np.asarray(frame.names, dtype=object)
    else:
        est.__dict__.pop("feature_names_in_", None)
    prep: dict[str, Any] = {"normalize": "none", "table": record, "input_shape": [tables.n_inputs(record)],
                            "feature_names": list(frame.names)}
    label = getattr(y, "name", None)
    if isinstance(label, str) and label and label not in frame.names:
        prep["label_column"] = label  # what `numpynn evaluate --data file` reads the labels from
    est._table_preprocessing = prep
    return tables.transform(record, frame, np.float32)


def _string_names(X: Any) -> bool:
    if library_of(X) == "pandas":
        return len(X.columns) > 0 and all(isinstance(c, str) for c in X.columns)
    return library_of(X) is not None


def replay_inputs(est: Any, X: Any, dtype: Any) -> np.ndarray:
    """Later X (predict, partial_fit, a warm start) as the model's inputs (n, n_inputs) in `dtype`, through the
    preprocessing fit learned: a table's columns by name; an array's by position, as fit's columns."""
    if library_of(X) is None:
        if hasattr(est, "feature_names_in_"):  # scikit-learn's warning for the same case
            warnings.warn(f"X does not have valid feature names, but {type(est).__name__} was fitted with feature "
                          "names", UserWarning, stacklevel=4)
        frame = frame_of(X, est._table_preprocessing["feature_names"], type(est).__name__)
    else:
        frame = read_table(X)
    return tables.transform(est._table_preprocessing["table"], frame, dtype)


def model_preprocessing(est: Any) -> dict[str, Any]:
    """What the trained model records about its inputs and outputs, as `numpynn train` records it for a table."""
    prep = dict(est._table_preprocessing)
    binarizer = getattr(est, "_label_binarizer", None)
    if binarizer is None:
        prep["task"] = "regression"
        return prep
    prep["task"] = "classification"
    names = class_names_of(est)
    if names is not None:
        prep["class_names"] = names
    return prep


def class_names_of(est: Any) -> list[str] | None:
    """A fitted classifier's classes_ as text, when each output (or a single output's 0/1) is one of them;
    None for a regressor or multi-label targets."""
    binarizer = getattr(est, "_label_binarizer", None)
    if binarizer is None:
        return None
    k = {"binary": 2, "multiclass": est.n_outputs_}.get(binarizer.y_type_)
    return [str(c) for c in est.classes_] if k is not None and len(est.classes_) == k else None


def embedded_width(spec: dict[str, list[int]] | None, n_inputs: int) -> int:
    """The width the first Dense layer takes: the model's inputs, or the Embedding's output of them."""
    return n_inputs if spec is None else n_inputs - len(spec["columns"]) + sum(spec["dims"])
