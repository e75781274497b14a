"""`numpynn serve`: the learner's lab in the browser (draw a digit for the model, the playground)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="a local web app: draw a digit for a model, watch a network learn")
    p.add_argument("model", type=Path, help="a model file or a run folder (its dataset names the classes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--classes", help="class names, comma-separated (default: the run's dataset's, else 0..k-1)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")


def run(args) -> int:
    from ..errors import NumpynnError
    from ..serve import DrawModel, LabApp, make_server

    if importlib.util.find_spec("PIL") is None:
        raise NumpynnError("the draw page prepares drawings with Pillow: pip install 'numpynn[serve]'")
    if not 0 <= args.port <= 65535:
        raise NumpynnError(f"--port must be from 0 to 65535, got {args.port}")
    names = tuple(n.strip() for n in args.classes.split(",")) if args.classes else None
    draw = DrawModel.load(args.model, names)
    server = make_server(LabApp(draw), args.host, args.port, quiet=args.quiet)
    print(f"numpynn serve: {draw.info()['name']} at {server.url}  (draw: {server.url}draw, "
          f"playground: {server.url}playground; Ctrl-C stops)", flush=True)
    if not draw.drawable:
        print(f"note: the draw page is off: {draw.reason}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("numpynn serve: stopped", flush=True)
    finally:
        server.app.sessions.stop_all()
        server.server_close()
    return 0
