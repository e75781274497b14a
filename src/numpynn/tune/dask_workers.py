"""`--dask ADDRESS`: the study's workers as tasks of a Dask cluster (`local`: a LocalCluster on this machine).

Each task runs the same worker loop as a `--jobs` process, on the study's storage, which every Dask worker must
reach (a database URL; the default SQLite file only where the workers share this machine's disk). A task computes
with one BLAS thread on a cluster (start its workers with `--nthreads 1`, one per core), and with this machine's
CPUs shared out on a LocalCluster.
"""

from __future__ import annotations

from typing import Any

from ..errors import NumpynnError
from .study import StudySpec
from .workers import threads_per_worker


def run_on_dask(spec: StudySpec, address: str, jobs: int, log=print) -> list[int]:
    """Run `jobs` worker tasks on the cluster at `address` (or a LocalCluster of `jobs` single-threaded worker
    processes for "local"); each task's count of trials run, once all are done."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise NumpynnError("--dask needs dask.distributed: pip install 'numpynn[dask]'") from None
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout=30)
    except OSError as exc:
        raise NumpynnError(f"cannot reach the Dask scheduler {address}: {exc}") from None
    with client:
        n_workers = len(client.scheduler_info()["workers"])
        log(f"{jobs} worker tasks on the Dask cluster at {client.scheduler.address} ({n_workers} Dask workers)")
        threads = threads_per_worker(jobs) if cluster is not None else 1
        futures = [client.submit(_task, spec.to_json(), i, threads, pure=False) for i in range(jobs)]
        counts = client.gather(futures)
    if cluster is not None:
        cluster.close()
    return [int(c) for c in counts]


def _task(spec_json: str, index: int, threads: int) -> int:
    """One worker loop inside a Dask worker; NumPy is loaded there already, so threadpoolctl sets its threads."""
    import contextlib

    from .study import run_worker

    limit: Any = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(threads)
    except ImportError:
        pass
    with limit:
        return run_worker(StudySpec.from_json(spec_json), index, log=lambda msg: None)
