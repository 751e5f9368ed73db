"""Anomaly detection on time series: parsing, detectors and their shared ScoredFrame.

Pages, the CLI and tests all go through `DETECTORS` and `run_detection`.
"""

from __future__ import annotations

import pandas as pd

from vigil.detection.auto import AutoDetector
from vigil.detection.base import Detector
from vigil.detection.ensemble import EnsembleDetector
from vigil.detection.errors import DataError, ParameterError, VigilError
from vigil.detection.iforest import IsolationForestDetector
from vigil.detection.stl import SeasonalDetector
from vigil.detection.zscore import ZScoreDetector

DETECTORS: dict[str, type[Detector]] = {
    "auto": AutoDetector,
    "ensemble": EnsembleDetector,
    "zscore": ZScoreDetector,
    "iforest": IsolationForestDetector,
    "stl": SeasonalDetector,
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


def make_detector(name: str, params: dict[str, object] | None = None) -> Detector:
    """A detector from the registry, its parameters checked and converted."""
    if name not in DETECTORS:
        raise ParameterError(f"Unknown detector {name!r}; choose one of {', '.join(DETECTORS)}.")
    return DETECTORS[name].from_params(params)


def run_detection(
    frame: pd.DataFrame, name: str, *, online: bool = False, **params: object
) -> pd.DataFrame:
    """Fit detector `name` on a `timestamp`/`value` frame and score the same frame; with
    `online`, score each point from the points before it only."""
    return make_detector(name, params).detect(frame, online=online)
