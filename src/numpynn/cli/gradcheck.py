"""`numpynn gradcheck`: backpropagation checked against central differences on a small random network."""

from __future__ import annotations

import numpy as np

from .common import parse_value


def add_parser(sub) -> None:
    p = sub.add_parser("gradcheck", help="check backpropagation against finite differences on a small network")
    p.add_argument("--features", type=int, default=6)
    p.add_argument("--hidden", type=lambda t: parse_value("hidden", t), default=[5, 4])
    p.add_argument("--activation", default="tanh")
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--tolerance", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from .. import Dense, Sequential, gradcheck

    rng = np.random.default_rng(args.seed)
    sizes = [args.features, *args.hidden, args.classes]
    layers = [Dense(a, b, args.activation if i < len(sizes) - 2 else None)
              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]
    model = Sequential(layers, seed=args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, args.samples)
    result = gradcheck(model, X, y, tolerance=args.tolerance)
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}), {args.samples} samples, float64 central "
          f"differences; relative error per tensor:")
    print(result)
    return 0 if result.ok else 1
