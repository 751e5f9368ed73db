"""Parameter descriptions check and convert what forms and the command line send."""

from __future__ import annotations

import re

import pytest

from vigil.detection.errors import ParameterError
from vigil.detection.params import Param, coerce_params

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


#: Values that once reached a live series and stopped its scoring, each with its reason.
RUNAWAY = [
    ("zscore", "window", 1e20, "Window (points) must be at most 100,000"),
    ("iforest", "window", 10**9, "Feature window (points) must be at most 10,000"),
    ("iforest", "random_state", 2**40, "Random seed must be at most 4,294,967,295"),
    ("iforest", "history", 10**12, "Training window (online) must be at most 1,000,000"),
    ("stl", "period", 10**9, "Period (points) must be at most 100,000"),
    ("stl", "seasonal", 10**9, "Seasonal smoother must be at most 99,999"),
    ("ensemble", "period", 10**12, "Period (points) must be at most 100,000"),
    ("ensemble", "level_window", 10**12, "Level-change window (points) must be at most 10,000"),
    ("zscore", "window", 10**309, "Window (points) must be a whole number"),
    ("zscore", "window", 10**4400, "Window (points) must be a whole number"),
    ("zscore", "window", "inf", "Window (points) must be a whole number"),
]


@pytest.mark.parametrize(
    ("detector", "name", "value", "message"),
    RUNAWAY,
    ids=[f"{detector}-{name}-{i}" for i, (detector, name, *_) in enumerate(RUNAWAY)],
)
def test_a_parameter_far_past_what_a_series_could_use_is_refused(detector, name, value, message):
    from vigil.detection import make_detector

    with pytest.raises(ParameterError, match=re.escape(message)):
        make_detector(detector, {name: value})


def test_every_number_a_detector_takes_has_both_bounds():
    from vigil.detection import DETECTORS

    unbounded = [
        f"{detector}.{spec.name}"
        for detector, cls in DETECTORS.items()
        for spec in cls.PARAMS
        if spec.kind in (int, float) and (spec.minimum is None or spec.maximum is None)
    ]
    assert unbounded == []


def test_the_defaults_stay_within_the_bounds():
    from vigil.detection import DETECTORS

    for cls in DETECTORS.values():
        for spec in cls.PARAMS:
            assert spec.coerce(spec.default) == spec.default
