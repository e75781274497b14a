"""The fuzzing harness: runs numpynn's file readers on hostile inputs in a memory-limited, time-limited process
and classifies what happens.

Contract: every `fuzz/targets_*.py` module has `TARGETS = {"name": callable(pathlib.Path)}`; a target reads
(and uses) one input file. Every input must end in a result or in numpynn's own error (NumpynnError); anything
else is a finding:
- "exception": another exception (a raw KeyError, OverflowError, ...);
- "memory": an allocation beyond MEMORY_LIMIT (MemoryError under RLIMIT_AS);
- "timeout": more than CASE_SECONDS for one input (a hang);
- "crash": the process died (a signal, e.g. a segfault in C code).

Corpus files live in `fuzz/corpus/<target>/`; `make test` replays them (tests/test_fuzz_corpus.py) and
`make fuzz` mutates them with Hypothesis for a bounded time. Usage:
    python fuzz/harness.py replay [TARGET ...]        every corpus file of every (or the named) target
    python fuzz/harness.py fuzz --seconds 120         mutate the corpus, findings saved to fuzz/findings/
    python fuzz/harness.py run TARGET FILE            one input
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
FINDINGS = HERE / "findings"
MEMORY_LIMIT = 2 * 2**30  # address space of a case's process: numpy and the C extension need ~0.5 GiB of it
CASE_SECONDS = 20.0
KINDS = ("ok", "numpynn-error", "exception", "memory", "timeout", "crash")


@dataclasses.dataclass
class Outcome:
    target: str
    path: str
    kind: str  # one of KINDS
    detail: str = ""

    @property
    def acceptable(self) -> bool:
        return self.kind in ("ok", "numpynn-error")


def target_modules() -> dict[str, ModuleType]:
    """Every fuzz/targets_*.py, imported by file (the folder is not a package)."""
    modules = {}
    for path in sorted(HERE.glob("targets_*.py")):
        spec = importlib.util.spec_from_file_location(f"numpynn_fuzz_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[path.stem] = module
    return modules


def all_targets() -> dict[str, tuple[str, Any]]:
    """target name -> (module stem, callable)."""
    found: dict[str, tuple[str, Any]] = {}
    for stem, module in target_modules().items():
        for name, fn in module.TARGETS.items():
            if name in found:
                raise SystemExit(f"fuzz target {name!r} is defined by both {found[name][0]} and {stem}")
            found[name] = (stem, fn)
    return found


def corpus_files(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


# --- inside the limited process -----------------------------------------------------------------------------
class _CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the code under test swallows it."""


