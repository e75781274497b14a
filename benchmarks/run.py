"""numpynn against the GEMM floor, PyTorch (CPU) and scikit-learn, measured side by side in one run.

Data: Fashion-MNIST (60,000 x 784 float32, from Debian's dataset-fashion-mnist or numpynn's cache).
Every figure is a median over repeats, at one thread count for every library. Prints a table with ratios
(numpynn / floor, peer / numpynn) and writes the same figures as JSON. It also compares the README's way of
writing 784-256-128-10 (Dense and ReLU layers) with fused activations (Dense(..., "relu")); `--styles-only` runs
just that comparison, without the GEMM floor or the peers (torch and scikit-learn need not be installed).

    python benchmarks/run.py [--repeats 7] [--threads N] [--json benchmarks/results/latest.json] [--quick]
    python benchmarks/run.py --styles-only [--repeats 7] [--json benchmarks/results/styles.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn.mlp import build_mlp

HERE = Path(__file__).resolve().parent
IDLE_PAUSE_S = 0.2  # seconds of rest before a latency loop (see latency())
NETWORKS = {
    # name: (sizes, hidden activation, batch size, optimizer, learning rate)
    "784-256-128-10 Adam b128": ([784, 256, 128, 10], "relu", 128, "adam", 1e-3),
    "784-1024-1024-10 Adam b256": ([784, 1024, 1024, 10], "relu", 256, "adam", 1e-3),
    "784-128-10 sigmoid full-batch SGD": ([784, 128, 10], "sigmoid", None, "sgd", 0.2),
}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --- the floor: only the matrix products of one epoch ---------------------------------------------------------
def floor_epoch(X: np.ndarray, sizes: list[int], bs: int | None):
    """Forward x @ W per layer; backward x.T @ dz per layer and dz @ W.T for every layer but the first."""
    n = len(X)
    bs = bs or n
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((a, b)) * 0.05).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    outs = [np.empty((bs, b), np.float32) for b in sizes[1:]]
    dxs = [np.empty((bs, a), np.float32) for a in sizes[:-1]]
    gWs = [np.empty_like(W) for W in Ws]
    xb = np.ascontiguousarray(X[:bs])
    steps = -(-n // bs)

    def epoch():
        for _ in range(steps):
            h, acts = xb, []
            for W, out in zip(Ws, outs, strict=False):
                acts.append(h)
                h = np.matmul(h, W, out=out)
            d = h
            for i in reversed(range(len(Ws))):
                np.matmul(acts[i].T, d, out=gWs[i])
                if i:
                    d = np.matmul(d, Ws[i].T, out=dxs[i])

    epoch()
    return epoch


def floor_gflop(n: int, sizes: list[int]) -> float:
    """Floating-point operations of the floor's products for one epoch of n rows, in GFLOP (2 per multiply-add)."""
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    return 2 * n * (2 * sum(pairs) + sum(pairs[1:])) / 1e9


