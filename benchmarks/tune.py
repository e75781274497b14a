"""Trials per hour of `numpynn tune`: one single-threaded worker, one worker with 2 BLAS threads, and 2
single-threaded workers (--jobs 2), the same search (no pruning, no reports) on the bundled MNIST sample.
With --pruning: the same random trials with and without the median pruner, their best validation loss and the
epochs they trained.

    python benchmarks/tune.py [--trials 6] [--epochs 2] [--pruning]

Each search runs as its own `numpynn tune` process with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so the
BLAS thread counts are set before NumPy is imported. Prints one line per setting and writes nothing outside a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = """[model]
hidden = [128]
[training]
epochs = {epochs}
seed = 0
[data]
dataset = "mnist-sample"
"""
SPACE = """[space]
lr = { low = 3e-4, high = 1e-2, log = true }
dropout = { low = 0.0, high = 0.3 }
[pruner]
kind = "none"
[search]
sampler = "random"
"""
# the random sampler draws the same trials whatever the pruner does, so the two searches differ only by pruning
PRUNED_SPACE = """[space]
lr = { low = 1e-5, high = 3e-2, log = true }
dropout = { low = 0.0, high = 0.5 }
[pruner]
%s
[search]
sampler = "random"
"""
PRUNERS = {"none": 'kind = "none"', "median": 'kind = "median"\nstartup_trials = 3\nwarmup_epochs = 1'}


def search(folder: Path, name: str, jobs: int, threads: int, trials: int, space: str = "space.toml") -> float:
    """Seconds for `trials` trials with `jobs` workers of `threads` BLAS threads each (jobs 1: set here)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(ROOT / "src")
    if jobs == 1:
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "numpynn.cli", "tune", "--config", folder / "base.toml", "--space",
                    folder / space, "--trials", str(trials), "--out", folder / name, "--jobs", str(jobs),
                    "--no-report", "--quiet"], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def pruning(folder: Path, trials: int) -> None:
    """The same trials without and with the median pruner: best val_loss, epochs trained, seconds."""
    import optuna

    for kind in ("none", "median"):
        (folder / f"space-{kind}.toml").write_text(PRUNED_SPACE % PRUNERS[kind])
        seconds = search(folder, f"pruner-{kind}", 1, 1, trials, f"space-{kind}.toml")
        study = optuna.load_study(study_name=f"pruner-{kind}", storage=f"sqlite:///{folder / f'pruner-{kind}'}"
                                  "/study.db")
        done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
        epochs = sum(int(t.user_attrs.get("epochs", 0)) for t in done)
        pruned = sum(t.state.name == "PRUNED" for t in done)
        print(f"pruner {kind:6s} {len(done)} trials ({pruned} pruned): best val_loss {study.best_value:.4f}, "
              f"{epochs} epochs trained, {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pruning", action="store_true", help="compare the median pruner with no pruning")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "base.toml").write_text(BASE.format(epochs=args.epochs))
        (folder / "space.toml").write_text(SPACE)
        if args.pruning:
            pruning(folder, args.trials)
            return
        for name, jobs, threads in (("1 worker x 1 thread", 1, 1), ("1 worker x 2 threads", 1, 2),
                                    ("2 workers x 1 thread", 2, 1)):
            seconds = search(folder, name.replace(" ", "-"), jobs, threads, args.trials)
            print(f"{name:22s} {args.trials} trials in {seconds:6.1f} s: {3600 * args.trials / seconds:6.0f} "
                  "trials per hour (process start and imports included)", flush=True)


if __name__ == "__main__":
    main()
