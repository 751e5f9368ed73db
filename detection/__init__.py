"""Anomaly detection on time series: parsing, detectors and their shared ScoredFrame.

Pages, the CLI and tests all go through `DETECTORS` and `run_detection`. They, `Detector` and
`make_detector` are loaded on first use (from `vigil.detection.registry`): importing the
package, or a light module of it such as `vigil.detection.errors`, does not load pandas,
scikit-learn or statsmodels, so commands that need none of them answer at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from vigil.detection.errors import DataError, ParameterError, VigilError

if TYPE_CHECKING:
    from vigil.detection.base import Detector
    from vigil.detection.registry import DETECTORS, make_detector, run_detection

#: What the package offers, and the module each comes from when first used.
_LOADED_ON_USE = {
    "DETECTORS": "vigil.detection.registry",
    "Detector": "vigil.detection.base",
    "make_detector": "vigil.detection.registry",
    "run_detection": "vigil.detection.registry",
}

__all__ = [
    "DETECTORS",
    "DataError",
    "Detector",
    "ParameterError",
    "VigilError",
    "make_detector",
    "run_detection",
]


def __getattr__(name: str) -> object:
    if name not in _LOADED_ON_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LOADED_ON_USE[name]), name)
    globals()[name] = value  # once: later uses find it here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LOADED_ON_USE))
