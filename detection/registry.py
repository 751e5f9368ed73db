"""The detectors Vigil offers, by name, and the two ways to run one."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from vigil.detection.auto import AutoDetector
from vigil.detection.base import Detector
from vigil.detection.ensemble import EnsembleDetector
from vigil.detection.errors import ParameterError
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


def make_detector(name: str, params: Mapping[str, object] | None = None) -> Detector:
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
