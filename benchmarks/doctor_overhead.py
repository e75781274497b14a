"""The training doctor's cost: epochs of the demo recipe, and whole XOR runs, with and without it, interleaved.

XOR (--xor-epochs, default 30 3000 30000): `train_run` of examples/xor.toml (2-3-1 sigmoid, full batch, an epoch
of ~0.1 ms: the doctor's worst case), with the doctor and with doctor = false, alternating which goes first, in
this one process; the training seconds the run reports (its fit), medians of --xor-repeats rounds, and the
doctor's own cost: its measuring time plus its hooks' cost in the epochs it does not measure (whole-run times
on a loaded machine move by more than it). Then the
other per-epoch writer, the model checkpoint (ModelCheckpoint every 5 s,
as `numpynn train` has it; history.json/.csv and metrics.json are written once, at the end), on the 3,000-epoch
fit with and without it.

Demo epoch: the the bundled MNIST sample (9,000 training rows after the demo's validation split), the demo network
784-512-256-10 (ReLU, dropout 0.1), Adam with a cosine schedule, batch 128, no augmentation (it would only add
the same time to both). Each repeat trains one fresh epoch without and one with the doctor, alternating which
goes first; prints the median epoch time of each and the overhead, and writes them as JSON with --json.

    python benchmarks/doctor_overhead.py [--repeats 7] [--xor-repeats 5] [--xor-epochs 30 3000 30000] [--no-demo]
                                         [--json benchmarks/results/doctor.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from numpynn import ops
from numpynn import run as runs
from numpynn.config import TrainConfig
from numpynn.run import build_model, load_run_data, optimizer_for
from numpynn.training.callbacks import ModelCheckpoint
from numpynn.training.doctor import Doctor

XOR = Path(__file__).resolve().parents[1] / "examples" / "xor.toml"


class TimedDoctor(Doctor):
    """The Doctor, with the time spent in its hooks added up: its own cost, which a loaded machine's noise
    in whole-epoch times can hide."""

    seconds = 0.0

    def _timed(name):
        def hook(self, *args):
            t0 = time.perf_counter()
            getattr(Doctor, name)(self, *args)
            TimedDoctor.seconds += time.perf_counter() - t0
        return hook

    on_train_begin, on_epoch_begin = _timed("on_train_begin"), _timed("on_epoch_begin")
    on_batch_end, on_epoch_end = _timed("on_batch_end"), _timed("on_epoch_end")


def one_epoch(rd, with_doctor: bool) -> float:
    cfg = TrainConfig(epochs=1)
    model = build_model(cfg, rd.X_train.shape[1], 10)
    steps = int(np.ceil(len(rd.X_train) * (1 - cfg.validation_split) / cfg.batch_size))
    t0 = time.perf_counter()
    model.fit(rd.X_train, rd.y_train, optimizer=optimizer_for(cfg, steps), epochs=1, batch_size=cfg.batch_size,
              validation_split=cfg.validation_split, metrics=["accuracy"], verbose=0,
              callbacks=[TimedDoctor()] if with_doctor else [])
    return time.perf_counter() - t0


class KeptDoctor(Doctor):
    """The run's Doctor, kept to read its measuring time (`_own`) afterwards."""

    last: Doctor | None = None

    def on_train_begin(self, logs):
        KeptDoctor.last = self
        super().on_train_begin(logs)


def xor_run(epochs: int, with_doctor: bool) -> tuple[float, float, int]:
    """(training seconds, seconds the doctor spent measuring, epochs it measured) of one `train_run` of
    examples/xor.toml."""
    cfg = TrainConfig.from_toml(XOR, {"epochs": epochs, "doctor": with_doctor})
    KeptDoctor.last, runs.Doctor = None, KeptDoctor
    try:
        with tempfile.TemporaryDirectory() as out:
            result = runs.train_run(cfg, out, log=lambda *a: None, verbose=0, report=False)
    finally:
        runs.Doctor = Doctor
    doctor = KeptDoctor.last
    return result.seconds, (doctor._own if doctor else 0.0), (len(doctor.records) if doctor else 0)


def unmeasured_epoch_seconds(n: int = 100_000) -> float:
    """What the doctor's three hooks cost in an epoch it does not measure, less a do-nothing callback's (timing
    each hook call in the run would cost more than the hooks)."""
    import numpynn as nn

    model = build_model(TrainConfig.from_toml(XOR), 2, 1)
    doctor = Doctor(budget=1e-12)
    doctor.set_model(model)
    doctor.on_train_begin({"steps_per_epoch": 1, "epochs": 10**9, "X": np.zeros((4, 2), np.float32)})
    rounds = []
    for _ in range(5):
        spent = []
        for cb in (doctor, nn.Callback()):
            t0 = time.perf_counter()
            for e in range(2, n + 2):
                cb.on_epoch_begin(e)
                cb.on_batch_end(e, {})
                cb.on_epoch_end(e, {})
            spent.append(time.perf_counter() - t0)
        rounds.append((spent[0] - spent[1]) / n)
    return max(float(np.median(rounds)), 0.0)


