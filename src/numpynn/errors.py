"""numpynn's own exceptions: every user-facing failure is one of these, never a raw struct/zlib/KeyError."""

from __future__ import annotations


class NumpynnError(Exception):
    """Base class of every error numpynn raises on purpose."""


class ShapeError(NumpynnError, ValueError):
    """An array had the wrong shape for the layer or model it was given to."""


class ArgumentError(NumpynnError, ValueError):
    """An argument is not one the function takes: a float or a bool where a count belongs, a metric that does
    not fit the model's task, a network too large for the memory there is."""


class DataError(NumpynnError, ValueError):
    """Input data is unusable: NaN/inf, empty, mismatched lengths, labels outside the classes."""


class ModelFileError(NumpynnError, ValueError):
    """A model file is missing, truncated, corrupted or describes something numpynn does not build."""


class TrainingDivergedError(NumpynnError, FloatingPointError, ValueError):
    """The loss or a weight became non-finite; training stopped before anything bad was saved. A ValueError too,
    as scikit-learn raises for non-finite weights, so code written for its estimators catches it."""


class DatasetError(NumpynnError, ValueError):
    """A dataset file is corrupt, incomplete, or could not be found or downloaded."""


class ExportError(NumpynnError, ValueError):
    """A model cannot be written in another format (ONNX, a NumPy file): a layer the format lacks, bad options."""


class RunFileError(NumpynnError, ValueError):
    """A file of a run folder (history.json, metrics.json, doctor.json, config.toml) is missing, too large,
    not JSON, or holds a field of the wrong type."""


class NotBuiltError(NumpynnError, AttributeError):
    """A model was asked for what only its built layers have (weights, output size) before it knew its input
    width: a first Dense(64) learns it from the data at the first fit or call. An AttributeError too, so
    hasattr() and getattr(model, name, default) answer as for any attribute not there yet."""