def limit_process(memory: int = MEMORY_LIMIT) -> None:
    """Cap this process's address space, and keep BLAS from reserving memory for threads it will not need."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def classify_call(fn, path: Path, seconds: float = CASE_SECONDS) -> tuple[str, str]:
    """Run fn(path) under an alarm; (kind, detail) as in KINDS (not "crash", which only the parent sees)."""
    from numpynn.errors import NumpynnError

    def alarm(signum, frame):
        raise _CaseTimeout

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        fn(path)
        return "ok", ""
    except NumpynnError as exc:
        return "numpynn-error", str(exc)[:300]
    except MemoryError:
        return "memory", traceback.format_exc(limit=-6)
    except _CaseTimeout:
        return "timeout", f"more than {seconds} s"
    except Exception:  # noqa: BLE001 - this is what the harness looks for
        return "exception", traceback.format_exc(limit=-6)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _child_replay(target: str, paths: list[str]) -> None:
    """Run each input in this (already limited) process and print one JSON line per outcome."""
    fn = all_targets()[target][1]
    for p in paths:
        print(json.dumps({"start": p}), flush=True)
        kind, detail = classify_call(fn, Path(p))
        print(json.dumps(dataclasses.asdict(Outcome(target, p, kind, detail))), flush=True)


# --- the parent: one limited child process per target ------------------------------------------------------
def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # each BLAS thread reserves address space; one is plenty for these inputs
    return env


def replay(target: str, paths: list[Path], timeout: float | None = None) -> list[Outcome]:
    """Outcomes of running `target` on each of `paths`, in one memory-limited child process; a child that dies
    or hangs is reported against the input it was running, and the rest are run in a new child."""
    outcomes: list[Outcome] = []
    todo = [str(p) for p in paths]
    while todo:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_child", target, *todo]
        budget = timeout or CASE_SECONDS * len(todo) + 30
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, env=_child_env())
            stdout, code = r.stdout, r.returncode
            stderr = r.stderr
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            code, stderr = None, "the process did not finish in time"
        started = None
        for line in stdout.splitlines():
            record = json.loads(line)
            if "start" in record:
                started = record["start"]
            else:
                outcomes.append(Outcome(**record))
                started = None
        done = {o.path for o in outcomes}
        if started is None and not (set(todo) - done):
            break
        victim = started or next(p for p in todo if p not in done)
        kind = "timeout" if code is None else "crash"
        outcomes.append(Outcome(target, victim, kind, f"exit status {code}; {stderr[-500:]}"))
        done.add(victim)
        todo = [p for p in todo if p not in done]
    return outcomes


# --- fuzzing with Hypothesis ---------------------------------------------------------------------------------
def _child_fuzz(target: str, seconds: float, seed: int) -> None:
    """Mutate the target's corpus with Hypothesis until `seconds` have passed; findings go to fuzz/findings/."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    mod_stem, fn = all_targets()[target]
    module = target_modules()[mod_stem]
    seeds = [p.read_bytes() for p in corpus_files(target)] or [b""]
    mutators = getattr(module, "MUTATORS", {}).get(target, [])
    work = Path(tempfile.mkdtemp(prefix=f"numpynn-fuzz-{target}-"))
    end, runs, found = time.monotonic() + seconds, 0, 0

    @st.composite
    def inputs(draw) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        if mutators and draw(st.booleans()):  # structure-aware: e.g. a metadata field changed, checksum redone
            return draw(st.sampled_from(mutators))(bytes(data), draw)
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
            at = draw(st.integers(0, max(len(data) - 1, 0)))
            if op == "flip" and data:
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif op == "cut":
                del data[at:at + draw(st.integers(1, 64))]
            elif op == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            else:
                data[at:at + 8] = draw(st.sampled_from([b"\xff" * 8, b"\0" * 8, b"Infinity", b"[[[[[[[[", b"-1"]))
        return bytes(data)

    while time.monotonic() < end:
        @hseed(seed + runs)
        @settings(max_examples=50, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(inputs())
        def one(data: bytes) -> None:
            path = work / "input"
            path.write_bytes(data)
            kind, detail = classify_call(fn, path, CASE_SECONDS)
            if kind not in ("ok", "numpynn-error"):
                out = FINDINGS / target
                out.mkdir(parents=True, exist_ok=True)
                import hashlib

                name = hashlib.sha256(data).hexdigest()[:16]
                (out / name).write_bytes(data)
                last = detail.strip().splitlines()[-1] if detail.strip() else ""
                raise AssertionError(f"{kind} on fuzz/findings/{target}/{name}: {last}")

        runs += 1
        try:
            one()
        except AssertionError as exc:
            found += 1
            print(f"FINDING {target}: {str(exc).splitlines()[0][:400]}", flush=True)
    print(json.dumps({"target": target, "batches": runs, "findings": found}), flush=True)


def fuzz(seconds: float, targets: list[str] | None = None, seed: int = 0) -> int:
    """Fuzz every (or the named) target for a share of `seconds`, each in a memory-limited child; 0 if nothing
    was found."""
    names = targets or sorted(all_targets())
    share = seconds / max(len(names), 1)
    bad = 0
    for name in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_fuzz", name, str(share), str(seed)]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=share + 120, env=_child_env())
            print(r.stdout, end="")
            if r.returncode != 0:
                bad += 1
                print(f"CRASH {name}: exit status {r.returncode}\n{r.stderr[-2000:]}")
            bad += r.stdout.count("FINDING ")
        except subprocess.TimeoutExpired:
            bad += 1
            print(f"TIMEOUT {name}: a case hung beyond its alarm")
    print(f"fuzzing done: {bad} finding(s); a finding's input is kept in {FINDINGS.relative_to(HERE.parent)}/")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_child", "_fuzz"):  # inside the limited process
        sys.path.insert(0, str(HERE.parent / "src"))
        limit_process()
        if argv[0] == "_child":
            _child_replay(argv[1], argv[2:])
        else:
            _child_fuzz(argv[1], float(argv[2]), int(argv[3]))
        return 0
    p = argparse.ArgumentParser(prog="fuzz/harness.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("replay")
    r.add_argument("targets", nargs="*")
    f = sub.add_parser("fuzz")
    f.add_argument("--seconds", type=float, default=120.0)
    f.add_argument("--seed", type=int, default=int(time.time()))
    f.add_argument("targets", nargs="*")
    o = sub.add_parser("run")
    o.add_argument("target")
    o.add_argument("file", type=Path)
    args = p.parse_args(argv)
    if args.command == "fuzz":
        return fuzz(args.seconds, args.targets or None, args.seed)
    if args.command == "run":
        outcomes = replay(args.target, [args.file])
    else:
        outcomes = [o for t in (args.targets or sorted(all_targets())) for o in replay(t, corpus_files(t))]
    for o in outcomes:
        print(f"{o.kind:<14} {o.target:<12} {Path(o.path).name}  {o.detail.splitlines()[-1] if o.detail else ''}")
    return 0 if all(o.acceptable for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
