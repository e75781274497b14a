"""The `numpynn` command. Each subcommand is one module here with `add_parser(sub)` and `run(args)`.

Every user error ends with one short line on stderr and exit status 2, never a traceback; a closed pipe ends
a command quietly with 141 (pipes.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import NumpynnError
from . import (
    compare,
    datasets,
    doctor,
    evaluate,
    export,
    gradcheck,
    info,
    inspect,
    lr_find,
    predict,
    serve,
    train,
    tune,
)
from .common import Parser
from .pipes import EXIT_CLOSED_PIPE, PipeWatch, watched_output

# subcommand name -> its module, in the order `numpynn --help` lists them
COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "info": info, "gradcheck": gradcheck,
            "inspect": inspect, "datasets": datasets, "export": export, "serve": serve, "doctor": doctor,
            "lr-find": lr_find, "compare": compare, "tune": tune}


def build_parser() -> Parser:
    from ..version import __version__

    parser = Parser(prog="numpynn", description="Multilayer perceptrons in NumPy.")
    parser.add_argument("--version", action="version", version=f"numpynn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with watched_output() as pipe:
        code = _run(args, pipe)
    return EXIT_CLOSED_PIPE if pipe.closed else code


def _run(args, pipe: PipeWatch) -> int:
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # written past the wrapped streams; the reader has gone: quiet, as pipes.py says
        pipe.closed = True
        return EXIT_CLOSED_PIPE
    except (NumpynnError, ValueError, OSError) as exc:
        print(f"numpynn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if not pipe.closed:
            print("numpynn: interrupted", file=sys.stderr)
        return 130