def xor_rows(counts: list[int], repeats: int) -> list[dict]:
    rows = []
    xor_run(300, True)  # warm-up
    skip = unmeasured_epoch_seconds()
    print(f"  an unmeasured epoch costs the doctor {1e6 * skip:.2f} us more than a do-nothing callback")
    for epochs in counts:
        times: dict[bool, list[float]] = {False: [], True: []}
        share, measured = [], []
        for r in range(repeats):
            for with_doctor in ((False, True) if r % 2 == 0 else (True, False)):
                seconds, measuring, n_measured = xor_run(epochs, with_doctor)
                times[with_doctor].append(seconds)
                if with_doctor:
                    share.append((measuring + skip * (epochs - n_measured)) / seconds)
                    measured.append(n_measured)
        plain, doctor = float(np.median(times[False])), float(np.median(times[True]))
        paired = float(np.median(np.array(times[True]) / np.array(times[False])))
        cost = float(np.median(share))
        rows.append({"epochs": epochs, "without": times[False], "with": times[True], "median_without": plain,
                     "median_with": doctor, "paired_ratio": paired, "doctor_share": cost,
                     "epochs_measured": measured, "unmeasured_epoch_seconds": skip})
        print(f"  xor {epochs:>6,} epochs: training without doctor {plain:.4f} s, with {doctor:.4f} s (medians of "
              f"{repeats}); overhead {100 * (doctor / plain - 1):+.1f} % (paired {100 * (paired - 1):+.1f} %); "
              f"the doctor's own cost {100 * cost:.2f} % of training ({int(np.median(measured))} epochs measured); "
              f"target <= 2 %")
    return rows


def checkpoint_row(epochs: int, repeats: int) -> dict:
    """A fit of the XOR network with and without the run's ModelCheckpoint (every 5 s), interleaved."""
    cfg = TrainConfig.from_toml(XOR, {"epochs": epochs})
    rd = load_run_data(cfg, log=lambda *a: None)

    def fit(with_checkpoint: bool) -> float:
        model = build_model(cfg, 2, 1)
        model.set_loss("binary_cross_entropy")
        with tempfile.TemporaryDirectory() as out:
            cbs = [ModelCheckpoint(Path(out) / "model.safetensors", every_seconds=5.0)] if with_checkpoint else []
            t0 = time.perf_counter()
            model.fit(rd.X_train, rd.y_train, optimizer=optimizer_for(cfg, 1), epochs=epochs, batch_size=None,
                      verbose=0, callbacks=cbs)
            return time.perf_counter() - t0

    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(repeats):
        for with_checkpoint in ((False, True) if r % 2 == 0 else (True, False)):
            times[with_checkpoint].append(fit(with_checkpoint))
    plain, ckpt = float(np.median(times[False])), float(np.median(times[True]))
    print(f"  xor {epochs:,} epochs, model checkpoint every 5 s: fit without {plain:.4f} s, with {ckpt:.4f} s "
          f"(medians of {repeats}); overhead {100 * (ckpt / plain - 1):+.1f} %")
    return {"epochs": epochs, "without": times[False], "with": times[True]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--xor-repeats", type=int, default=5)
    parser.add_argument("--xor-epochs", type=int, nargs="*", default=[30, 3000, 30000])
    parser.add_argument("--no-demo", action="store_true", help="only the XOR rows (the demo epoch takes minutes)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"doctor overhead ({platform.processor() or platform.machine()}, {ops.describe()}):")
    results: dict = {"xor": xor_rows(args.xor_epochs, args.xor_repeats),
                     "checkpoint": checkpoint_row(3000, args.xor_repeats)}
    if not args.no_demo:
        results["demo"] = demo_rows(args.repeats)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


def demo_rows(repeats: int) -> dict:
    rd = load_run_data(TrainConfig(), log=lambda *a: None)
    one_epoch(rd, True)  # warm-up: first-touch allocations, BLAS threads
    TimedDoctor.seconds = 0.0
    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(repeats):
        for with_doctor in ((False, True) if r % 2 == 0 else (True, False)):
            times[with_doctor].append(one_epoch(rd, with_doctor))
    plain, doctor = float(np.median(times[False])), float(np.median(times[True]))
    # the paired per-repeat ratio is steadier than the ratio of medians on a loaded machine
    paired = float(np.median(np.array(times[True]) / np.array(times[False])))
    print(f"  demo epoch without doctor {plain:.3f} s, with doctor {doctor:.3f} s (medians); "
          f"overhead {100 * (doctor / plain - 1):+.1f} % (median of paired ratios {100 * (paired - 1):+.1f} %); "
          f"{repeats} repeats")
    inside = TimedDoctor.seconds / repeats
    print(f"  time inside the doctor's hooks: {inside:.3f} s an epoch = {100 * inside / plain:.2f} % of an epoch")
    return {"without": times[False], "with": times[True], "median_without": plain, "median_with": doctor,
            "paired_ratio": paired, "hook_seconds_per_epoch": inside}


if __name__ == "__main__":
    main()
