"""NumpynnClassifier against scikit-learn's MLPClassifier on Fashion-MNIST: same hidden sizes, same optimizer
(Adam, learning rate 1e-3), same batch size and number of epochs; test accuracy and fit time, side by side.

    python benchmarks/sklearn_comparison.py [--epochs 20] [--hidden 256,128] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import numpynn as nn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", default="256,128")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from numpynn.sklearn import NumpynnClassifier

    hidden = tuple(int(h) for h in args.hidden.split(","))
    (X, y), (Xt, yt) = nn.datasets.load("fashion-mnist")
    common = {"hidden_layer_sizes": hidden, "batch_size": args.batch_size, "max_iter": args.epochs,
              "random_state": 0, "tol": 0.0, "n_iter_no_change": args.epochs + 1}
    makers = {
        "numpynn NumpynnClassifier": lambda: NumpynnClassifier(learning_rate=1e-3, **common),
        "scikit-learn MLPClassifier": lambda: MLPClassifier(solver="adam", learning_rate_init=1e-3, **common),
    }
    print(f"Fashion-MNIST, hidden {hidden}, Adam 1e-3, batch {args.batch_size}, {args.epochs} epochs, float32 input")
    rows = {}
    for name, make in makers.items():
        times, accs = [], []
        for _ in range(args.repeats):
            clf = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t = time.perf_counter()
                clf.fit(X, y)
                times.append(time.perf_counter() - t)
            accs.append(clf.score(Xt, yt))
        rows[name] = (float(np.median(accs)), float(np.median(times)))
        print(f"  {name:28s} test accuracy {100 * rows[name][0]:.2f} %   fit {rows[name][1]:6.1f} s", flush=True)
    (_, t_np), (_, t_sk) = rows.values()
    print(f"  fit time ratio scikit-learn / numpynn: {t_sk / t_np:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
