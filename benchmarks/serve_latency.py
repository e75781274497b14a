"""How long `numpynn serve` takes to answer, over real HTTP on 127.0.0.1: one drawing on the draw page (and, side
by side in the same run, the parts of it: the MNIST-style preparation and the model's forward pass), one row and
1,000 rows on the form page of a penguins model (and the parts: the cells checked into a Frame, the table's
preparation, the forward pass), and the playground's training speed and state polls. Medians of repeated requests.

    python benchmarks/serve_latency.py
"""

from __future__ import annotations

import base64
import json
import statistics
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn.data import apply_preprocessing
from numpynn.data.images import mnist_style
from numpynn.serve import DrawModel, FormModel, LabApp, make_server
from numpynn.serve.rows import frame_of, rows_of

PENGUINS = Path(__file__).resolve().parents[1] / "tests" / "data" / "penguins.csv"


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def _post(url: str, body) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def form_latency() -> None:
    """The form page's endpoint for a 15-64-3 model of the penguins table: one row, and 1,000 rows."""
    (X, y), _, prep = nn.tables.load(PENGUINS, label_column="species")
    model = nn.build_mlp(X.shape[1], [64], 3)
    model.preprocessing = {**prep, "input_shape": [X.shape[1]]}
    model.fit(X, y, epochs=5, verbose=0)
    served = FormModel(model)
    server = make_server(LabApp(served), port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = server.url + "api/table/predict"
    row = {"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0, "flipper_length_mm": 217,
           "body_mass_g": 5200, "sex": "male", "year": 2008}
    rows = [dict(row, body_mass_g=3000 + i) for i in range(1000)]
    _post(url, row)
    one = _median_ms(lambda: _post(url, row), 50)
    in_process = _median_ms(lambda: served.predict(row), 50)
    many = _median_ms(lambda: _post(url, rows), 10)
    checked = _median_ms(lambda: frame_of(rows_of(rows)[0], served.fields, served.ignored, False), 10)
    frame = frame_of(rows, served.fields, served.ignored, False)
    prepared = _median_ms(lambda: nn.tables.prepare(frame, served.prep), 10)
    Xf = nn.tables.prepare(frame, served.prep)
    forward = _median_ms(lambda: model.predict_proba(Xf), 10)
    print(f"/api/table/predict, penguins on 15-64-3: one row {one:.1f} ms per request over HTTP (in process "
          f"{in_process:.2f} ms); 1,000 rows {many:.1f} ms (in process: the cells checked into a Frame {checked:.1f} "
          f"ms, prepare {prepared:.1f} ms, predict_proba {forward:.2f} ms)")
    server.shutdown()


def main() -> int:
    (X, y), _ = nn.datasets.load("mnist-sample")
    model = nn.Sequential([nn.Dense(784, 512, "relu"), nn.Dense(512, 256, "relu"), nn.Dense(256, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0}
    model.fit(X[:2000], y[:2000], epochs=1, batch_size=128, verbose=0)  # the `make demo` shape; weights matter little
    server = make_server(LabApp(DrawModel(model)), port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = server.url.rstrip("/")

    def call(method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    image = np.ones((280, 280), np.float32)
    rows, cols = np.indices(image.shape)
    image[(((rows - 140) / 95) ** 2 + ((cols - 140) / 62) ** 2 - 1) ** 2 < 0.08] = 0  # a "0"
    body = {"width": 280, "height": 280, "pixels": base64.b64encode((image * 255).astype(np.uint8).tobytes()).decode()}
    call("POST", "/api/predict", body)
    draw = server.app.draw
    whole = _median_ms(lambda: call("POST", "/api/predict", body), 50)
    answer = _median_ms(lambda: draw.predict(image), 50)  # everything the page shows, in process
    prepare = _median_ms(lambda: mnist_style(image), 50)
    x = apply_preprocessing(mnist_style(image)[None], model.preprocessing)
    forward = _median_ms(lambda: model.predict_proba(x), 50)
    result = draw.predict(image)
    encode = _median_ms(lambda: json.dumps(result), 50)
    print(f"/api/predict, a 280x280 drawing, 784-512-256-10: {whole:.1f} ms per request over HTTP; in process "
          f"the answer {answer:.1f} ms (mnist_style {prepare:.1f} ms, predict_proba {forward:.2f} ms), "
          f"its JSON {encode:.1f} ms")

    sid = call("POST", "/api/train", {"dataset": "spirals", "layers": [{"units": 8, "activation": "tanh"}] * 2})["id"]
    t = time.perf_counter()
    for _ in range(10):
        call("POST", f"/api/train/{sid}/step", {"epochs": 20})
    rate = 200 / (time.perf_counter() - t)
    poll = _median_ms(lambda: call("GET", f"/api/train/{sid}/state?since=1000"), 30)
    print(f"playground, spirals on 2-8-8-1 tanh, 200 points in batches of 10: {rate:.0f} epochs/s; "
          f"a state poll (40x40 boundary) {poll:.1f} ms")
    server.shutdown()
    form_latency()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
