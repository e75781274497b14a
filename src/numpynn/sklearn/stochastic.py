"""The epochs of a stochastic solver, as scikit-learn's MLP runs them.

Its stopping rule (no improvement of the training loss, or of the validation score with early_stopping, by
`tol` for more than `n_iter_no_change` epochs), its learning-rate policy, `loss_curve_`, `t_`, its warnings
and verbose lines; the batches go through the numpynn model, loss and optimizer. Row order comes from
scikit-learn's `shuffle` with the estimator's RandomState, so an estimator and an MLPClassifier with the same
random_state see the same batches.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches, shuffle

from ..ops.threads import EpochThreads, largest_product
from .caller import warn_at_caller
from .solvers import StochasticSolver


def fit_stochastic(est, model, X, y, sample_weight, incremental: bool) -> None:
    """Train `model` (est.model_) on X, y (binarized labels or targets, (n, k)) for up to max_iter epochs,
    or one with `incremental` (partial_fit)."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    rs = est._random_state
    if early_stopping:
        # like scikit-learn: stratified, except for multilabel targets
        stratify = y if is_classifier(est) and est.n_outputs_ == 1 else None
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        parts = train_test_split(*arrays, random_state=rs, test_size=est.validation_fraction, stratify=stratify)
        X_train, X_val, y_train, y_val = parts[:4]
        sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of "
                             "your dataset.")
        if is_classifier(est):
            y_val = est._label_binarizer.inverse_transform(y_val)
    else:
        X_train, y_train, sw_train = X, y, sample_weight
        X_val = y_val = sw_val = None
    targets = est._targets(y_train, model.dtype)
    n = X_train.shape[0]
    if est.batch_size == "auto":
        batch_size = min(200, n)
    else:
        if est.batch_size > n:
            warn_at_caller("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        batch_size = int(np.clip(est.batch_size, 1, n))
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = StochasticSolver.for_estimator(est, math.ceil(n / batch_size))
    solver = est._optimizer
    model.optimizer = solver.optimizer  # held by the model, it computes with the model's (training) engine
    batches = _Batches(model, X_train, targets, sw_train, batch_size)
    sample_idx = np.arange(n, dtype=np.int64)
    threads = EpochThreads(largest_product(model, batch_size))
    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                sample_idx = shuffle(sample_idx, random_state=rs)
            accumulated_loss = 0.0
            # as numpynn's fit: one BLAS thread where a second cannot help; subnormals flushed, as decayed
            # optimizer state would slow every step
            with threads.epoch(), model.ops.flush_subnormals():
                for batch in gen_batches(n, batch_size):
                    Xb, yb, swb = batches.take(sample_idx[batch] if est.shuffle else batch)
                    loss, _ = model.train_step(Xb, yb, swb, **est._step_terms(model, Xb, swb), update=solver.step,
                                               skip_non_finite=False)
                    accumulated_loss += float(loss) * (batch.stop - batch.start)
            est.n_iter_ += 1
            est.loss_ = accumulated_loss / n
            est.t_ += n
            est.loss_curve_.append(est.loss_)
            if est.verbose:
                print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
            _update_no_improvement_count(est, model, early_stopping, X_val, y_val, sw_val)
            solver.iteration_ends(est.t_)
            if not (math.isfinite(est.loss_) and model.ops.all_finite(model.flat.values)):
                break  # diverged: nothing more to learn; fit reports it unless early stopping kept a finite state
            if est._no_improvement_count > est.n_iter_no_change:
                what = "Validation score" if early_stopping else "Training loss"
                msg = (f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                       f"consecutive epochs.")
                if solver.trigger_stopping(msg, est.verbose):
                    break
                est._no_improvement_count = 0
            if incremental:
                break
            if est.n_iter_ == est.max_iter:
                warn_at_caller(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                               f"optimization hasn't converged yet.", ConvergenceWarning)
    except KeyboardInterrupt:
        warn_at_caller("Training interrupted by user.")
    if early_stopping:
        model.set_weights(est._best_weights)


def _update_no_improvement_count(est, model, early_stopping: bool, X_val, y_val, sw_val) -> None:
    if early_stopping:
        score = est._score(X_val, y_val, sample_weight=sw_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_weights = model.get_weights()
    else:
        last = est.loss_curve_[-1]
        if last > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if last < est.best_loss_:
            est.best_loss_ = last


class _Batches:
    """Rows of the training set by index: gathered into one reused buffer (dense), or as a sparse CSR batch."""

    def __init__(self, model, X, targets, sample_weight, batch_size: int) -> None:
        self.model, self.X, self.targets, self.w = model, X, targets, sample_weight
        self.sparse = sparse.issparse(X)
        self.whole = batch_size >= X.shape[0]
        dense_gather = not self.sparse and not self.whole
        self.buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype) if dense_gather else None

    def take(self, idx):
        """(X, targets, weights) of the rows `idx` (an index array or a slice)."""
        if self.whole:  # every row in one batch: their order cannot change the gradient
            return self.X, self.targets, self.w
        w = None if self.w is None else self.w[idx]
        if isinstance(idx, slice):
            return self.X[idx], self.targets[idx], w
        if self.sparse:
            return self.X[idx], self.targets[idx], w
        xb = self.model.ops.take_rows(self.X, idx, self.buffer[:len(idx)])
        return xb, self.targets[idx], w