def large_product_gflops(size: int = 2048, repeats: int = 5) -> float:
    """What one large float32 product reaches here (GFLOP/s): the machine's practical peak for the floor."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    return 2 * size**3 / 1e9 / float(np.median([timed(lambda: np.matmul(a, a, out=out)) for _ in range(repeats)]))


# --- numpynn ------------------------------------------------------------------------------------------------
def numpynn_model(sizes, act, seed=0):
    return build_mlp(sizes[0], sizes[1:-1], sizes[-1], activation=act, seed=seed)


def numpynn_epoch(X, y, sizes, act, bs, opt, lr, model=None):
    """One fit(epochs=1) per call, after a warm-up epoch; `model` (default: numpynn_model(sizes, act)) trains."""
    model = model if model is not None else numpynn_model(sizes, act)
    optimizer = nn.Adam(lr) if opt == "adam" else nn.SGD(lr)
    model.fit(X, y, optimizer=optimizer, epochs=1, batch_size=bs, verbose=0)  # warm-up
    return lambda: model.fit(X, y, epochs=1, batch_size=bs, verbose=0)


# --- PyTorch --------------------------------------------------------------------------------------------------
def torch_model(sizes, act):
    import torch

    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1], strict=False):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU() if act == "relu" else torch.nn.Sigmoid()]
    layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    return torch.nn.Sequential(*layers)


def torch_epoch(X, y, sizes, act, bs, opt, lr):
    import torch

    torch.manual_seed(0)
    model = torch_model(sizes, act)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr) if opt == "adam" else torch.optim.SGD(model.parameters(), lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n = len(X)
    batch = bs or n

    def epoch():
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()

    epoch()
    return epoch


# --- scikit-learn ---------------------------------------------------------------------------------------------
def sklearn_model(sizes, act, bs, opt, lr, n):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(tuple(sizes[1:-1]), activation="relu" if act == "relu" else "logistic", solver=opt,
                         batch_size=bs or n, learning_rate_init=lr, momentum=0.0, random_state=0, shuffle=True)


def sklearn_epoch(X, y, sizes, act, bs, opt, lr):
    clf = sklearn_model(sizes, act, bs, opt, lr, len(X))
    classes = np.arange(10)
    clf.partial_fit(X, y, classes=classes)  # one epoch over the data, in minibatches of batch_size
    return lambda: clf.partial_fit(X, y, classes=classes)


# --- prediction latency ---------------------------------------------------------------------------------------
def per_call(fn, args, reps) -> float:
    """Median seconds of one fn(arg) call over `reps` calls, cycling through `args`, after up to 100 warm-up calls."""
    for i in range(min(100, reps)):
        fn(args[i % len(args)])
    ts = []
    for i in range(reps):
        arg = args[i % len(args)]
        t = time.perf_counter()
        fn(arg)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def single_images(X, n=1000) -> list[np.ndarray]:
    """(1, 784) rows of n different images: numpynn's one-row time depends on how many pixels are not zero."""
    return [X[i:i + 1] for i in range(n)]


def latency(X, rounds=7):
    """Median time per predict_proba call: one image at a time (a different one each call, since numpynn's time
    depends on how many pixels are not zero) and 10,000 images at once. The libraries take turns, round after
    round, and each figure is the median over rounds of that round's median: this machine's speed drifts from
    one tenth of a second to the next, and a single long loop would catch one library in a slow spell."""
    import torch
    from sklearn.neural_network import MLPClassifier

    sizes = [784, 256, 128, 10]
    model = numpynn_model(sizes, "relu")
    tm = torch_model(sizes, "relu").eval()
    skl = MLPClassifier((256, 128), max_iter=1, random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skl.fit(X[:1000], np.arange(1000) % 10)
    ones, many = single_images(X), [X[:10000]]

    def torch_predict(x):
        with torch.inference_mode():
            return torch.softmax(tm(torch.from_numpy(x)), 1).numpy()

    fns = {"numpynn": model.predict_proba, "pytorch": torch_predict, "scikit-learn": skl.predict_proba}
    single: dict[str, list[float]] = {k: [] for k in fns}
    batch: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            # BLAS and OpenMP worker threads keep spinning for a while after their last parallel call; a pause
            # lets them sleep, so the one-thread single-sample loop does not share its core with them
            time.sleep(IDLE_PAUSE_S)
            single[name].append(per_call(fn, ones, len(ones)))
            batch[name].append(per_call(fn, many, 5))
    return {name: {"single_us": float(np.median(single[name])) * 1e6, "10000_ms": float(np.median(batch[name])) * 1e3,
                   "single_us_per_round": [round(v * 1e6, 2) for v in single[name]]} for name in fns}


# --- README style against fused activations -------------------------------------------------------------------
STYLE_TARGETS = {"epoch": 0.03, "single": 0.10}  # README style / fused within 1 +- this


def style_models(seed=0) -> dict:
    """784-256-128-10 ReLU written the README's way (Dense, ReLU, Dense, ReLU, Dense) and with fused activations
    (build_mlp: Dense(784, 256, "relu"), ...). Their default initializers differ (Glorot for a Dense without an
    activation, He with "relu"), so the README-style model gets the fused one's weights and generator state: the
    two are then the same network, train to the same weights, and differ only in how they are written."""
    readme = nn.Sequential([nn.Dense(784, 256), nn.ReLU(), nn.Dense(256, 128), nn.ReLU(), nn.Dense(128, 10)],
                           seed=seed)
    fused = build_mlp(784, [256, 128], 10, activation="relu", seed=seed)
    copy_weights(fused, readme)
    readme.rng.bit_generator.state = fused.rng.bit_generator.state
    return {"README style": readme, "fused": fused}


def copy_weights(src, dst) -> None:
    """src's parameters into dst, in order: the keys name layer positions, which differ between the styles."""
    dst.set_weights(dict(zip(dst.get_weights(), src.get_weights().values(), strict=True)))


def max_weight_difference(a, b) -> float:
    return max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights().values(), b.get_weights().values(),
                                                           strict=True))


