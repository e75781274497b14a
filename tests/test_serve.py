"""`numpynn serve`'s JSON API on a real HTTP server on 127.0.0.1: the draw page's answers, the playground's
training, and the refusals (oversized, malformed and misdirected requests get a 4xx with a message)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import numpynn as nn
from numpynn.config import TrainConfig
from numpynn.data import DATASETS, apply_preprocessing
from numpynn.data.images import mnist_style
from numpynn.serve import DrawModel, ServeError
from numpynn.serve.origin import HostPolicy
from numpynn.serve.playground import (
    MAX_SESSIONS,
    MAX_STEP_SAMPLES,
    MAX_STEP_UPDATES,
    PlaygroundSpec,
    Sessions,
    make_dataset,
)
from numpynn.serve.server import MAX_BODY, MAX_QUERY_FIELDS, PAGES

from .serve_support import RunningServer, as_body, draw_one, draw_zero, train_digit_model


@pytest.fixture(scope="module")
def digit_model():
    return train_digit_model(hidden=32, epochs=1, samples=2000)  # the API's answers, not its accuracy


@pytest.fixture(scope="module")
def server(digit_model):
    running = RunningServer(DrawModel(digit_model))
    yield running
    running.close()


def _raw(server, method, path, body=b"", headers=None):
    """(status, JSON) of a hand-made request, for what urllib would not send."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        conn.putheader(key, value)
    conn.endheaders()
    if body:
        conn.send(body)
    response = conn.getresponse()
    text = response.read()
    conn.close()
    assert b"Traceback" not in text
    return response.status, json.loads(text)


def test_info_names_the_model_and_its_classes(server):
    status, info = server.call("GET", "/api/info")
    assert status == 200
    assert info["model"]["drawable"] and info["model"]["class_names"] == [str(d) for d in range(10)]
    assert info["model"]["layers"] == ["Dense(784\u219232, relu)", "Dense(32\u219210)"]
    assert set(info["playground"]["datasets"]) == {"xor", "circles", "moons", "spirals"}


def test_predict_answers_as_numpynn_predict_would(server, digit_model):
    image = draw_one()
    status, out = server.call("POST", "/api/predict", as_body(image))
    assert status == 200
    # the same preparation as `numpynn predict` on a PNG: mnist_style, then the model's own preprocessing
    digit = mnist_style(image)
    expected = digit_model.predict_proba(apply_preprocessing(digit[None], digit_model.preprocessing))[0]
    assert np.array_equal(np.array(out["input"], dtype=np.uint8), digit)
    assert np.allclose(out["probabilities"], expected, atol=1e-5)
    assert out["prediction"] == int(expected.argmax()) and out["label"] == str(out["prediction"])
    (hidden,) = out["hidden"]
    assert hidden["name"] == "hidden 1: 32 units, relu" and len(hidden["values"]) == 32
    assert min(hidden["values"]) >= 0  # after the ReLU
    units = out["top_units"]
    assert len(units) == 8 and all(len(u["weights"]) == 784 for u in units)
    acts = [u["activation"] for u in units]
    assert acts == sorted(acts, reverse=True) and acts[0] == pytest.approx(max(hidden["values"]), abs=1e-3)
    W = digit_model.layers[0].params["W"][:, units[0]["unit"]]
    assert np.allclose(units[0]["weights"], W / np.abs(W).max(), atol=1e-3)


def test_pixels_may_be_a_list_of_numbers(server):
    image = draw_zero(56)
    via_list = {"width": 56, "height": 56, "pixels": np.round(image * 255).ravel().tolist()}
    s1, a = server.call("POST", "/api/predict", via_list)
    s2, b = server.call("POST", "/api/predict", as_body(image))
    assert s1 == s2 == 200 and a["probabilities"] == b["probabilities"]


