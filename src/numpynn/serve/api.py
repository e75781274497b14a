"""The JSON API under the pages: routes -> handlers, each returning (status, JSON-able object).

Nothing here reads the file system: the served model was loaded at start, and the pages are served by the
server from a fixed list of package files. See docs/serve.md for every route.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import numpy as np

from ..checks import in_range
from ..data.images import BlankImageError
from ..errors import NumpynnError
from .draw import DrawModel
from .form import FormModel
from .playground import ACTIVATIONS, DATASETS, MAX_SESSIONS, PlaygroundSpec, Sessions, step_report
from .validate import ApiError, check_object, get_int

MAX_SIDE = 1024  # the largest drawing, in pixels per side
_SESSION = re.compile(r"^/api/train/([0-9a-f]{1,64})(?:/(state|step|play|pause))?$")


def decode_image(body: Any) -> np.ndarray:
    """A /api/predict body -> the drawing (h, w) float32 in [0, 1].

    `pixels` is the greyscale image row by row, 0-255: base64 of width*height bytes, or a list of numbers."""
    body = check_object(body, ("width", "height", "pixels"))
    w, h = get_int(body, "width", None, 1, MAX_SIDE), get_int(body, "height", None, 1, MAX_SIDE)
    pixels = body.get("pixels")
    if isinstance(pixels, str):
        try:
            raw = np.frombuffer(base64.b64decode(pixels, validate=True), dtype=np.uint8)
        except (binascii.Error, ValueError):
            raise ApiError(400, "'pixels' is not valid base64") from None
        image = raw.astype(np.float32)
    elif isinstance(pixels, list):
        if len(pixels) != w * h:  # checked before converting: never a huge array from a short promise
            raise ApiError(400, f"'pixels' must hold width*height = {w * h} values, got {len(pixels)}")
        if not all(in_range(p, 0, 255) for p in pixels):
            raise ApiError(400, "'pixels' must be a list of numbers from 0 to 255")
        image = np.asarray(pixels, dtype=np.float32)
    else:
        raise ApiError(400, f"'pixels' must be a base64 string or a list of numbers, got {type(pixels).__name__}")
    if image.size != w * h:
        raise ApiError(400, f"'pixels' must hold width*height = {w * h} values, got {image.size}")
    return image.reshape(h, w) / 255.0


class LabApp:
    """The web app's state: the one served model (of images, for the draw page, or of a table, for the form page)
    and the playground sessions."""

    def __init__(self, model: DrawModel | FormModel | None) -> None:
        self.draw = model if isinstance(model, DrawModel) else None
        self.form = model if isinstance(model, FormModel) else None
        self.sessions = Sessions()

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Answer one API request; raises ApiError for anything refused."""
        if path == "/api/info":
            self._method(method, "GET")
            return 200, self.info()
        if path == "/api/predict":
            self._method(method, "POST")
            return 200, self.predict(body)
        if path == "/api/table/predict":
            self._method(method, "POST")
            return 200, self.predict_rows(body)
        if path == "/api/train":
            self._method(method, "POST")
            session = self.sessions.create(PlaygroundSpec.from_json(body if body is not None else {}))
            return 201, {"id": session.id, "points": session.points(), "state": session.state()}
        match = _SESSION.match(path)
        if match is None:
            raise ApiError(404, f"no API route {path[:80]!r}; see docs/serve.md")
        session_id, action = match.groups()
        if action is None:
            self._method(method, "DELETE")
            self.sessions.delete(session_id)
            return 200, {"deleted": session_id}
        session = self.sessions.get(session_id)
        if action == "state":
            self._method(method, "GET")
            since = query.get("since", "0")
            if not since.isdigit() or len(since) > 9:
                raise ApiError(400, f"'since' must be a non-negative integer, got {since[:20]!r}")
            return 200, session.state(int(since))
        self._method(method, "POST")
        try:
            if action == "step":
                body = check_object(body if body is not None else {}, ("epochs",))
                asked = get_int(body, "epochs", session.spec.epochs_per_step, 1, 1000)
                trained = session.step(asked)
                return 200, {**session.state(), "step": step_report(session.spec, asked, trained)}
            if action == "play":
                session.play()
            else:
                session.pause()
        except NumpynnError as exc:
            raise ApiError(409, str(exc)) from None
        return 200, session.state()

    @staticmethod
    def _method(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, f"this route takes {allowed}, got {method}")

    def info(self) -> dict[str, Any]:
        served = self.draw if self.draw is not None else self.form
        return {"model": served.info() if served is not None else None,
                "playground": {"datasets": list(DATASETS), "activations": list(ACTIVATIONS),
                               "optimizers": sorted(_optimizers()), "max_sessions": MAX_SESSIONS}}

    def predict(self, body: Any) -> dict[str, Any]:
        if self.form is not None:
            raise ApiError(409, "the served model was trained on a table: POST its rows to /api/table/predict "
                                "(the form page, /form, does)")
        if self.draw is None:
            raise ApiError(409, "no model is served; start `numpynn serve MODEL` to use the draw page")
        if not self.draw.drawable:
            raise ApiError(409, f"the served model cannot read drawings: {self.draw.reason}")
        image = decode_image(body)
        try:
            return self.draw.predict(image)
        except BlankImageError:  # what the page's user can do, not the command line's flags
            raise ApiError(422, "the drawing is blank: no digit strokes were found; draw a digit on the canvas "
                                "(or send an image whose strokes differ from its background)") from None
        except NumpynnError as exc:
            raise ApiError(422, str(exc)) from None

    def predict_rows(self, body: Any) -> dict[str, Any]:
        if self.form is None:
            what = "a model of images: draw on /draw" if self.draw is not None else "no model"
            raise ApiError(409, f"the form takes rows for a model trained on a table; this server serves {what}")
        try:
            return self.form.predict(body)
        except NumpynnError as exc:  # rows.py checks every cell first: a refusal here is the model's own
            raise ApiError(422, str(exc)) from None


def _optimizers() -> list[str]:
    from ..optim.base import OPTIMIZERS

    return list(OPTIMIZERS)