def styles(X, y, repeats, rounds) -> dict:
    """(a) seconds of a training epoch (Adam 1e-3, batch 128, as numpynn_epoch) and (b) single-sample
    predict_proba seconds (as latency()) for both styles. Interleaved: each repeat times both epochs back to
    back and each round both single-sample loops, the order alternating, so a slow spell hits both; each
    ratio is the median of the per-repeat (per-round) ratios of README style / fused."""
    sizes, act, bs, opt, lr = NETWORKS["784-256-128-10 Adam b128"]
    models = style_models()
    names = list(models)
    epochs = {k: numpynn_epoch(X, y, sizes, act, bs, opt, lr, model=m) for k, m in models.items()}
    epoch_t: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        for k in names if r % 2 == 0 else names[::-1]:
            epoch_t[k].append(timed(epochs[k]))
    trained_diff = max_weight_difference(*models.values())  # 0: the two styles computed the same training
    copy_weights(models["fused"], models["README style"])  # identical weights, so identical sparsity, for (b)
    ones = single_images(X)
    single_t: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for k in names if r % 2 == 0 else names[::-1]:
            time.sleep(IDLE_PAUSE_S)  # let BLAS workers from the epochs sleep (see latency())
            single_t[k].append(per_call(models[k].predict_proba, ones, len(ones)))
    e, s = ({k: np.array(v) for k, v in t.items()} for t in (epoch_t, single_t))
    epoch_ratio = float(np.median(e["README style"] / e["fused"]))
    single_ratio = float(np.median(s["README style"] / s["fused"]))
    return {"network": "784-256-128-10 ReLU, same weights in both styles",
            "epoch_seconds": {k: float(np.median(v)) for k, v in e.items()},
            "epoch_ratio README/fused": epoch_ratio,
            "epoch_target": f"within {STYLE_TARGETS['epoch'] * 100:g} %",
            "epoch_target_met": abs(epoch_ratio - 1) <= STYLE_TARGETS["epoch"],
            "single_us": {k: float(np.median(v)) * 1e6 for k, v in s.items()},
            "single_ratio README/fused": single_ratio,
            "single_target": f"within {STYLE_TARGETS['single'] * 100:g} %",
            "single_target_met": abs(single_ratio - 1) <= STYLE_TARGETS["single"],
            "epoch_seconds_per_repeat": {k: [round(v, 4) for v in t] for k, t in epoch_t.items()},
            "single_us_per_round": {k: [round(v * 1e6, 2) for v in t] for k, t in single_t.items()},
            "max weight difference after training": trained_diff,
            "recipe": f"Adam {lr:g}, batch {bs}, {repeats} epochs after a warm-up; {rounds} rounds of "
                      f"{len(ones)} single-image predict_proba calls"}


def print_styles(st: dict) -> None:
    e, s = st["epoch_seconds"], st["single_us"]

    def verdict(met):
        return "met" if met else "NOT met"

    print(f"\nREADME style vs fused activations, {st['network']}")
    print(f"  {'':32s} {'README style':>12s} {'fused':>10s} {'README/fused':>13s}   target")
    print(f"  {'training epoch (Adam, b128)':32s} {e['README style']:10.3f} s {e['fused']:8.3f} s "
          f"{st['epoch_ratio README/fused']:13.3f}   {st['epoch_target']} ({verdict(st['epoch_target_met'])})")
    print(f"  {'predict_proba, one sample':32s} {s['README style']:9.1f} us {s['fused']:7.1f} us "
          f"{st['single_ratio README/fused']:13.3f}   {st['single_target']} ({verdict(st['single_target_met'])})")
    print(f"  weights after the same training differ by at most {st['max weight difference after training']:.3g}")


