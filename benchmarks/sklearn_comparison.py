"""NumpynnClassifier against scikit-learn's MLPClassifier, solver by solver: the same data, the same parameters
(so the same initial weights and batches), test accuracy and fit time (wall clock, and the process's CPU time,
steadier on a shared machine) side by side, medians over repeats with the two libraries interleaved.

- lbfgs on digits (1,797 8x8 images: 1,347 to train, 450 to test);
- adam and sgd on Fashion-MNIST (60,000 x 784 to train, 10,000 to test; `--train-size` takes the first N).

    python benchmarks/sklearn_comparison.py [--solvers lbfgs,adam,sgd] [--epochs 10] [--hidden 256,128]
                                            [--train-size 60000] [--repeats 1]
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solvers", default="lbfgs,adam,sgd")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", default="256,128")
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    compare([s for s in args.solvers.split(",") if s], args.epochs, tuple(int(h) for h in args.hidden.split(",")),
            args.train_size, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
