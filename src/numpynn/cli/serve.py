"""`numpynn serve`: the learner's lab in the browser (draw a digit for the model, or fill in a row for a model of
a table; the playground)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="a local web app: draw a digit or fill in a row for a model; watch a net learn")
    p.add_argument("model", type=Path, help="a model file or a run folder (its dataset names the classes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--classes", help="class names, comma-separated (default: the run's dataset's, else 0..k-1)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")


def run(args) -> int:
    from ..errors import NumpynnError
    from ..serve import DrawModel, LabApp, load_served, make_server

    if not 0 <= args.port <= 65535:
        raise NumpynnError(f"--port must be from 0 to 65535, got {args.port}")
    names = tuple(n.strip() for n in args.classes.split(",")) if args.classes else None
    served = load_served(args.model, names)
    if isinstance(served, DrawModel) and importlib.util.find_spec("PIL") is None:
        raise NumpynnError("the draw page prepares drawings with Pillow: pip install 'numpynn[serve]'")
    server = make_server(LabApp(served), args.host, args.port, quiet=args.quiet)
    page = "draw" if isinstance(served, DrawModel) else "form"
    print(f"numpynn serve: {served.info()['name']} at {server.url}  ({page}: {server.url}{page}, "
          f"playground: {server.url}playground; Ctrl-C stops)", flush=True)
    if isinstance(served, DrawModel) and not served.drawable:
        print(f"note: the draw page is off: {served.reason}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("numpynn serve: stopped", flush=True)
    finally:
        server.app.sessions.stop_all()
        server.server_close()
    return 0
