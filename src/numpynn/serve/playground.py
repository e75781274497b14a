"""The playground: 2-D data sets, a small network trained by numpynn on the server, and its state as the page
draws it (loss curves, accuracy, the decision boundary on a grid).

A session trains in chunks of a few epochs, either when the page asks for a step or, while playing, in a
thread of its own; the page polls `state`, which is answered from the figures recorded after the last chunk, so
it never waits for a chunk in progress. Work is bounded: a chunk runs at most MAX_STEP_UPDATES optimizer updates
and MAX_STEP_SAMPLES samples, each session stops playing when nobody has asked for its state for a while, and
the oldest session is dropped when too many exist.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NumpynnError
from ..layers import Dense
from ..model import Sequential
from ..optim import build_optimizer
from ..optim.base import OPTIMIZERS
from .validate import ApiError, check_object, get_choice, get_float, get_int

DATASETS = ("xor", "circles", "moons", "spirals")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "linear")
GRID = 40  # the decision boundary is drawn from GRID x GRID predictions
EXTENT = 1.5  # ... over [-EXTENT, EXTENT]^2; the data lie within about [-1.2, 1.2]
MAX_EPOCHS = 100_000  # a playing session stops here
IDLE_SECONDS = 30.0  # a playing session nobody polls stops after this
MAX_SESSIONS = 8
# the most one chunk (a step request, or a chunk while playing) may train: it answers within a few seconds
# whatever was asked; the epochs beyond the bound are not trained, and the answer says so
MAX_STEP_UPDATES = 10_000  # optimizer updates (batches)
MAX_STEP_SAMPLES = 200_000  # samples through the network, forward and backward (samples x epochs)


def make_dataset(name: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points (n, 2) float32 with labels (n,) int64 in 0/1; `noise` is the std of Gaussian jitter."""
    half = n // 2
    if name == "xor":
        X = rng.uniform(-1, 1, (n, 2))
        X += np.sign(X) * 0.1  # a margin around the axes, as in TensorFlow Playground
        y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    elif name == "circles":
        r = np.concatenate([rng.uniform(0, 0.45, half), rng.uniform(0.7, 1.0, n - half)])
        t = rng.uniform(0, 2 * np.pi, n)
        X = np.stack([r * np.cos(t), r * np.sin(t)], 1)
        y = (np.arange(n) >= half).astype(np.int64)
    elif name == "moons":
        t = rng.uniform(0, np.pi, n)
        upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], 1)
        lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], 1)
        X = (np.concatenate([upper, lower]) - [0.5, 0.25]) / 1.5
        y = (np.arange(n) >= half).astype(np.int64)
    elif name == "spirals":
        k = (np.arange(n) >= half).astype(np.int64)
        s = rng.uniform(0, 1, n)
        r, t = 0.05 + 0.95 * s, 3.5 * np.pi * s + np.pi * k
        X = np.stack([r * np.cos(t), r * np.sin(t)], 1)
        y = k
    else:
        raise ValueError(f"unknown data set {name!r}; expected one of {list(DATASETS)}")
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


