"""What the serve tests share: a model trained quickly on the bundled sample, a running server, drawn digits, a
table model trained from its CSV."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

import numpynn as nn
from numpynn.serve import DrawModel, FormModel, LabApp, make_server


def train_digit_model(hidden: int = 64, epochs: int = 3, samples: int = 8000) -> nn.Sequential:
    """A 784-hidden-10 ReLU network trained on the bundled MNIST sample (~92 % test accuracy in a few seconds)."""
    (X, y), _ = nn.datasets.load("mnist-sample")
    model = nn.Sequential([nn.Dense(784, hidden, "relu"), nn.Dense(hidden, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    model.fit(X[:samples], y[:samples], optimizer=nn.Adam(2e-3), epochs=epochs, batch_size=128, verbose=0)
    return model


class RunningServer:
    """A LabServer on a free port of 127.0.0.1, serving in a thread until `close`."""

    def __init__(self, model: DrawModel | FormModel | None, *, quiet: bool = True) -> None:
        self.server = make_server(LabApp(model), "127.0.0.1", 0, quiet=quiet)
        self.url = self.server.url
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON) of one request; `raw` sends bytes as they are instead of JSON."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            text = exc.read()
            assert b"Traceback" not in text
            return exc.code, json.loads(text)


def draw_one(size: int = 280) -> np.ndarray:
    """A "1": a slightly slanted vertical stroke, black ink on white, (size, size) in [0, 1]."""
    img = np.ones((size, size), np.float32)
    s = size / 280
    for t in np.linspace(0, 1, 200):
        r, c = int((50 + 180 * t) * s), int((150 - 15 * t) * s)
        img[max(r - int(9 * s), 0):r + int(9 * s), max(c - int(9 * s), 0):c + int(9 * s)] = 0.0
    return img


def draw_zero(size: int = 280) -> np.ndarray:
    """A "0": an upright ellipse, black ink on white, (size, size) in [0, 1]."""
    rows, cols = np.indices((size, size)) / size * 280
    ring = ((rows - 140) / 95) ** 2 + ((cols - 140) / 62) ** 2
    return np.where((ring > 0.72) & (ring < 1.28), 0.0, 1.0).astype(np.float32)


def as_body(image: np.ndarray) -> dict[str, Any]:
    import base64

    grey = np.round(image * 255).astype(np.uint8)
    return {"width": grey.shape[1], "height": grey.shape[0], "pixels": base64.b64encode(grey.tobytes()).decode()}


def train_table_model(csv_path, out, label: str, epochs: int = 5, *options: str) -> Path:
    """The model file `numpynn train` writes for a CSV (a few epochs; the serve tests need its answers, not its
    accuracy); `options`: more of train's flags."""
    from numpynn.cli import main

    code = main(["train", "--dataset", str(csv_path), "--label-column", label, "--out", str(out), "--epochs",
                 str(epochs), "--no-doctor", "--quiet", "--no-report", *options])
    assert code == 0
    return Path(out) / "model.safetensors"
