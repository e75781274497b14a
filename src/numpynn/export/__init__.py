"""Taking a model elsewhere: ONNX for onnxruntime and other runtimes, or one NumPy-only Python file.

    from numpynn.export import export_onnx, export_python
    export_onnx(model_or_fitted_estimator, "model.onnx")
    export_python(model, "predict_model.py")        # and predict_model.npz beside it

ONNX needs the `onnx` extra (`pip install 'numpynn[onnx]'`); the Python file needs nothing.
"""

from __future__ import annotations

from .onnx import export_onnx, to_onnx
from .plan import Plan, plan_of
from .python import export_python

__all__ = ["Plan", "export_onnx", "export_python", "plan_of", "to_onnx"]
