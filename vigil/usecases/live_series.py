"""Live series as the settings have them: how late a point may come, when a series is stale,
and configuring how a series is scored (the one step behind the Live page's settings form and
`PUT /api/v1/series/NAME`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from vigil.detection import DETECTORS
from vigil.detection.errors import ParameterError
from vigil.detection.params import coerce_params
from vigil.live.series import Series
from vigil.services import Services
from vigil.settings import Settings


def late_window(config: Settings) -> pd.Timedelta:
    """How much older than a series' latest point a new point may be."""
    return pd.Timedelta(minutes=config.live_late_minutes)


def stale_after(config: Settings) -> pd.Timedelta:
    """How long without a point before a series is called stale."""
    return pd.Timedelta(minutes=config.live_stale_minutes)


def configure_series(
    services: Services,
    name: str,
    *,
    detector: object = "auto",
    params: Mapping[str, object] | None = None,
    model: object = None,
) -> Series:
    """Score series `name` with `detector` and its `params` (every one checked against its
    bounds), or with the saved model whose id is `model` (it must load and pass its checks);
    its points are scored afresh. Nothing is changed when anything is wrong:
    `ParameterError` (a `VigilError`) says what, in one sentence."""
    if not isinstance(detector, str) or detector not in DETECTORS:
        shown = repr(detector)[:40]
        raise ParameterError(f"Unknown detector {shown}; one of {', '.join(DETECTORS)}.")
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError('"params" must be a JSON object of parameter names and values.')
    if model is not None and not isinstance(model, str):
        raise ParameterError('"model" must be the id of a saved model (a string).')
    checked = coerce_params(DETECTORS[detector].PARAMS, dict(params or {}))
    if model:
        services.model_store.load(model)  # it exists and passes its checks
    return services.live_store.configure(
        name, detector=detector, params=checked, model=model or None
    )
