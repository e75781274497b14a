"""solver="lbfgs": full-batch L-BFGS-B (scipy.optimize) over the model's flat parameter vector.

numpynn keeps every parameter of a model in one contiguous vector with its gradients beside it, so SciPy's
point is written into the model, one forward and backward pass fill the gradient vector, and that is handed
back: no packing and unpacking per call. `max_iter`, `max_fun` and `tol` are scikit-learn's (maxiter, maxfun,
gtol); ConvergenceWarning and `n_iter_` come from scikit-learn's own check of the result.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from .caller import rewarned

try:  # scikit-learn >= 1.7 passes iprint the way the installed SciPy takes it
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover - older scikit-learn
    def _get_additional_lbfgs_options_dict(key, value):
        return {key: value}


def fit_lbfgs(est, model, X, y, sample_weight) -> None:
    if est.dropout:
        raise ValueError(f"solver='lbfgs' needs the same loss for the same weights every call; dropout="
                         f"{est.dropout} draws new masks each time. Use dropout=0 or a stochastic solver.")
    targets = est._targets(y, model.dtype)
    values, grads = model.flat.values, model.flat.grads

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        values[...] = theta
        loss = est._loss_and_gradient(model, X, targets, sample_weight)
        return loss, grads.astype(np.float64)

    iprint = 1 if est.verbose is True or est.verbose >= 1 else -1
    result = scipy.optimize.minimize(
        loss_and_grad, values.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol,
                 **_get_additional_lbfgs_options_dict("iprint", iprint)})
    est.n_iter_ = rewarned(_check_optimize_result, "lbfgs", result, est.max_iter)  # its warning: at the caller
    est.loss_ = float(result.fun)
    values[...] = result.x
