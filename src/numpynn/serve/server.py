"""The HTTP server of `numpynn serve`: the standard library's ThreadingHTTPServer, the pages from a fixed list
of package files, and the JSON API of api.py.

A local app for one learner needs no framework: a thread per request (a slow training step never blocks a
page), bounded request bodies and query strings, errors as JSON, and the checks of origin.py on whom it answers.
No request path is ever joined to a file-system path. A client that hangs up is one log line, not a traceback.
"""

from __future__ import annotations

import errno
import json
import re
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import LabApp
from .origin import SAFE_METHODS, HostPolicy, origin_refusal
from .validate import ApiError

MAX_BODY = 2 * 1024 * 1024  # bytes: a 1024x1024 drawing in base64 fits
DISCARD_LIMIT = 16 * 1024 * 1024  # an oversized body up to this is read and dropped, so the client sees the 413
MAX_QUERY_FIELDS = 10

# URL path -> (file in serve/static, content type): the only files the server reads
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/draw": ("draw.html", "text/html; charset=utf-8"),
    "/form": ("form.html", "text/html; charset=utf-8"),
    "/playground": ("playground.html", "text/html; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
    "/static/common.js": ("common.js", "text/javascript; charset=utf-8"),
    "/static/draw.js": ("draw.js", "text/javascript; charset=utf-8"),
    "/static/form.js": ("form.js", "text/javascript; charset=utf-8"),
    "/static/playground.js": ("playground.js", "text/javascript; charset=utf-8"),
    "/static/icon.svg": ("icon.svg", "image/svg+xml"),
}
# the pages load nothing from anywhere else, and run no inline script
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def load_pages() -> dict[str, tuple[bytes, str]]:
    """The bytes of every page, read once from the package."""
    root = resources.files("numpynn.serve") / "static"
    return {url: ((root / name).read_bytes(), kind) for url, (name, kind) in PAGES.items()}


class LabServer(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C never waits for a request thread
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: LabApp, *, quiet: bool = False) -> None:
        self.app, self.quiet, self.pages = app, quiet, load_pages()
        super().__init__(address, LabHandler)
        self.hosts = HostPolicy(address[0])

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def shutdown(self) -> None:
        self.app.sessions.stop_all()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (while its request was read, or its answer written) is one line in the log;
        anything else is a bug, logged with its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            if not self.quiet:
                sys.stderr.write(f"{client_address[0]} hung up ({type(exc).__name__})\n")
            return
        super().handle_error(request, client_address)


