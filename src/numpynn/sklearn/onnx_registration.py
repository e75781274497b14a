"""The estimators registered with skl2onnx, whose MLP converter reads `coefs_`, `intercepts_`, `activation`,
`out_activation_`, `classes_` and the like: attributes these estimators have as MLPClassifier has them.

So `skl2onnx.to_onnx(NumpynnClassifier(...).fit(X, y), X[:1])` gives the graph skl2onnx gives an MLPClassifier
(checked with onnxruntime in the tests), for the networks skl2onnx knows: Dense layers with one of
scikit-learn's activations ('identity', 'logistic', 'tanh', 'relu'), no dropout at prediction, no batch norm.

skl2onnx takes seconds to import, so the registration waits for it: `register_when_imported` registers at once
if skl2onnx is loaded, else as soon as something imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings

_ONNX_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def check_convertible(est) -> None:
    """Raise ValueError when skl2onnx's MLP converter would not compute what the estimator computes."""
    if "_table_preprocessing" in est.__dict__:
        raise ValueError("this estimator was fitted on a table and prepares its columns itself (numpynn's table "
                         "preprocessing), which skl2onnx's MLP converter has no form for; export it with "
                         "numpynn.export.export_onnx(est, path), whose graph takes the raw columns")
    if est.batchnorm:
        raise ValueError("skl2onnx's MLP converter has no batch normalisation; this network has batchnorm=True")
    if est.activation not in _ONNX_ACTIVATIONS:
        raise ValueError(f"skl2onnx's MLP converter knows the activations {list(_ONNX_ACTIVATIONS)}; this "
                         f"network has {est.activation!r}")
    if getattr(est, "out_activation_", None) == "exp":
        raise ValueError("skl2onnx's MLP converter has no exponential output (loss='poisson')")


def register_skl2onnx(required: bool = True) -> bool:
    """Register both estimators with skl2onnx; returns False (or, with `required`, raises ImportError) when
    skl2onnx is not installed."""
    if importlib.util.find_spec("skl2onnx") is None:
        if required:
            raise ImportError("ONNX conversion needs skl2onnx: pip install 'numpynn[onnx]'")
        return False
    from skl2onnx import update_registered_converter
    from skl2onnx.operator_converters.multilayer_perceptron import (
        convert_sklearn_mlp_classifier,
        convert_sklearn_mlp_regressor,
    )
    from skl2onnx.shape_calculators.linear_classifier import calculate_linear_classifier_output_shapes
    from skl2onnx.shape_calculators.linear_regressor import calculate_linear_regressor_output_shapes

    from .classifier import NumpynnClassifier
    from .regressor import NumpynnRegressor

    def classifier(scope, operator, container):
        check_convertible(operator.raw_operator)
        convert_sklearn_mlp_classifier(scope, operator, container)

    def regressor(scope, operator, container):
        check_convertible(operator.raw_operator)
        convert_sklearn_mlp_regressor(scope, operator, container)

    update_registered_converter(NumpynnClassifier, "NumpynnMLPClassifier", calculate_linear_classifier_output_shapes,
                                classifier, options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(NumpynnRegressor, "NumpynnMLPRegressor", calculate_linear_regressor_output_shapes,
                                regressor)
    return True


def register_when_imported() -> None:
    """Register with skl2onnx now if it is loaded, else right after its first import (nothing if absent)."""
    if "skl2onnx" in sys.modules:
        register_skl2onnx(required=False)
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds skl2onnx with the other finders and registers the estimators once its module has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "skl2onnx":
            return None
        sys.meta_path.remove(self)  # one use; the lookup below must not come back here
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            try:
                register_skl2onnx(required=False)
            except Exception as exc:  # an skl2onnx numpynn does not know must not break the user's import
                warnings.warn(f"numpynn could not register its estimators with skl2onnx: {exc}", stacklevel=2)

        spec.loader.exec_module = exec_module
        return spec
