"""Parameter descriptions check and convert what forms and the command line send."""

from __future__ import annotations

import pytest

from detection.errors import ParameterError
from detection.params import Param, coerce_params

SPECS = (
    Param("window", int, 10, "Window", "", minimum=3),
    Param("threshold", float, 3.0, "Threshold", "", minimum=0.5, maximum=10),
    Param("robust", bool, False, "Robust", ""),
    Param("method", str, "a", "Method", "", choices=("a", "b")),
)


def test_text_values_are_converted_to_their_types():
    assert coerce_params(
        SPECS, {"window": "12", "threshold": "2.5", "robust": "yes", "method": "b"}
    ) == {
        "window": 12,
        "threshold": 2.5,
        "robust": True,
        "method": "b",
    }


def test_missing_and_empty_values_take_defaults():
    assert coerce_params(SPECS, {"window": "", "threshold": None}) == {
        "window": 10,
        "threshold": 3.0,
        "robust": False,
        "method": "a",
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"window": "2"}, "Window must be at least 3"),
        ({"window": "2.5"}, "Window must be a whole number"),
        ({"threshold": "11"}, "Threshold must be at most 10"),
        ({"threshold": "nan"}, "Threshold must be a number"),
        ({"robust": "maybe"}, "Robust must be yes or no"),
        ({"method": "c"}, "Method must be one of a, b"),
        ({"colour": "red"}, "Unknown parameter 'colour'"),
    ],
)
def test_bad_values_are_refused_with_a_readable_message(given, message):
    with pytest.raises(ParameterError, match=message):
        coerce_params(SPECS, given)
