"""scikit-learn estimators backed by numpynn: NumpynnClassifier and NumpynnRegressor, drop-ins for
MLPClassifier and MLPRegressor (same parameters, defaults, fitted attributes and behaviour), with numpynn's
additions as extra parameters; `from_sklearn` turns a fitted scikit-learn MLP into a numpynn Sequential.

This package needs scikit-learn (`pip install 'numpynn[sklearn]'`); the core never imports it. Where skl2onnx
is installed, the estimators are registered with it (when it is first imported), so
`skl2onnx.to_onnx(NumpynnClassifier().fit(X, y), X[:1])` works (`pip install 'numpynn[onnx]'`).
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("numpynn.sklearn needs scikit-learn: pip install 'numpynn[sklearn]'") from exc

from .classifier import NumpynnClassifier
from .convert import from_sklearn
from .onnx_registration import register_skl2onnx, register_when_imported
from .regressor import NumpynnRegressor

__all__ = ["NumpynnClassifier", "NumpynnRegressor", "from_sklearn", "register_skl2onnx"]

register_when_imported()
