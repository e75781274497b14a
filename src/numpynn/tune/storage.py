"""Where a study lives: SQLite in the tune folder by default, or any database URL Optuna accepts.

Every trial records the worker running it ("host:pid"); a trial whose worker on this machine has died is marked
failed at once, and one whose worker elsewhere stopped sending heartbeats is failed by Optuna after the grace
period. Either way a killed worker loses only the trial it was running.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

from ..atomic import process_alive
from ..config import ConfigError
from .extra import optuna

DB_NAME = "study.db"
WORKER_ATTR = "worker"  # "host:pid" of the process running the trial


def default_url(out: Path) -> str:
    return f"sqlite:///{(out / DB_NAME).resolve()}"


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def open_storage(url: str, *, heartbeat: int = 10, grace: int = 60) -> Any:
    """An Optuna RDBStorage with heartbeats; ConfigError when the database cannot be reached or opened."""
    opt = optuna()
    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):  # several workers write one file: wait for its lock instead of failing
        engine = {"connect_args": {"timeout": 60}}
    else:
        engine = {"pool_pre_ping": True}
    try:
        return opt.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat, grace_period=grace)
    except Exception as exc:  # SQLAlchemy's errors, a missing driver (ImportError), a malformed URL
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc.__cause__, ImportError) or isinstance(exc, ImportError):  # the URL's driver is missing
            first = f"{first} ({exc.__cause__ or exc}; for postgresql:// URLs: pip install 'psycopg[binary]')"
        raise ConfigError(f"cannot open the study storage {shown(url)}: {first[:300]}") from None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_dead_trials(study: Any, storage: Any) -> list[int]:
    """Mark failed the running trials whose worker was a process of this machine that no longer lives, and those
    whose heartbeat went stale; the numbers of the trials so marked."""
    opt = optuna()
    state = opt.trial.TrialState
    host, failed = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        who = str(t.user_attrs.get(WORKER_ATTR, ""))
        name, _, pid = who.rpartition(":")
        if name == host and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            try:
                storage.set_trial_user_attr(t._trial_id, "error", f"its worker ({who}) died")
                if storage.set_trial_state_values(t._trial_id, state.FAIL):
                    failed.append(t.number)
            except opt.exceptions.UpdateFinishedTrialError:  # another process marked it first
                pass
    opt.storages.fail_stale_trials(study)
    return failed


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (killed, not yet reaped by its parent)."""
    if not process_alive(pid):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
