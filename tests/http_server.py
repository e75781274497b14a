"""A real HTTP server on 127.0.0.1 for download tests: serves bytes per path, and can misbehave on purpose."""

from __future__ import annotations

import threading
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
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "close-midway":  # promise the whole file, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


class FileServer:
    """`with FileServer() as s: s.files['/m1/a.gz'] = data; url = s.url('/m1/')`."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files, self.httpd.modes, self.httpd.requests = {}, {}, []
        self.files, self.modes, self.requests = self.httpd.files, self.httpd.modes, self.httpd.requests
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
