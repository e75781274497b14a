"""How long `numpynn serve` takes to answer, over real HTTP on 127.0.0.1: one drawing on the draw page (and, side
by side in the same run, the parts of it: the MNIST-style preparation and the model's forward pass), and the
playground's training speed and state polls. Medians of repeated requests.

    python benchmarks/serve_latency.py
"""

from __future__ import annotations

import base64
import json
import statistics
import threading
import time
import urllib.request

import numpy as np

import numpynn as nn
from numpynn.data import apply_preprocessing
from numpynn.data.images import mnist_style
from numpynn.serve import DrawModel, LabApp, make_server


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
