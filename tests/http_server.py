"""A real HTTP server on 127.0.0.1 for download tests: serves bytes per path, and can misbehave on purpose."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        server = self.server
        server.requests.append(self.path)
        mode = server.modes.get(self.path, "ok")
        body = server.files.get(self.path)
        if body is None or mode == "404":
            self.send_error(404, "Not Found")
            return
        if mode == "500":
            self.send_error(500, "Server Error")
            return
        if mode in ("endless", "huge-length"):  # no end (the claimed 10 GB or none): stops when the client hangs up
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if mode == "huge-length":
                self.send_header("Content-Length", str(10 * 2**30))
            self.end_headers()
            self._send_until_hangup(lambda: body or b"\0" * 65536, 0.0)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "close-midway":  # promise the whole file, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "slow":  # the whole file, one byte at a time, `slow_interval` seconds apart
            chunks = iter(body[i:i + 1] for i in range(len(body)))
            self._send_until_hangup(lambda: next(chunks, b""), server.slow_interval)
            return
        self.wfile.write(body)

    def _send_until_hangup(self, next_block, interval: float) -> None:
        self.close_connection = True
        try:
            while (block := next_block()) and not self.server.stopping.is_set():
                self.wfile.write(block)
                self.wfile.flush()
                if interval:
                    time.sleep(interval)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):  # keep test output quiet
        pass


class FileServer:
    """`with FileServer() as s: s.files['/m1/a.gz'] = data; url = s.url('/m1/')`.

    `s.modes[path]` makes one path misbehave: "404", "500", "close-midway" (half the promised bytes), "slow"
    (a byte every `s.slow_interval` seconds), "endless" (no Content-Length, no end), "huge-length" (claims 10 GB,
    no end).
    """

    def __init__(self, slow_interval: float = 0.2) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files, self.httpd.modes, self.httpd.requests = {}, {}, []
        self.httpd.slow_interval, self.httpd.stopping = slow_interval, threading.Event()
        self.files, self.modes, self.requests = self.httpd.files, self.httpd.modes, self.httpd.requests
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.stopping.set()  # endless and slow handlers end too
        self.httpd.shutdown()
        self.httpd.server_close()
