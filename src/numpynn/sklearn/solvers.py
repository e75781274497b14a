"""scikit-learn's stochastic solvers as numpynn optimizers plus scikit-learn's learning-rate policy.

- "sgd" is numpynn's SGD. scikit-learn keeps the velocity in parameter units (v = mu v - lr g; p += v),
  numpynn in gradient units (v = mu v + g; p -= lr v): the same steps while the rate is constant, so when
  the rate changes ("invscaling", "adaptive") the velocity is rescaled by old/new to stay scikit-learn's.
- "adam" is numpynn's Adam. scikit-learn adds epsilon to sqrt(v) before the bias corrections, numpynn after:
  numpynn's eps of step t is epsilon / sqrt(1 - beta_2^t), which is scikit-learn's step exactly.
- numpynn's "adamw", "rmsprop" and "adagrad" take learning_rate_init and weight_decay.
- learning_rate "cosine" (numpynn's) decays the rate of any stochastic solver over max_iter epochs.
"""

from __future__ import annotations

import math

from ..optim import SGD, Adam, CosineDecay, Optimizer, Schedule, get_optimizer
from ..optim.builder import ADAMW_WEIGHT_DECAY
from ..parameters import ParameterVector

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
MIN_ADAPTIVE_RATE = 1e-6  # "adaptive" stops once the rate is this small (scikit-learn's rule)


class StochasticSolver:
    """A numpynn optimizer with scikit-learn's `learning_rate`, `iteration_ends` and `trigger_stopping`."""

    def __init__(self, optimizer: Optimizer, learning_rate_init: float, lr_schedule: str, power_t: float,
                 epsilon: float | None = None) -> None:
        self.optimizer = optimizer
        self.learning_rate_init = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.power_t = float(power_t)
        self.epsilon = epsilon  # Adam's, as scikit-learn means it

    @classmethod
    def for_estimator(cls, est, steps_per_epoch: int) -> StochasticSolver:
        """The solver an estimator's parameters ask for."""
        lr, solver = float(est.learning_rate_init), est.solver
        rate: float | Schedule = lr
        if est.learning_rate == "cosine":
            rate = CosineDecay(lr, max(1, est.max_iter * steps_per_epoch))
        # like scikit-learn, only SGD follows "invscaling" and "adaptive"
        schedule = est.learning_rate if solver == "sgd" else "constant"
        epsilon = None
        if solver == "sgd":
            momentum = float(est.momentum)
            opt: Optimizer = SGD(rate, momentum=momentum, nesterov=bool(est.nesterovs_momentum) and momentum > 0,
                                 weight_decay=float(est.weight_decay))
        elif solver == "adam":
            epsilon = float(est.epsilon)
            opt = Adam(rate, beta1=float(est.beta_1), beta2=float(est.beta_2), eps=epsilon,
                       weight_decay=float(est.weight_decay))
        else:
            decay = float(est.weight_decay) or (ADAMW_WEIGHT_DECAY if solver == "adamw" else 0.0)
            opt = get_optimizer(solver, 1.0)
            opt.lr, opt.weight_decay = rate, decay
        return cls(opt, lr, schedule, est.power_t, epsilon)

    @property
    def learning_rate(self) -> float:
        return self.optimizer.current_lr()

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        opt, value = self.optimizer, float(value)
        old = opt.current_lr()
        if isinstance(opt, SGD) and opt.momentum and value != old:
            for state in opt.state.values():  # views into the flat velocity
                state["velocity"] *= old / value
        opt.lr = value

    def step(self, params: ParameterVector) -> None:
        """One update from the gradients in `params`."""
        opt = self.optimizer
        if self.epsilon is not None:
            opt.eps = self.epsilon / math.sqrt(1.0 - opt.beta2 ** (opt.iterations + 1))
        opt.step(params)

    def iteration_ends(self, time_step: int) -> None:
        """After an epoch; `time_step` is the number of samples trained on so far."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose) -> bool:
        """Whether training stops after no improvement; "adaptive" divides the rate by 5 instead, while it can."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= MIN_ADAPTIVE_RATE:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate = self.learning_rate / 5.0
        if verbose:
            print(f"Setting learning rate to {self.learning_rate:f}")
        return False
