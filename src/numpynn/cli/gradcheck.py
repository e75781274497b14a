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
    X = _clear_of_kinks(model, rng, args.samples, args.features)
    y = rng.integers(0, args.classes, args.samples)
    result = gradcheck(model, X, y, tolerance=args.tolerance)
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}), {args.samples} samples, float64 central "
          f"differences; relative error per tensor:")
    print(result)
    return 0 if result.ok else 1



KINK_MARGIN = 1e-3  # a thousand times the finite-difference step: the difference never straddles a kink


def _clear_of_kinks(model, rng: np.random.Generator, samples: int, features: int) -> np.ndarray:
    """Inputs X (samples, features) and biases for which no pre-activation lies within KINK_MARGIN of 0, where
    ReLU-like activations have a kink and central differences are wrong (with zero biases, a unit whose inputs
    are all dead sits exactly on it)."""
    dense = [ly for ly in model.layers if "b" in ly.params]
    for _ in range(1000):
        X = rng.standard_normal((samples, features))
        for layer in dense:
            shape = layer.params["b"].shape
            layer.params["b"][...] = rng.uniform(0.1, 0.5, shape) * rng.choice([-1.0, 1.0], shape)
        x, clear = X, True
        for layer in dense:
            z = x @ layer.params["W"].astype(np.float64) + layer.params["b"]
            clear = clear and bool(np.abs(z).min() >= KINK_MARGIN)
            x = z if layer.own_activation is None else layer.own_activation.forward(z, np.empty_like(z))
        if clear:
            return X
    return X  # practically unreachable; the check then reports what it finds