@dataclass(frozen=True)
class PlaygroundSpec:
    dataset: str
    noise: float
    samples: int
    hidden: tuple[tuple[int, str], ...]
    optimizer: str
    lr: float
    batch_size: int | None
    epochs_per_step: int
    seed: int

    FIELDS = ("dataset", "noise", "samples", "layers", "optimizer", "lr", "batch_size", "epochs_per_step", "seed")

    @classmethod
    def from_json(cls, body: Any) -> PlaygroundSpec:
        """Validate a POST /api/train body (every field optional; see docs/serve.md)."""
        body = check_object(body, cls.FIELDS)
        layers = body.get("layers", [{"units": 4, "activation": "tanh"}])
        if not isinstance(layers, list) or len(layers) > 6:
            raise ApiError(400, f"'layers' must be a list of at most 6 hidden layers, got {str(layers)[:60]}")
        hidden = []
        for i, spec in enumerate(layers):
            spec = check_object(spec, ("units", "activation"), f"layers[{i}]")
            hidden.append((get_int(spec, "units", None, 1, 32), get_choice(spec, "activation", "tanh", ACTIVATIONS)))
        batch = body.get("batch_size", 10)
        samples = get_int(body, "samples", 200, 20, 1000)
        if batch is not None:
            batch = get_int(body, "batch_size", 10, 1, samples)
        return cls(dataset=get_choice(body, "dataset", "xor", DATASETS),
                   noise=get_float(body, "noise", 0.0, 0.0, 0.5), samples=samples, hidden=tuple(hidden),
                   optimizer=get_choice(body, "optimizer", "adam", sorted(OPTIMIZERS)),
                   lr=get_float(body, "lr", 0.03, 0.0, 10.0, open_low=True), batch_size=batch,
                   epochs_per_step=get_int(body, "epochs_per_step", 5, 1, 100),
                   seed=get_int(body, "seed", 0, 0, 2**31 - 1))

    @property
    def updates_per_epoch(self) -> int:
        return 1 if self.batch_size is None else -(-self.samples // self.batch_size)

    def bounded_epochs(self, epochs: int) -> int:
        """How many of `epochs` one chunk trains: all of them, or as many as MAX_STEP_UPDATES and
        MAX_STEP_SAMPLES allow (at least one)."""
        most = min(MAX_STEP_UPDATES // self.updates_per_epoch, MAX_STEP_SAMPLES // self.samples)
        return max(1, min(epochs, most))

    def build(self) -> Sequential:
        """The network: 2 inputs, the hidden layers, one sigmoid output (binary cross-entropy)."""
        widths = [2, *(units for units, _ in self.hidden)]
        layers = [Dense(widths[i], units, act) for i, (units, act) in enumerate(self.hidden)]
        model = Sequential([*layers, Dense(widths[-1], 1)], seed=self.seed)
        model.set_loss("binary_cross_entropy")
        return model


def step_report(spec: PlaygroundSpec, asked: int, trained: int) -> dict[str, Any]:
    """What a step request did: the epochs asked and trained, and why fewer when the bound cut it short."""
    report: dict[str, Any] = {"epochs_asked": asked, "epochs_trained": trained, "limited": trained < asked}
    if trained < asked:
        report["note"] = (f"trained {trained} of the {asked} epochs asked: one step runs at most "
                          f"{MAX_STEP_UPDATES:,} updates and {MAX_STEP_SAMPLES:,} samples, and an epoch here is "
                          f"{spec.updates_per_epoch:,} updates of {spec.samples:,} samples; step again for more")
    return report


class TrainSession:
    """One network learning one data set; every method may be called from any thread.

    Locks: `_train` lets one chunk train at a time; `_figures` guards the recorded figures, held only to
    append or copy them, so `state` answers while a chunk trains; `_control` starts the playing thread."""

    def __init__(self, spec: PlaygroundSpec) -> None:
        self.id = secrets.token_hex(8)
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        X, y = make_dataset(spec.dataset, 2 * spec.samples, spec.noise, rng)  # half to train, half to test
        self.X, self.y, self.X_test, self.y_test = X[: spec.samples], y[: spec.samples], X[spec.samples:], \
            y[spec.samples:]
        self.model = spec.build()
        self.model.optimizer = build_optimizer(spec.optimizer, spec.lr)
        axis = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
        gx, gy = np.meshgrid(axis, axis)  # row r is y = axis[r]: the page flips it to draw y upwards
        self.grid = np.stack([gx.ravel(), gy.ravel()], 1)
        self.curves: dict[str, list[float]] = {"epoch": [], "loss": [], "test_loss": [], "accuracy": [],
                                               "test_accuracy": []}
        self.error: str | None = None
        self._train = threading.Lock()
        self._figures = threading.Lock()
        self._control = threading.Lock()
        self._epoch = 0
        self._boundary = np.zeros(0)
        self._playing = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_seen = time.monotonic()
        self._record()

    def _record(self) -> None:
        """Measure the model as it is now (under `_train`) and publish the figures for `state`."""
        m = self.model
        with np.errstate(over="ignore", invalid="ignore"):  # weights near divergence: the page shows it
            train = m.evaluate(self.X, self.y, metrics=["accuracy"])
            test = m.evaluate(self.X_test, self.y_test, metrics=["accuracy"])
            p1 = m.predict_proba(self.grid)[:, 1]
        boundary = np.round(np.nan_to_num(p1.astype(np.float64), nan=0.5), 3)
        with self._figures:
            for key, value in (("epoch", m.epoch), ("loss", train["loss"]), ("test_loss", test["loss"]),
                               ("accuracy", train["accuracy"]), ("test_accuracy", test["accuracy"])):
                self.curves[key].append(float(value))
            self._epoch, self._boundary = int(m.epoch), boundary

    def step(self, epochs: int | None = None) -> int:
        """Train `epochs` more epochs (default the spec's epochs_per_step), at most what one chunk may
        (PlaygroundSpec.bounded_epochs), and record the figures; returns the epochs trained."""
        epochs = self.spec.bounded_epochs(epochs or self.spec.epochs_per_step)
        with self._train:
            if self.error is not None:
                raise NumpynnError(f"this session stopped: {self.error}")
            try:  # numpynn names a divergence itself: NumPy's overflow warnings would only repeat it
                with np.errstate(over="ignore", invalid="ignore"):
                    self.model.fit(self.X, self.y, epochs=epochs, batch_size=self.spec.batch_size, verbose=0)
            except NumpynnError as exc:  # e.g. a learning rate so high that training diverged
                self.error = str(exc)
                self._playing.clear()
                raise
            self._record()
        return epochs

    def play(self) -> None:
        with self._control:
            if self.error is not None:
                raise NumpynnError(f"this session stopped: {self.error}")
            self.last_seen = time.monotonic()
            if self._playing.is_set():
                return
            self._playing.set()
            self._thread = threading.Thread(target=self._run, name=f"playground-{self.id}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the playing thread to stop after its chunk in progress; returns at once."""
        self._playing.clear()

    def pause(self) -> None:
        """Stop playing; returns once the chunk in progress has finished, so the next state is the last one.
        Call it holding no shared lock: it waits for that chunk."""
        self.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    @property
    def playing(self) -> bool:
        return self._playing.is_set()

    def _run(self) -> None:
        while self._playing.is_set():
            if self.model.epoch >= MAX_EPOCHS or time.monotonic() - self.last_seen > IDLE_SECONDS:
                break
            try:
                self.step()
            except NumpynnError:
                break
            time.sleep(0.005)  # leave the request threads a moment of the interpreter
        self._playing.clear()

    def points(self) -> dict[str, Any]:
        return {"train": {"x": np.round(self.X, 4).tolist(), "y": self.y.tolist()},
                "test": {"x": np.round(self.X_test, 4).tolist(), "y": self.y_test.tolist()}}

    def state(self, since: int = 0) -> dict[str, Any]:
        """The figures recorded so far (curve points from index `since` on) and the decision boundary as of the
        last recorded chunk; never waits for a chunk in progress."""
        self.last_seen = time.monotonic()
        with self._figures:
            curves = {k: v[since:] for k, v in self.curves.items()}
            latest = {k: v[-1] for k, v in self.curves.items()}
            epoch, boundary = self._epoch, self._boundary
        return {"id": self.id, "epoch": epoch, "playing": self.playing, "error": self.error, "since": since,
                "curves": curves, "latest": latest, "grid": GRID, "extent": EXTENT, "boundary": boundary.tolist()}


class Sessions:
    """The playground sessions of one server, at most MAX_SESSIONS (the oldest is dropped first)."""

    def __init__(self) -> None:
        self._sessions: dict[str, TrainSession] = {}
        self._lock = threading.Lock()

    def create(self, spec: PlaygroundSpec) -> TrainSession:
        session = TrainSession(spec)
        with self._lock:
            dropped = []
            while len(self._sessions) >= MAX_SESSIONS:
                dropped.append(self._sessions.pop(next(iter(self._sessions))))
                dropped[-1].stop()
            self._sessions[session.id] = session
        for old in dropped:  # waited for outside the lock: the other sessions answer meanwhile
            old.pause()
        return session

    def get(self, session_id: str) -> TrainSession:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"no playground session {session_id[:40]!r} (it may have been dropped: "
                                f"at most {MAX_SESSIONS} are kept); start one with POST /api/train")
        return session

    def delete(self, session_id: str) -> None:
        self.get(session_id)
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.pause()

    def stop_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.stop()
        for session in sessions:
            session.pause()