class LabHandler(BaseHTTPRequestHandler):
    server: LabServer
    timeout = 30  # seconds a connection may stay silent: a stalled client cannot hold a thread forever
    server_version = "numpynn-serve"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("GET")  # the headers of a GET; _send leaves the body out

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        self._unread = True  # the body, if any, is still in the connection
        try:
            try:
                self._check_sender(method)
                url = urlsplit(self.path)
                if not url.path.startswith("/api/"):
                    return self._page(method, url.path)
                status, payload = self.server.app.handle(method, url.path, _query(url.query), self._body(method))
                self._json(status, payload)
            except ApiError as exc:
                self._drain()
                self._json(exc.status, {"error": exc.message})
            except (TimeoutError, ConnectionError):
                raise
            except Exception as exc:  # a bug: the client gets JSON, the terminal the traceback
                traceback.print_exc(file=sys.stderr)
                self._json(500, {"error": f"internal error ({type(exc).__name__}); the server's log has the details"})
        except (TimeoutError, ConnectionError) as exc:  # the client stalled or went away: nobody to answer
            self.close_connection = True
            self.log_message("hung up (%s)", type(exc).__name__)

    def _check_sender(self, method: str) -> None:
        """Refuse a request reaching the server through a name another site controls (403), and a
        state-changing request sent by another site's page (403); see origin.py."""
        host = self.headers.get("Host")
        refusal = self.server.hosts.host_refusal(host)
        if refusal is None:
            refusal = origin_refusal(method, host, self.headers.get("Origin"), self.headers.get("Referer"))
        if refusal is not None:
            raise ApiError(403, refusal)

    def _page(self, method: str, path: str) -> None:
        page = self.server.pages.get(path)
        if page is None:
            raise ApiError(404, f"no page {path[:80]!r}; the pages are {sorted(PAGES)[:3]}")
        if method != "GET":
            raise ApiError(405, f"pages take GET, got {method}")
        data, kind = page
        self._send(200, data, kind, {"Content-Security-Policy": CSP} if kind.startswith("text/html") else {})

    def _body(self, method: str) -> Any:
        """The request's JSON body (None when it has none), read only after its size is known and allowed.

        A state-changing request that names any Content-Type but JSON is refused even without a body: a form on
        another site's page posts `application/x-www-form-urlencoded` or `text/plain` without asking first."""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method not in SAFE_METHODS and self.headers.get("Content-Type") is not None and kind != "application/json":
            raise ApiError(415, f"send the body as application/json, got {kind[:60]!r}")
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(411, "send the body with a Content-Length, not chunked")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return None
        if not re.fullmatch(r"[0-9]{1,12}", length_text.strip()):  # isdigit() takes '²' too
            raise ApiError(400, f"Content-Length must be a non-negative integer, got {length_text[:20]!r}")
        length = int(length_text)
        if length > MAX_BODY:
            self.close_connection = True
            if length <= DISCARD_LIMIT:
                self._discard(length)
            self._unread = False
            raise ApiError(413, f"the request body is {length:,} bytes; at most {MAX_BODY:,} are accepted")
        data = self.rfile.read(length)
        self._unread = False
        if len(data) != length:
            raise ApiError(400, f"the body ended after {len(data):,} of {length:,} bytes")
        if not data:
            return None
        if kind != "application/json":
            raise ApiError(415, f"send the body as application/json, got {kind or 'no Content-Type'!r}")
        try:
            return json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, "the body is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
                from None
        except RecursionError:
            raise ApiError(400, "the body's JSON is nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise ApiError(400, f"the body is not usable JSON: {str(exc)[:120]}") from None

    def _drain(self) -> None:
        """Read and drop a refused request's body not yet read (up to DISCARD_LIMIT), so that the client, still
        sending it, reads the refusal instead of a reset connection."""
        self.close_connection = True
        length = (self.headers.get("Content-Length") or "").strip()
        if self._unread and not self.headers.get("Transfer-Encoding") and re.fullmatch(r"[0-9]{1,12}", length) \
                and int(length) <= DISCARD_LIMIT:
            self._discard(int(length))
        self._unread = False

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _send(self, status: int, data: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, an unknown method, huge headers) as JSON too."""
        self.close_connection = True
        try:
            self._json(code, {"error": message or HTTPStatus(code).phrase})
        except ValueError:  # an unknown status code
            super().send_error(code, message, explain)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _query(text: str) -> dict[str, str]:
    """A query string's fields (the first value of each); at most MAX_QUERY_FIELDS."""
    fields = 1 + text.count("&") if text else 0  # as parse_qs counts them
    if fields > MAX_QUERY_FIELDS:
        raise ApiError(400, f"the query has {fields} fields; at most {MAX_QUERY_FIELDS} are accepted")
    return {k: v[0] for k, v in parse_qs(text, max_num_fields=MAX_QUERY_FIELDS).items()}


def make_server(app: LabApp, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = False) -> LabServer:
    """A server for `app` bound to (host, port); port 0 picks a free one. Call serve_forever() to run it.
    A port in use is a ServeError that says how to choose another."""
    try:
        return LabServer((host, port), app, quiet=quiet)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        from .draw import ServeError

        raise ServeError(f"port {port} on {host} is in use (another numpynn serve?); choose another with "
                         f"--port N, or --port 0 for a free one (make_server(..., port=0) from Python)") from None
