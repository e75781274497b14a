"""Write the seed corpus of the model-file targets (fuzz/corpus/load, fuzz/corpus/read_header).

Small files: a valid model of each kind, and one file for each class of hostile input numpynn has been shown
(issue #14); `make test` replays them all. Run it again after a change to the file format:
    python fuzz/make_corpus.py
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from targets_model import _rebuild, _split  # noqa: E402

import numpynn as nn  # noqa: E402


def _models() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    out = {}
    tmp = HERE / ".corpus-tmp.safetensors"
    plain = nn.Sequential([nn.Dense(4, 5, "relu"), nn.Dense(5, 3)], seed=0)
    plain.fit(X, y, epochs=2, batch_size=20, verbose=0, metrics=["accuracy"])
    plain.preprocessing = {"normalize": "standardize", "mean": 0.1, "std": 1.5, "input_shape": [4]}
    for name, model, opt in [("valid-adam", plain, True), ("valid-weights-only", plain, False)]:
        model.save(tmp, include_optimizer=opt)
        out[name] = tmp.read_bytes()
    bn = nn.Sequential([nn.Flatten(input_shape=(2, 2)), nn.Dense(4, 3), nn.BatchNorm(), nn.Dropout(0.2),
                        nn.Dense(3, 1)], seed=1)
    bn.fit(X.reshape(-1, 2, 2), (y > 0).astype(int), optimizer=nn.SGD(0.1, momentum=0.9), epochs=1,
           batch_size=20, verbose=0)
    bn.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [2, 2]}
    bn.save(tmp)
    out["valid-batchnorm-sgd"] = tmp.read_bytes()
    tmp.unlink()
    return out


def _edit(data: bytes, edit=None, text=None, tensors=None) -> bytes:
    header, meta, payload = _split(data)
    if edit is not None:
        edit(meta)
    meta_json = json.dumps(meta, allow_nan=True)
    if text is not None:
        meta_json = text(meta_json)
    if tensors is not None:
        payload = tensors(header, bytearray(payload))
    return _rebuild(header, meta_json, payload)


def _nan_first_weight(header, payload):
    b = header["0.W"]["data_offsets"][0]
    payload[b:b + 4] = struct.pack("<f", float("nan"))
    return bytes(payload)


def main() -> None:
    valid = _models()
    adam, bn = valid["valid-adam"], valid["valid-batchnorm-sgd"]

    def put(keys, value):
        def edit(m):
            for k in keys[:-1]:
                m = m[k]
            m[keys[-1]] = value
        return edit

    crafted = {
        "history-list": _edit(adam, put(["training", "history"], [1])),
        "history-epochs-list": _edit(adam, put(["training", "history"], {"epochs": [1]})),
        "pcg64-2e200": _edit(adam, put(["training", "rng", "state", "state"], 2**200)),
        "pcg64-negative": _edit(adam, put(["training", "rng", "state", "inc"], -1)),
        "epoch-true": _edit(adam, put(["training", "epoch"], True)),
        "iterations-negative": _edit(adam, put(["training", "optimizer", "iterations"], -1)),
        "iterations-infinity": _edit(adam, text=lambda t: t.replace('"iterations": ', '"iterations": Infinity, "x": ')),
        "lr-scale-negative": _edit(adam, put(["training", "optimizer", "lr_scale"], -1)),
        "format-version-string": _edit(adam, put(["format_version"], "1")),
        "preprocessing-no-mean": _edit(adam, put(["preprocessing"], {"normalize": "standardize", "std": 1.0})),
        "preprocessing-max-0": _edit(adam, put(["preprocessing"], {"normalize": "scale", "max_value": 0})),
        "preprocessing-std-text": _edit(adam, put(["preprocessing", "std"], "abc")),
        "nan-weight": _edit(adam, tensors=_nan_first_weight),
        "deep-metadata": _edit(adam, text=lambda t: "[" * 5000 + "]" * 5000),
        "digits-5000": _edit(adam, text=lambda t: t.replace('"seed": 0', '"seed": ' + "9" * 5000)),
        "flatten-infinity": _edit(bn, text=lambda t: t.replace('"input_shape": [2, 2]}', '"input_shape": [Infinity]}',
                                                               1)),
        "batchnorm-eps-nan": _edit(bn, put(["model", "layers", 2, "config", "eps"], float("nan"))),
        "dense-huge": _edit(adam, put(["model", "layers", 0, "config", "out_features"], 10**12)),
        "input-shape-huge": _edit(adam, put(["preprocessing", "input_shape"], [2**31, 2**31])),
    }
    corrupt = {
        "truncated": adam[: len(adam) // 2],
        "header-length-2e62": struct.pack("<Q", 2**62) + adam[8:200],
        "flipped-byte": adam[:300] + bytes([adam[300] ^ 0x10]) + adam[301:],
        "empty": b"",
        "seven-bytes": b"\x10\0\0\0\0\0\0",
    }
    headers = {
        "shape-5000-digits": b'{"w": {"dtype": "F32", "shape": [' + b"7" * 5000 + b'], "data_offsets": [0, 4]}}',
        "deep-header": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "offsets-2e70": b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, ' + str(2**70).encode() + b"]}}",
        "infinity-shape": b'{"w": {"dtype": "F32", "shape": [Infinity], "data_offsets": [0, 4]}}',
    }
    for target, files in {"load": {**valid, **crafted, **corrupt},
                          "read_header": {**{k: v for k, v in valid.items() if k == "valid-adam"}, **corrupt}}.items():
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / f"{name}.safetensors").write_bytes(data)
        for name, h in headers.items():
            (folder / f"{name}.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + b"\0" * 4)


if __name__ == "__main__":
    main()
