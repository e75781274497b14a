"""One worker process of `numpynn tune --jobs K`: `python -m numpynn.tune.worker INDEX`, the study's spec as JSON
on stdin. Started by workers.run_workers with its thread counts already set in its environment."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from ..errors import NumpynnError
    from .study import StudySpec, run_worker

    index = int(argv[0]) if argv and argv[0].isdigit() else 0
    spec = StudySpec.from_json(sys.stdin.read())
    log = (lambda msg: None) if spec.quiet else \
        (lambda msg: print(f"[worker {index}] {msg}", file=sys.stderr, flush=True))
    try:
        run_worker(spec, index, log=log)
    except NumpynnError as exc:
        print(f"numpynn: error: [worker {index}] {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
