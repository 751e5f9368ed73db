"""Running a detection: the one step behind the Analyze page's Run and `vigil detect`.

`plan_analysis` turns a page's choices (a stored data set's series, a detector and its
parameters, or a saved model) into an `Analysis`; `score_series` scores a series with a fresh
detector or a saved model, as both the page and the command line do; `run_analysis` scores
an `Analysis` once and keeps the result under its key (a second run of the same choices finds
it and does nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import pandas as pd

from vigil.detection import make_detector
from vigil.detection.base import Detector
from vigil.detection.errors import DataError
from vigil.detection.models import ModelInfo, apply_model
from vigil.durations import expected_seconds
from vigil.services import Services
from vigil.stores.results import RunSettings
from vigil.usecases.countdown import run_counting_down


@dataclass(frozen=True)
class Analysis:
    """A run as asked for: its settings (and with them the key its result is kept under), its
    series, and what scores it (a fresh detector, or a saved model and what it was trained on)."""

    run: RunSettings
    frame: pd.DataFrame
    model: Detector
    trained: ModelInfo | None


def plan_analysis(
    services: Services,
    dataset_id: str,
    series: str,
    detector: str,
    params: Mapping[str, object],
    *,
    online: bool = False,
    model_id: str | None = None,
) -> Analysis:
    """What a run of these choices would do; raises `VigilError` (one sentence) for a choice
    that cannot run: parameters out of their bounds, a model that does not load or was
    trained on another series."""
    store = services.dataset_store
    frame = store.series(dataset_id, series)
    info = store.info(dataset_id)
    trained: ModelInfo | None = None
    chosen: dict[str, object]
    if model_id:
        model, trained = services.model_store.load(model_id)
        if trained.series != series:
            raise DataError(
                f"The model '{trained.label}' was trained on the series '{trained.series}'; "
                f"choose that series, or fit a detector on '{series}'."
            )
        detector, online, chosen = trained.detector, False, {"model": model_id}
    else:
        model = make_detector(detector, dict(params))
        chosen = model.get_params()
    run = RunSettings(
        dataset_id, info.name, series, detector, chosen, info.schema.to_dict(), online=online
    )
    return Analysis(run, frame, model, trained)


def score_series(
    model: Detector, trained: ModelInfo | None, frame: pd.DataFrame, *, online: bool = False
) -> pd.DataFrame:
    """`frame` scored: by a saved model as it was trained (`trained`, batch mode), or by the
    detector `model` fitted on it (each point from the points before it when `online`)."""
    if trained is not None:
        return apply_model(model, trained, frame)
    return model.detect(frame, online=online)


def run_analysis(
    services: Services,
    analysis: Analysis,
    *,
    progress: Callable[[str], object] | None = None,
) -> str:
    """Score `analysis` unless its result is kept already, keep the result, and return its
    key. `progress` hears the time left as it goes (from the timings of earlier runs of the
    same detector and mode, which this run adds to)."""
    results = services.result_store
    run = analysis.run
    if results.has(run.key):
        return run.key
    work = partial(
        score_series, analysis.model, analysis.trained, analysis.frame, online=run.online
    )
    started = time.perf_counter()
    if progress is None:
        scored = work()
    else:
        mode = "online " if run.online else ""
        doing = f"Running {type(analysis.model).label} {mode}on {len(analysis.frame):,} points"
        timings = results.recent_timings(run.detector, run.mode)
        expected = expected_seconds(run.detector, run.mode, len(analysis.frame), timings)
        scored = run_counting_down(
            work, lambda left: progress(f"{doing}: {left}"), expected=expected
        )
    results.save(run, scored, time.perf_counter() - started)
    return run.key
