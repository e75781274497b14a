"""numpynn.checks: what counts as an integer or a number, ranges, and the one refusal of an unknown name."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numpynn as nn
from numpynn.checks import in_range, is_int, is_real, lookup


@pytest.mark.parametrize("v", [0, 7, -3, np.int64(2), np.uint8(200), np.int32(-1)])
def test_python_and_numpy_integers_are_integers(v):
    assert is_int(v) and is_real(v)


@pytest.mark.parametrize("v", [True, False, np.bool_(True), 2.0, np.float32(1), "3", None, [1]])
def test_bools_floats_and_text_are_not_integers(v):
    assert not is_int(v)


@pytest.mark.parametrize("v", [1.5, np.float64(-2.5), math.inf, np.float32(0)])
def test_floats_are_reals(v):
    assert is_real(v)


def test_bools_are_not_reals():
    assert not is_real(True) and not is_real(np.bool_(False))


def test_ranges_are_finite_and_honour_open_ends():
    assert in_range(0.5, 0, 1) and in_range(0, 0, 1) and not in_range(0, 0, 1, open_lo=True)
    assert in_range(1, 0, 1) and not in_range(1, 0, 1, open_hi=True)
    assert not in_range(math.inf) and not in_range(math.nan) and not in_range(True, 0, 1)
    assert in_range(np.int64(3), 1, integer=True) and not in_range(3.0, 1, integer=True)


def test_an_unknown_name_lists_the_known_ones():
    assert lookup({"b": 2, "a": 1}, "a", "thing") == 1
    with pytest.raises(ValueError, match=r"unknown thing 'c'; expected one of \['a', 'b'\] or a Thing$"):
        lookup({"b": 2, "a": 1}, "c", "thing", also="or a Thing")
    with pytest.raises(ValueError, match=r"expected one of \['none', 'cosine'\]"):  # a sequence keeps its order
        lookup(("none", "cosine"), "warm", "schedule")
    with pytest.raises(nn.NumpynnError, match=r"unknown thing \{'x': 1\}"):  # unhashable: still the message
        lookup({"a": 1}, {"x": 1}, "thing", error=nn.NumpynnError)


def test_numpy_integers_build_layers_and_name_them_as_python_integers():
    model = nn.Sequential([nn.Dense(np.int64(4), np.int32(3)), nn.BatchNorm(np.int64(3)), nn.Dense(3, 2)])
    assert model.get_config()["layers"][1]["config"]["num_features"] == 3
    assert type(model.get_config()["layers"][1]["config"]["num_features"]) is int
    with pytest.raises(ValueError, match="positive integer"):
        nn.Dense(True, 3)


def test_integers_too_large_for_a_float_are_refused_by_numpynn_not_by_overflow():
    huge = 10**400
    assert in_range(huge, 1, integer=True) and not in_range(huge, 0, 1) and not in_range(huge)
    with pytest.raises(ValueError, match="positive integer"):
        nn.Dense(3, -huge)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm(momentum=huge)
    with pytest.raises(ValueError, match="lr must be"):
        nn.Adam(huge)


def test_a_metric_name_with_a_non_ascii_digit_is_an_unknown_metric():
    from numpynn.training.metrics import get_metric

    with pytest.raises(nn.NumpynnError, match=r"unknown metric 'top\u00b2_accuracy'; expected one of"):
        get_metric("top\u00b2_accuracy")  # '²'.isdigit() is True; int('²') is a ValueError