BAD_PREDICT_BODIES = [
    ([1, 2, 3], 400, "must be a JSON object"),
    ({"width": 28, "height": 28}, 400, "'pixels' must be a base64 string or a list"),
    ({"width": 28, "height": 28, "pixels": "%%%"}, 400, "not valid base64"),
    ({"width": 28, "height": 28, "pixels": base64.b64encode(bytes(100)).decode()}, 400, "width*height = 784"),
    ({"width": 2, "height": 2, "pixels": [0, 1, "x", 3]}, 400, "list of numbers from 0 to 255"),
    ({"width": 2, "height": 2, "pixels": [0, 1, 2, 300]}, 400, "list of numbers from 0 to 255"),
    ({"width": 2, "height": 2, "pixels": [0, 1, 2]}, 400, "width*height = 4"),
    ({"width": 0, "height": 28, "pixels": ""}, 400, "'width' must be an integer from 1 to 1024, got 0"),
    ({"width": 5000, "height": 28, "pixels": ""}, 400, "'width' must be an integer from 1 to 1024, got 5000"),
    ({"width": True, "height": 28, "pixels": ""}, 400, "'width' must be an integer"),
    ({"width": 28, "height": 28, "pixels": "", "colour": 1}, 400, "unknown field(s) ['colour']"),
    ({"width": 28, "height": 28, "pixels": base64.b64encode(bytes(784)).decode()}, 422, "blank"),
    ({"width": 28, "height": 28, "pixels": base64.b64encode(bytes([255]) * 784).decode()}, 422,
     "the drawing is blank: no digit strokes were found; draw a digit on the canvas"),  # a page, not a flag
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_PREDICT_BODIES)
def test_malformed_predict_bodies_get_a_4xx_with_a_message(server, body, status, message):
    got, out = server.call("POST", "/api/predict", body)
    assert got == status and message in out["error"], out
    assert "--" not in out["error"]  # the page's user has no command line

