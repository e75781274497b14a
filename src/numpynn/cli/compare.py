"""`numpynn compare RUN_DIR...`: one self-contained HTML page comparing training runs."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="one HTML page comparing runs: curves overlaid, differing settings, results")
    p.add_argument("run_dirs", type=Path, nargs="+", help="run folders written by `numpynn train`")
    p.add_argument("--out", type=Path, default=Path("compare.html"), help="the page to write")


def run(args) -> int:
    from ..compare import write_compare

    print(write_compare(args.run_dirs, args.out))
    return 0