# --- time to 88 % ---------------------------------------------------------------------------------------------
def time_to_accuracy(X, y, Xt, yt, target=0.88, max_epochs=30):
    """Training seconds (evaluation excluded) until test accuracy reaches `target`: numpynn with its recipe,
    PyTorch with the same recipe, and PyTorch with the usual Adam 1e-3 on 784-256-128-10."""
    results = {}
    model = numpynn_model([784, 256, 10], "relu")
    model.set_loss("cross_entropy")
    model.optimizer = nn.Adam(2e-3)

    def numpynn_epoch():
        model.fit(X, y, epochs=1, batch_size=128, verbose=0)

    results["numpynn"] = _until(numpynn_epoch, lambda: float(np.mean(model.predict(Xt) == yt)), target, max_epochs,
                                "784-256-10, Adam 2e-3, batch 128")
    for label, sizes, lr in (("pytorch, same recipe", [784, 256, 10], 2e-3),
                             ("pytorch, Adam 1e-3", [784, 256, 128, 10], 1e-3)):
        results[label] = _torch_until(X, y, Xt, yt, sizes, lr, target, max_epochs)
    return results


def _until(run_epoch, accuracy, target, max_epochs, recipe):
    spent, acc, epochs = 0.0, 0.0, 0
    while epochs < max_epochs and acc < target:
        spent += timed(run_epoch)
        epochs += 1
        acc = accuracy()
    return {"seconds": spent, "epochs": epochs, "accuracy": acc, "recipe": recipe}