def test_bodies_that_are_not_json_are_refused(server):
    status, out = server.call("POST", "/api/predict", raw=b'{"width": 28,')
    assert status == 400 and "not valid JSON" in out["error"]
    status, out = server.call("POST", "/api/predict", raw=b"\xff\xfe{}")
    assert status == 400 and "UTF-8" in out["error"]
    status, out = server.call("POST", "/api/predict", raw=b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "nested too deeply" in out["error"]
    status, out = server.call("POST", "/api/predict", raw=b"width=28", headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in out["error"]
    status, out = server.call("POST", "/api/predict", raw=b'{"width": 1' + b"0" * 5000 + b"}")
    assert status == 400 and "not usable JSON" in out["error"]


def test_http_servers_own_refusals_are_json_too(server):
    import socket

    for request, status in ((b"BREW /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501),
                            (b"GET / HTTP/x.y\r\n\r\n", 400), (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        if answer.startswith(b"HTTP/"):
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.split()[1] == str(status).encode(), head
        else:  # a request line it cannot parse is answered the HTTP/0.9 way: the body alone
            body = answer
        assert "error" in json.loads(body)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("HEAD", "/draw")
    response = conn.getresponse()
    assert response.status == 200 and int(response.getheader("Content-Length")) > 0 and response.read() == b""
    conn.close()


def test_oversized_bodies_get_413_before_anything_is_parsed(server):
    status, out = server.call("POST", "/api/predict", raw=b" " * (MAX_BODY + 1))
    assert status == 413 and f"at most {MAX_BODY:,}" in out["error"]
    # a length promised far beyond the limit is refused from the header alone
    status, out = _raw(server, "POST", "/api/predict", headers={"Content-Length": str(10**10)})
    assert status == 413 and "10,000,000,000 bytes" in out["error"]
    status, out = _raw(server, "POST", "/api/predict", headers={"Content-Length": "-5"})
    assert status == 400 and "Content-Length" in out["error"]
    status, out = _raw(server, "POST", "/api/predict", headers={"Content-Length": "\u00b2"})  # a digit to isdigit()
    assert status == 400 and "Content-Length" in out["error"]
    status, out = _raw(server, "POST", "/api/predict", b"0\r\n\r\n", headers={"Transfer-Encoding": "chunked"})
    assert status == 411 and "Content-Length" in out["error"]


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/api.py", "/static/%2e%2e/__init__.py",
                                  "/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/static/", "/draw.html"])
def test_no_request_path_reaches_the_file_system(server, path):
    status, out = _raw(server, "GET", path)
    assert status == 404 and "no page" in out["error"]


def test_pages_are_served_with_a_policy_that_forbids_other_origins(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for path, (_, kind) in PAGES.items():
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and body and response.getheader("Content-Type") == kind
        if kind.startswith("text/html"):
            assert "default-src 'self'" in response.getheader("Content-Security-Policy")
        if kind != "image/svg+xml":  # an SVG names its XML namespace with a URL it never fetches
            assert b"http://" not in body and b"https://" not in body, path  # nothing from the network
    conn.close()


def test_the_page_table_lists_every_static_file():
    from importlib import resources

    shipped = {f.name for f in (resources.files("numpynn.serve") / "static").iterdir() if f.is_file()}
    assert shipped == {name for name, _ in PAGES.values()}


def test_wrong_methods_and_hosts_are_refused(server):
    assert server.call("GET", "/api/predict")[0] == 405
    assert server.call("PUT", "/api/info", {})[0] == 405
    status, out = server.call("GET", "/api/nowhere")
    assert status == 404 and "docs/serve.md" in out["error"]
    status, out = _raw(server, "GET", "/api/info", headers={"Host": "attacker.example:8000"})
    assert status == 403 and "Host" in out["error"]


def test_the_server_answers_only_to_names_no_other_site_controls(server):
    for host in ("127.0.0.1", f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}",
                 f"LOCALHOST:{server.port}"):
        assert _raw(server, "GET", "/api/info", headers={"Host": host})[0] == 200, host
    # a DNS name re-pointed at 127.0.0.1 (DNS rebinding) sends its own name
    for host in (f"127.0.0.1.attacker.example:{server.port}", f"localhost.attacker.example:{server.port}",
                 "attacker.example", f"user@127.0.0.1:{server.port}", "127.0.0.1:http", ""):
        status, out = _raw(server, "GET", "/api/info", headers={"Host": host})
        assert status == 403 and "Host" in out["error"], host
        assert _raw(server, "POST", "/api/train", b"{}", headers={"Host": host, "Content-Length": "2",
                    "Content-Type": "application/json"})[0] == 403, host
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:  # no Host header at all
        sock.sendall(b"GET /api/info HTTP/1.0\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.split()[1] == b"403" and b"Host" in answer


def test_a_server_on_every_interface_answers_to_addresses_and_its_machine_name():
    policy = HostPolicy("0.0.0.0")
    for host in ("192.168.1.20:8000", "[fe80::1]:8000", "127.0.0.1:8000", f"{socket.gethostname()}:8000"):
        assert policy.host_refusal(host) is None, host
    assert "or an IP address" in policy.host_refusal("attacker.example:8000")
    bound = HostPolicy("192.168.1.20")
    assert bound.host_refusal("192.168.1.20:8000") is None and bound.host_refusal("localhost:8000") is None
    assert bound.host_refusal("192.168.1.21:8000") is not None


def test_other_sites_pages_cannot_change_anything(server):
    """A page elsewhere may send simple requests (a form post, a fetch without custom headers) to 127.0.0.1
    without asking first; none of them may create, step, play or drop a session."""
    own = f"http://127.0.0.1:{server.port}"
    sid = server.call("POST", "/api/train", {"samples": 20})[1]["id"]
    foreign = [{"Origin": "http://attacker.example"}, {"Origin": f"http://localhost:{server.port}"},
               {"Origin": f"https://127.0.0.1:{server.port}"}, {"Origin": f"http://127.0.0.1:{server.port + 1}"},
               {"Origin": "null"}, {"Referer": "http://attacker.example/page.html"},
               {"Origin": "http://[::1"}]
    for headers in foreign:
        for kind in ("application/x-www-form-urlencoded", "text/plain", "application/json"):
            for _ in range(MAX_SESSIONS):  # as many as would have dropped every other session
                status, out = _raw(server, "POST", "/api/train", headers={**headers, "Content-Type": kind,
                                                                         "Content-Length": "0"})
                assert status == 403 and "another site" in out["error"], (headers, kind, out)
        assert _raw(server, "POST", f"/api/train/{sid}/play", headers={**headers, "Content-Length": "0"})[0] == 403
        assert _raw(server, "POST", f"/api/train/{sid}/step", b'{"epochs": 5}', headers={
            **headers, "Content-Type": "application/json", "Content-Length": "13"})[0] == 403
        assert _raw(server, "DELETE", f"/api/train/{sid}", headers=headers)[0] == 403
        assert server.call("GET", "/api/info", headers=headers)[0] == 200  # another site cannot read the answer
    state = server.call("GET", f"/api/train/{sid}/state")[1]
    assert state["epoch"] == 0 and not state["playing"]
    # the server's own pages (Origin or Referer of this server), and clients that send neither, are answered
    status, out = server.call("POST", f"/api/train/{sid}/step", {"epochs": 5}, headers={"Origin": own})
    assert status == 200 and out["epoch"] == 5
    assert server.call("POST", f"/api/train/{sid}/pause", headers={"Referer": f"{own}/playground"})[0] == 200
    assert _raw(server, "POST", f"/api/train/{sid}/pause", headers={"Origin": own, "Content-Length": "0"})[0] == 200
    assert server.call("POST", "/api/train", {"samples": 20})[0] == 201


def test_json_routes_refuse_form_content_types_even_without_a_body(server):
    sid = server.call("POST", "/api/train", {"samples": 20})[1]["id"]
    for kind in ("application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "multipart/form-data; b=x"):
        for path in ("/api/train", f"/api/train/{sid}/step", f"/api/train/{sid}/play"):
            status, out = _raw(server, "POST", path, headers={"Content-Type": kind, "Content-Length": "0"})
            assert status == 415 and "application/json" in out["error"], (kind, path)
        status, out = _raw(server, "POST", "/api/train", b"samples=20", headers={"Content-Type": kind,
                                                                                 "Content-Length": "10"})
        assert status == 415, kind
    assert server.call("GET", f"/api/train/{sid}/state")[1]["epoch"] == 0


def test_a_query_of_too_many_fields_is_refused_with_a_message(server):
    sid = server.call("POST", "/api/train", {"samples": 20})[1]["id"]
    many = "&".join(f"f{i}=1" for i in range(MAX_QUERY_FIELDS))
    assert server.call("GET", f"/api/train/{sid}/state?since=0&{many}")[0] == 400
    status, out = server.call("GET", f"/api/train/{sid}/state?{many}")
    assert status == 200 and out["since"] == 0
    status, out = server.call("GET", f"/api/train/{sid}/state?since=0&" + "&" * 500)
    assert status == 400 and f"at most {MAX_QUERY_FIELDS}" in out["error"] and "502 fields" in out["error"]


def _hang_up(port, request):
    """Send `request` and close the connection at once with a reset, as a closed browser tab does."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(request)
    sock.close()


def _request_threads():
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


@pytest.mark.parametrize("quiet", [True, False])
def test_a_client_that_hangs_up_is_not_a_traceback(digit_model, capsys, quiet):
    running = RunningServer(DrawModel(digit_model), quiet=quiet)
    host = f"Host: 127.0.0.1:{running.port}\r\n".encode()
    body = json.dumps(as_body(draw_one(56))).encode()
    try:
        for request in (b"GET /api/nowhere HTTP/1.1\r\n" + host + b"\r\n",  # an error answer
                        b"GET /draw HTTP/1.1\r\n" + host + b"\r\n",  # a page
                        b"GET /api/info HTTP/1.1\r\n" + host,  # while its headers are read
                        b"POST /api/predict HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:100],  # while its body is read
                        b"POST /api/predict HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body):
            for _ in range(3):
                _hang_up(running.port, request)
        deadline = time.monotonic() + 30
        while _request_threads() and time.monotonic() < deadline:  # every hung-up request handled
            time.sleep(0.02)
        assert running.call("GET", "/api/info")[0] == 200
    finally:
        running.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
    # what is logged of a hang-up is one line naming it
    assert all("hung up" in line for line in err.splitlines() if "Error" in line), err
    if quiet:
        assert err == ""


def test_concurrent_requests_are_all_answered(server):
    bodies = [as_body(draw_one()), as_body(draw_zero())]

    def job(i):
        if i % 4 == 3:
            status, out = server.call("POST", "/api/train", {"dataset": "moons", "seed": i})
            return status, out["state"]["epoch"]
        if i % 4 == 2:
            return server.call("GET", "/api/info")[0], None
        status, out = server.call("POST", "/api/predict", bodies[i % 2])
        return status, out["probabilities"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(job, range(32)))
    assert all(status in (200, 201) for status, _ in results)
    # the model's buffers are shared: answers given at the same time must still be each drawing's own
    assert all(results[i][1] == results[i % 2][1] for i in range(32) if i % 4 in (0, 1))


def test_predictions_from_eight_threads_are_each_drawings_serial_answer(server):
    """The draw page's answers while 8 clients draw at once: each request gets exactly what its drawing gets alone."""
    drawings = [as_body(draw_one(size)) for size in (56, 84, 120)] + [as_body(draw_zero(size)) for size in (56, 84)]
    shifted = np.roll(draw_one(84), 12, axis=1)
    drawings += [as_body(shifted), as_body(np.minimum(draw_one(84), draw_zero(84))), as_body(draw_zero(84).T)]
    serial = [server.call("POST", "/api/predict", body)[1] for body in drawings]
    assert len({json.dumps(s["probabilities"]) for s in serial}) > 1  # the drawings are told apart

    def client(k):
        got = []
        for i in range(24):
            j = (k + i) % len(drawings)
            got.append((j, server.call("POST", "/api/predict", drawings[j])))
        return got

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(client, range(8)) for r in batch]
    assert len(results) == 8 * 24
    for j, (status, out) in results:
        assert status == 200 and out == serial[j], j


def test_playground_session_trains_streams_and_stops(server):
    status, created = server.call("POST", "/api/train", {"dataset": "xor", "layers": [{"units": 4,
                                  "activation": "tanh"}], "optimizer": "adam", "lr": 0.1, "samples": 100})
    assert status == 201
    sid, state = created["id"], created["state"]
    assert len(created["points"]["train"]["x"]) == 100 and len(created["points"]["test"]["y"]) == 100
    assert state["epoch"] == 0 and len(state["boundary"]) == state["grid"] ** 2
    status, stepped = server.call("POST", f"/api/train/{sid}/step", {"epochs": 20})
    assert status == 200 and stepped["epoch"] == 20 and stepped["latest"]["loss"] < state["latest"]["loss"]
    assert server.call("POST", f"/api/train/{sid}/play")[1]["playing"]
    deadline = time.monotonic() + 30
    while (s := server.call("GET", f"/api/train/{sid}/state?since=2")[1])["epoch"] < 100:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # only the points after the first two (epochs 0 and 20): playing adds epochs_per_step (5) at a time
    assert s["since"] == 2 and s["curves"]["epoch"][:2] == [25, 30]
    paused = server.call("POST", f"/api/train/{sid}/pause")[1]
    assert not paused["playing"]
    time.sleep(0.2)  # the pause's answer is already the last state: nothing trains after it
    assert server.call("GET", f"/api/train/{sid}/state")[1]["epoch"] == paused["epoch"]
    assert server.call("DELETE", f"/api/train/{sid}")[0] == 200
    status, out = server.call("GET", f"/api/train/{sid}/state")
    assert status == 404 and "POST /api/train" in out["error"]


def test_only_a_bounded_number_of_sessions_is_kept(server):
    ids = [server.call("POST", "/api/train", {"samples": 20})[1]["id"] for _ in range(MAX_SESSIONS + 1)]
    assert server.call("GET", f"/api/train/{ids[0]}/state")[0] == 404
    assert server.call("GET", f"/api/train/{ids[-1]}/state")[0] == 200


@pytest.mark.parametrize(("settings", "epochs"), [
    ({"samples": 1000, "batch_size": 1}, 1000),  # 1,000 updates an epoch
    ({"samples": 1000, "batch_size": None}, 1000),  # one update of 1,000 samples an epoch
    ({"samples": 200, "batch_size": 1}, 1000),
    ({"samples": 100, "batch_size": 10}, 20),  # within the bound: all of it
])
def test_a_step_trains_at_most_a_bounded_amount_and_says_so(server, settings, epochs):
    sid = server.call("POST", "/api/train", settings)[1]["id"]
    updates = 1 if settings["batch_size"] is None else -(-settings["samples"] // settings["batch_size"])
    bound = min(MAX_STEP_UPDATES // updates, MAX_STEP_SAMPLES // settings["samples"])
    expected = min(epochs, bound)
    status, out = server.call("POST", f"/api/train/{sid}/step", {"epochs": epochs})
    assert status == 200 and out["epoch"] == expected and out["curves"]["epoch"][-1] == expected
    report = out["step"]
    assert report["epochs_asked"] == epochs and report["epochs_trained"] == expected
    assert expected * updates <= MAX_STEP_UPDATES and expected * settings["samples"] <= MAX_STEP_SAMPLES
    if expected < epochs:
        assert report["limited"] and f"trained {expected} of the {epochs} epochs asked" in report["note"]
        assert f"{MAX_STEP_UPDATES:,} updates" in report["note"] and "step again" in report["note"]
    else:
        assert not report["limited"] and "note" not in report
    assert server.call("POST", f"/api/train/{sid}/step", {"epochs": epochs})[1]["epoch"] == 2 * expected


def test_state_answers_while_a_step_trains(server, monkeypatch):
    sid = server.call("POST", "/api/train", {"samples": 50})[1]["id"]
    session = server.server.app.sessions.get(sid)
    started, release, trained = threading.Event(), threading.Event(), threading.Event()
    fit = session.model.fit

    def held_fit(*args, **kwargs):  # a step that trains only once the test lets it
        started.set()
        release.wait(10)
        try:
            return fit(*args, **kwargs)
        finally:
            trained.set()

    monkeypatch.setattr(session.model, "fit", held_fit)
    with ThreadPoolExecutor(1) as pool:
        step = pool.submit(server.call, "POST", f"/api/train/{sid}/step", {"epochs": 10})
        assert started.wait(30)
        status, state = server.call("GET", f"/api/train/{sid}/state")
        answered_while_training = not trained.is_set()
        release.set()
        status_step, stepped = step.result()
    assert status == 200 and answered_while_training
    assert state["epoch"] == 0 and len(state["curves"]["loss"]) == 1  # the figures recorded before the step
    assert status_step == 200 and stepped["epoch"] == 10
    assert server.call("GET", f"/api/train/{sid}/state")[1]["epoch"] == 10


def test_dropping_a_session_does_not_hold_up_the_others(monkeypatch):
    """The oldest session is dropped when a new one comes; waiting for its chunk in progress must not keep the
    other sessions from answering."""
    sessions = Sessions()
    spec = PlaygroundSpec.from_json({"samples": 20})
    oldest = sessions.create(spec)
    others = [sessions.create(spec) for _ in range(MAX_SESSIONS - 1)]
    oldest.play()
    answered = []
    pause = oldest.pause

    def slow_pause():  # its chunk in progress finishes only once another session has been looked up
        lookup = threading.Thread(target=lambda: answered.append(sessions.get(others[0].id)))
        lookup.start()
        lookup.join(10)
        pause()

    monkeypatch.setattr(oldest, "pause", slow_pause)
    newest = sessions.create(spec)
    assert answered == [others[0]]
    assert not oldest.playing
    assert sessions.get(newest.id) is newest
    with pytest.raises(Exception, match="no playground session"):
        sessions.get(oldest.id)


@pytest.mark.parametrize(("body", "message"), [
    ({"dataset": "swirl"}, "'dataset' must be one of ['xor', 'circles', 'moons', 'spirals'], got 'swirl'"),
    ({"layers": [{"units": 0}]}, "'units' must be an integer from 1 to 32, got 0"),
    ({"layers": [{"units": 4, "activation": "swish"}]}, "'activation' must be one of"),
    ({"layers": [{"units": 2}] * 7}, "at most 6 hidden layers"),
    ({"layers": "4,4"}, "'layers' must be a list"),
    ({"lr": 0}, "'lr' must be a number above 0 and at most 10, got 0"),
    ({"lr": 11}, "'lr' must be a number above 0 and at most 10, got 11"),
    ({"lr": "fast"}, "'lr' must be a number"),
    ({"optimizer": "lbfgs"}, "'optimizer' must be one of"),
    ({"noise": 2}, "'noise' must be a number from 0 to 0.5, got 2"),
    ({"batch_size": 500, "samples": 100}, "'batch_size' must be an integer from 1 to 100"),
    ({"epochs": 3}, "unknown field(s) ['epochs']"),
])
def test_playground_settings_are_validated(server, body, message):
    status, out = server.call("POST", "/api/train", body)
    assert status == 400 and message in out["error"], out


def test_session_requests_are_validated(server):
    sid = server.call("POST", "/api/train", {"samples": 20})[1]["id"]
    assert "'epochs' must be an integer from 1 to 1000" in server.call("POST", f"/api/train/{sid}/step",
                                                                       {"epochs": 0})[1]["error"]
    status, out = server.call("GET", f"/api/train/{sid}/state?since=-1")
    assert status == 400 and "'since'" in out["error"]
    assert server.call("GET", "/api/train/ffff/state")[0] == 404
    assert server.call("POST", f"/api/train/{sid}/state")[0] == 405


def test_a_diverging_session_reports_its_error(server):
    sid = server.call("POST", "/api/train", {"optimizer": "sgd", "lr": 10.0, "layers": [{"units": 32,
                      "activation": "linear"}] * 6, "noise": 0.5, "batch_size": 1})[1]["id"]
    for _ in range(20):
        status, out = server.call("POST", f"/api/train/{sid}/step", {"epochs": 50})
        if status != 200:
            break
    assert status == 409 and "non-finite" in out["error"], out
    assert server.call("GET", f"/api/train/{sid}/state")[1]["error"]


@pytest.mark.parametrize("name", ["xor", "circles", "moons", "spirals"])
def test_datasets_are_two_balanced_classes_repeatable_by_seed(name):
    X, y = make_dataset(name, 200, 0.0, np.random.default_rng(0))
    assert X.shape == (200, 2) and X.dtype == np.float32 and y.shape == (200,)
    assert abs(int(y.sum()) - 100) <= 30 and np.abs(X).max() < 1.3
    X2, _ = make_dataset(name, 200, 0.0, np.random.default_rng(0))
    assert np.array_equal(X, X2)
    Xn, yn = make_dataset(name, 200, 0.2, np.random.default_rng(0))
    assert np.array_equal(y, yn) and not np.allclose(X, Xn)


def test_a_run_folder_names_its_classes(tmp_path, digit_model):
    digit_model.save(tmp_path / "model.safetensors")
    (tmp_path / "config.toml").write_text(TrainConfig(dataset="fashion-mnist").to_toml())
    draw = DrawModel.load(tmp_path)
    assert draw.class_names == DATASETS["fashion-mnist"].class_names
    assert DrawModel.load(tmp_path / "model.safetensors", ("a",) * 10).class_names == ("a",) * 10
    with pytest.raises(ServeError, match="3 class names given for a model with 10 classes"):
        DrawModel(digit_model, ("a", "b", "c"))
    with pytest.raises(ServeError, match="has no model.safetensors"):
        DrawModel.load(tmp_path.parent)


def test_a_model_that_is_not_of_images_serves_the_playground_only(xor):
    model = nn.Sequential([nn.Dense(2, 3, "tanh"), nn.Dense(3, 1)], seed=0)
    model.set_loss("binary_cross_entropy")
    running = RunningServer(DrawModel(model))
    try:
        info = running.call("GET", "/api/info")[1]["model"]
        assert not info["drawable"] and "not 28x28 images" in info["reason"]
        status, out = running.call("POST", "/api/predict", as_body(draw_one()))
        assert status == 409 and "cannot read drawings" in out["error"]
        assert running.call("POST", "/api/train", {"samples": 20})[0] == 201
    finally:
        running.close()


def test_the_command_prints_its_address_and_stops_on_ctrl_c(tmp_path, digit_model):
    digit_model.save(tmp_path / "model.safetensors")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn.cli", "serve", str(tmp_path), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line and "Ctrl-C stops" in line, line + proc.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/info")
        assert json.loads(conn.getresponse().read())["model"]["name"] == "model.safetensors"
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in out, err


def test_the_command_refuses_what_it_cannot_serve(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    r = subprocess.run([sys.executable, "-m", "numpynn.cli", "serve", str(tmp_path / "nope.safetensors")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "no such model file" in r.stderr and "Traceback" not in r.stderr


def test_every_hidden_layer_is_shown_after_its_activation():
    model = nn.Sequential([nn.Dense(784, 16), nn.Tanh(), nn.Dropout(0.5), nn.Dense(16, 8, "relu"), nn.Dense(8, 10)],
                          seed=0)
    model.set_loss("cross_entropy")
    out = DrawModel(model).predict(draw_zero())
    assert [h["name"] for h in out["hidden"]] == ["hidden 1: 16 units, tanh", "hidden 2: 8 units, relu"]
    normed = nn.Sequential([nn.Dense(784, 16), nn.BatchNorm(16), nn.ReLU(), nn.Dense(16, 10)], seed=0)
    normed.set_loss("cross_entropy")
    (hidden,) = DrawModel(normed).predict(draw_zero())["hidden"]
    assert hidden["name"] == "hidden 1: 16 units, relu" and min(hidden["values"]) >= 0
    first, second = (np.array(h["values"]) for h in out["hidden"])
    assert np.abs(first).max() <= 1 and second.min() >= 0 and len(out["top_units"]) == 8
    # the values are the layers' own: replay the first hidden layer by hand (Dropout does nothing here)
    x = apply_preprocessing(mnist_style(draw_zero())[None], model.preprocessing)
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    assert np.allclose(first, np.tanh(x @ W + b)[0], atol=1e-4)


def test_a_busy_port_says_to_choose_another_or_port_0(tmp_path, capsys):
    from numpynn.cli import main

    nn.build_mlp(784, [4], 10, seed=0).save(tmp_path / "m.safetensors")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(tmp_path / "m.safetensors"), "--port", str(port), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and "--port 0 for a free one" in err and "Errno" not in err
