"""Checks for the JSON bodies the API accepts: each failure is an ApiError with a 4xx status and a message that
says what was expected and what came."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checks import in_range


class ApiError(Exception):
    """A request the API refuses; answered as {"error": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_object(body: Any, allowed: Sequence[str], what: str = "the request body") -> dict[str, Any]:
    """`body` as a JSON object whose keys are all in `allowed`."""
    if not isinstance(body, dict):
        raise ApiError(400, f"{what} must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, f"unknown field(s) {unknown} in {what}; expected some of {list(allowed)}")
    return body


def get_int(body: dict[str, Any], key: str, default: int | None, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if not in_range(value, lo, hi, integer=True):
        raise ApiError(400, f"{key!r} must be an integer from {lo} to {hi}, got {_shown(value)}")
    return value


def get_float(body: dict[str, Any], key: str, default: float | None, lo: float, hi: float,
              *, open_low: bool = False) -> float:
    value = body.get(key, default)
    if not in_range(value, lo, hi, open_lo=open_low):
        span = f"above {lo:g} and at most {hi:g}" if open_low else f"from {lo:g} to {hi:g}"
        raise ApiError(400, f"{key!r} must be a number {span}, got {_shown(value)}")
    return float(value)


def get_choice(body: dict[str, Any], key: str, default: str | None, choices: Sequence[str]) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise ApiError(400, f"{key!r} must be one of {list(choices)}, got {_shown(value)}")
    return value
