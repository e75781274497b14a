"""The training doctor's cost: epochs of the demo recipe with and without nn.Doctor(), interleaved, medians.

Data: the bundled MNIST sample (9,000 training rows after the demo's validation split), the demo network
784-512-256-10 (ReLU, dropout 0.1), Adam with a cosine schedule, batch 128, no augmentation (it would only add
the same time to both). Each repeat trains one fresh epoch without and one with the doctor, alternating which
goes first; prints the median epoch time of each and the overhead, and writes them as JSON with --json.

    python benchmarks/doctor_overhead.py [--repeats 7] [--json benchmarks/results/doctor.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from numpynn import ops
from numpynn.config import TrainConfig
from numpynn.run import build_model, load_run_data, optimizer_for
from numpynn.training.doctor import Doctor


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rd = load_run_data(TrainConfig(), log=lambda *a: None)
    one_epoch(rd, True)  # warm-up: first-touch allocations, BLAS threads
    TimedDoctor.seconds = 0.0
    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(args.repeats):
        for with_doctor in ((False, True) if r % 2 == 0 else (True, False)):
            times[with_doctor].append(one_epoch(rd, with_doctor))
    plain, doctor = float(np.median(times[False])), float(np.median(times[True]))
    # the paired per-repeat ratio is steadier than the ratio of medians on a loaded machine
    paired = float(np.median(np.array(times[True]) / np.array(times[False])))
    print(f"doctor overhead ({platform.processor() or platform.machine()}, {ops.describe()}, "
          f"{args.repeats} repeats):")
    print(f"  epoch without doctor {plain:.3f} s, with doctor {doctor:.3f} s (medians); "
          f"overhead {100 * (doctor / plain - 1):+.1f} % (median of paired ratios {100 * (paired - 1):+.1f} %); "
          f"target <= 5 %")
    inside = TimedDoctor.seconds / args.repeats
    print(f"  time inside the doctor's hooks: {inside:.3f} s an epoch = {100 * inside / plain:.2f} % of an epoch")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"without": times[False], "with": times[True], "median_without": plain,
                                         "median_with": doctor, "paired_ratio": paired,
                                         "hook_seconds_per_epoch": inside}, indent=1))


if __name__ == "__main__":
    main()
