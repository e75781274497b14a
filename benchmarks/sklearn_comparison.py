"""NumpynnClassifier against scikit-learn's MLPClassifier, solver by solver: the same data, the same parameters
(so the same initial weights and batches), test accuracy and fit time (wall clock, and the process's CPU time,
steadier on a shared machine) side by side, medians over repeats with the two libraries interleaved.

- lbfgs on digits (1,797 8x8 images: 1,347 to train, 450 to test);
- adam and sgd on Fashion-MNIST (60,000 x 784 to train, 10,000 to test; `--train-size` takes the first N).

`--dense-epoch` instead measures what the sparse-input hook costs the dense path: a Fashion-MNIST epoch of
numpynn's fit with the Dense layer as it is against the same epoch with Dense's forward and backward as they
were before the hook (one `np.matmul` each), interleaved.

    python benchmarks/sklearn_comparison.py [--solvers lbfgs,adam,sgd] [--epochs 10] [--hidden 256,128]
                                            [--train-size 60000] [--repeats 1]
    python benchmarks/sklearn_comparison.py --dense-epoch [--repeats 7]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import numpynn as nn


def _fashion(train_size: int):
    (X, y), (Xt, yt) = nn.datasets.load("fashion-mnist")
    return (X[:train_size], y[:train_size]), (Xt, yt)


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return (X[:1347], y[:1347]), (X[1347:], y[1347:])


def compare(solvers, epochs: int, hidden: tuple[int, ...], train_size: int, repeats: int) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from numpynn.sklearn import NumpynnClassifier

    fashion = None
    for solver in solvers:
        if solver == "lbfgs":
            data, where = _digits(), "digits (1347 train / 450 test)"
            params = {"hidden_layer_sizes": (64,), "solver": "lbfgs", "max_iter": 200}
        else:
            fashion = fashion or _fashion(train_size)
            data, where = fashion, f"Fashion-MNIST ({len(fashion[0][0])} train / {len(fashion[1][0])} test)"
            params = {"hidden_layer_sizes": hidden, "solver": solver, "max_iter": epochs, "batch_size": 200,
                      "tol": 0.0, "n_iter_no_change": epochs + 1,
                      "learning_rate_init": 1e-3 if solver == "adam" else 0.05}
        (X, y), (Xt, yt) = data
        print(f"{solver} on {where}: {params}, float32 input", flush=True)
        rows: dict[str, tuple[list[float], list[float], list[float]]] = {"numpynn": ([], [], []),
                                                                         "scikit-learn": ([], [], [])}
        for _ in range(repeats):
            for name, make in (("numpynn", NumpynnClassifier), ("scikit-learn", MLPClassifier)):
                clf = make(random_state=0, **params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t, cpu = time.perf_counter(), time.process_time()
                    clf.fit(X, y)
                    rows[name][1].append(time.perf_counter() - t)
                    rows[name][2].append(time.process_time() - cpu)
                rows[name][0].append(clf.score(Xt, yt))
        for name, (accs, times, cpus) in rows.items():
            print(f"  {name:13s} test accuracy {100 * np.median(accs):.2f} %   fit {np.median(times):7.2f} s "
                  f"(CPU {np.median(cpus):7.2f} s)", flush=True)
        ratio = np.median(rows["scikit-learn"][1]) / np.median(rows["numpynn"][1])
        print(f"  fit time scikit-learn / numpynn: {ratio:.2f}", flush=True)


def dense_epoch(repeats: int) -> None:
    """Median epoch of numpynn's fit, Dense as it is against Dense before the sparse hook."""
    from numpynn.layers import Dense
    from numpynn.mlp import build_mlp

    current = Dense.forward, Dense.backward

    def plain_forward(self, x, *, training=False):
        act = self.applied
        z = np.matmul(x, self.params["W"], out=self._buffer("z", (x.shape[0], self.out_features)))
        y = self.ops.bias_activation(z, self.params["b"], act,
                                     self._buffer("y", z.shape) if act is not None and act.needs_input else z)
        self._ready_for_backward = training
        if training:
            self._x, self._z, self._y = x, z, y
        return y

    def plain_backward(self, dy):
        self._check_backward()
        dz = self.ops.bias_activation_backward(dy, self._z, self._y, self.applied, self._buffer("dz", dy.shape),
                                               self.grads["b"])
        np.matmul(self._x.T, dz, out=self.grads["W"])
        if not self.needs_input_grad:
            return None
        return np.matmul(dz, self.params["W"].T, out=self._buffer("dx", self._x.shape))

    (X, y), _ = _fashion(60000)
    times: dict[str, list[float]] = {"with the sparse hook": [], "before it": []}
    for _ in range(repeats):
        for name, (fwd, bwd) in (("with the sparse hook", current), ("before it", (plain_forward, plain_backward))):
            Dense.forward, Dense.backward = fwd, bwd
            try:
                model = build_mlp(784, [256, 128], 10, seed=0)
                t = time.perf_counter()
                model.fit(X, y, epochs=1, batch_size=128, verbose=0, optimizer=nn.Adam(1e-3))
                times[name].append(time.perf_counter() - t)
            finally:
                Dense.forward, Dense.backward = current
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"Fashion-MNIST epoch, 784-256-128-10, Adam, batch 128, median of {repeats}, engine {nn.ops.describe()}:")
    for name, t in med.items():
        print(f"  {name:22s} {t:.3f} s")
    print(f"  ratio with / before: {med['with the sparse hook'] / med['before it']:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solvers", default="lbfgs,adam,sgd")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", default="256,128")
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dense-epoch", action="store_true")
    args = parser.parse_args(argv)
    if args.dense_epoch:
        dense_epoch(max(args.repeats, 3))
        return 0
    compare([s for s in args.solvers.split(",") if s], args.epochs, tuple(int(h) for h in args.hidden.split(",")),
            args.train_size, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
