"""`--jobs K`: K worker processes on this machine sharing one study through its storage.

The CPUs this process may use are split between them: each child starts with the BLAS and OpenMP thread counts
set before it imports NumPy, so K workers never run more threads than there are cores. A worker killed by a
signal loses only the trial it was running: it is marked failed as soon as the worker is reaped, and the others
go on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ..data.prefetch import usable_cpus
from ..errors import NumpynnError
from .storage import fail_dead_trials
from .study import StudySpec, open_study

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def threads_per_worker(jobs: int, cpus: int | None = None) -> int:
    """The BLAS threads each of `jobs` workers gets: the usable CPUs shared out, at least one."""
    return max(1, (usable_cpus() if cpus is None else cpus) // jobs)


def worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def run_workers(spec: StudySpec, jobs: int, log=print) -> list[int]:
    """Start `jobs` worker processes on the study, wait for all of them; their exit statuses (a negative one: the
    signal that ended it)."""
    env = worker_env(threads_per_worker(jobs))
    log(f"{jobs} workers, {env['OPENBLAS_NUM_THREADS']} BLAS thread(s) each")
    procs = [subprocess.Popen([sys.executable, "-m", "numpynn.tune.worker", str(i)], stdin=subprocess.PIPE,
                              env=env, text=True) for i in range(jobs)]
    for p in procs:
        p.stdin.write(spec.to_json())
        p.stdin.close()
    study, storage = open_study(spec, create=False)
    codes: dict[int, int] = {}
    try:
        while len(codes) < len(procs):
            for i, p in enumerate(procs):
                if i not in codes and p.poll() is not None:
                    codes[i] = p.returncode
                    if p.returncode != 0:  # reaped: its running trial can be marked failed now
                        failed = fail_dead_trials(study, storage)
                        log(f"worker {i} (pid {p.pid}) ended with status {p.returncode}"
                            + (f"; trial(s) {failed} marked failed" if failed else ""))
            time.sleep(0.2)
    except KeyboardInterrupt:  # the workers got the same Ctrl-C; let them finish their clean stop
        for p in procs:
            p.wait()
        raise
    return [codes[i] for i in range(len(procs))]


def check_jobs(jobs: object) -> int:
    from ..checks import is_int

    if not is_int(jobs) or jobs < 1:
        raise NumpynnError(f"jobs must be a positive integer, got {jobs!r:.40}")
    return int(jobs)