def _torch_until(X, y, Xt, yt, sizes, lr, target, max_epochs):
    import torch

    torch.manual_seed(0)
    tm = torch_model(sizes, "relu")
    opt = torch.optim.Adam(tm.parameters(), lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xtr, ytr, Xte = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(Xt)

    def epoch():
        order = torch.randperm(len(X))
        for s in range(0, len(X), 128):
            idx = order[s:s + 128]
            opt.zero_grad(set_to_none=True)
            loss_fn(tm(Xtr[idx]), ytr[idx]).backward()
            opt.step()

    def accuracy():
        with torch.inference_mode():
            return float((tm(Xte).argmax(1).numpy() == yt).mean())

    return _until(epoch, accuracy, target, max_epochs, f"{'-'.join(map(str, sizes))}, Adam {lr:g}, batch 128")


# --- peak memory ----------------------------------------------------------------------------------------------
PEAK_CHILD = """
import numpynn as nn, resource, sys
(X, y), (Xt, yt) = nn.datasets.load("fashion-mnist")
model = nn.Sequential([nn.Dense(784, 256, "relu"), nn.Dense(256, 128, "relu"), nn.Dense(128, 10)], seed=0)
model.fit(X, y, epochs=2, batch_size=128, validation_split=0.1, verbose=0, metrics=["accuracy"])
model.evaluate(Xt, yt)
# VmHWM is this process's own high-water mark (ru_maxrss would carry the parent's across exec)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_memory() -> dict:
    out = subprocess.run([sys.executable, "-c", PEAK_CHILD], capture_output=True, text=True, check=True)
    peak_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
    dataset_mb = 70000 * 784 * 4 / 2**20
    return {"peak_mb": peak_mb, "dataset_float32_mb": dataset_mb, "budget_mb": 1.5 * dataset_mb + 100}


# --- the run --------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats per network (default 7)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", type=Path, default=None,
                        help="default benchmarks/results/latest.json (styles.json with --styles-only)")
    parser.add_argument("--quick", action="store_true", help="only the first network, one repeat")
    parser.add_argument("--styles-only", action="store_true",
                        help="only README-style layers against fused activations (no floor, no torch or sklearn)")
    args = parser.parse_args(argv)
    json_path = args.json or HERE / "results" / ("styles.json" if args.styles_only else "latest.json")

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    (X, y), (Xt, yt) = nn.datasets.load("fashion-mnist")
    y32, yt32 = y.astype(np.int64), yt.astype(np.int64)
    repeats = 1 if args.quick else args.repeats
    report: dict = {"environment": {"numpynn": nn.__version__, "numpy": np.__version__, "threads": args.threads,
                                    "cpu": platform.processor() or platform.machine(), "repeats": repeats,
                                    "numpynn elementwise loops": nn.ops.describe()}}
    print(f"Fashion-MNIST {X.shape}, float32, {args.threads} threads, median of {repeats}; numpynn's elementwise "
          f"loops: {nn.ops.describe()}")
    if args.styles_only:
        report["styles"] = styles(X, y32, repeats, max(5, repeats))
        print_styles(report["styles"])
        return write_report(report, json_path)

    import sklearn
    import torch

    torch.set_num_threads(args.threads)
    report["environment"].update({"torch": torch.__version__, "scikit-learn": sklearn.__version__})
    report["epoch_seconds"] = {}
    print()
    peak = large_product_gflops()
    report["environment"]["large product GFLOP/s"] = peak
    print(f"a 2048 x 2048 float32 product runs at {peak:.0f} GFLOP/s here; the floor's products of each network "
          f"are counted the same way\n")
    print(f"{'network':38s} {'floor':>7s} {'numpynn':>8s} {'pytorch':>8s} {'sklearn':>8s}   "
          f"{'numpynn/floor':>13s} {'pytorch/numpynn':>15s} {'sklearn/numpynn':>15s}")
    for i, (name, (sizes, act, bs, opt, lr)) in enumerate(NETWORKS.items()):
        if args.quick and i:
            break
        epochs = {"floor": floor_epoch(X, sizes, bs), "numpynn": numpynn_epoch(X, y32, sizes, act, bs, opt, lr),
                  "pytorch": torch_epoch(X, y32, sizes, act, bs, opt, lr),
                  "scikit-learn": sklearn_epoch(X, y32, sizes, act, bs, opt, lr)}
        # interleaved: each repeat times all four back to back, so a slow spell of a shared machine hits all
        times = {k: [] for k in epochs}
        for _ in range(repeats if bs else max(3, repeats)):
            for k, run in epochs.items():
                times[k].append(timed(run))
        t = {k: np.array(v) for k, v in times.items()}
        row = {k: float(np.median(v)) for k, v in t.items()}
        ratios = {"numpynn/floor": float(np.median(t["numpynn"] / t["floor"])),
                  "pytorch/numpynn": float(np.median(t["pytorch"] / t["numpynn"])),
                  "scikit-learn/numpynn": float(np.median(t["scikit-learn"] / t["numpynn"]))}
        report["epoch_seconds"][name] = {**row, "ratios (median of per-repeat ratios)": ratios,
                                         "floor GFLOP/s": floor_gflop(len(X), sizes) / row["floor"]}
        print(f"{name:38s} {row['floor']:7.3f} {row['numpynn']:8.3f} {row['pytorch']:8.3f} {row['scikit-learn']:8.3f}"
              f"   {ratios['numpynn/floor']:13.2f} {ratios['pytorch/numpynn']:15.2f} "
              f"{ratios['scikit-learn/numpynn']:15.2f}   (floor at "
              f"{report['epoch_seconds'][name]['floor GFLOP/s']:.0f} GFLOP/s)", flush=True)
    lat = latency(X, max(5, repeats))
    report["predict_latency"] = lat
    print("\nprediction, 784-256-128-10     single sample      10,000 samples")
    for name, v in lat.items():
        print(f"  {name:28s} {v['single_us']:9.1f} us {v['10000_ms']:14.2f} ms")
    report["styles"] = styles(X, y32, repeats, max(5, repeats))
    print_styles(report["styles"])
    tta = time_to_accuracy(X, y32, Xt, yt32)
    report["time_to_88"] = tta
    print("\ntime to 88 % Fashion-MNIST test accuracy (training time only)")
    for name, v in tta.items():
        print(f"  {name:22s} {v['seconds']:6.2f} s  ({v['epochs']} epochs, {100 * v['accuracy']:.2f} %, {v['recipe']})")
    mem = peak_memory()
    report["peak_memory"] = mem
    print(f"\npeak memory of a numpynn Fashion-MNIST training run: {mem['peak_mb']:.0f} MB "
          f"(budget 1.5 x {mem['dataset_float32_mb']:.0f} MB + 100 MB = {mem['budget_mb']:.0f} MB)")
    return write_report(report, json_path)


def write_report(report: dict, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
