"""Level change: has the recent level of a (deseasonalised) series moved away from before?

A spike moves one point; a level shift or a new trend moves the median of the last few points
away from the median of the stretch before them. The distance between the two is scaled by
its own typical size over the previous points, so it is calibrated on the series itself.
Every value at row t comes from rows up to t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigil.detection.rolling import moving_median
from vigil.detection.zscore import MAD_TO_STD

#: Previous values of the statistic its typical size is taken from.
SCALE_HISTORY = 2000
MIN_SCALE_HISTORY = 200


def level_change(
    values: pd.Series | np.ndarray,
    *,
    recent: int,
    before: int,
    causal: bool = True,
    since: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the median of the last `recent` values minus the median of the `before`
    values ahead of them, and that change in robust deviations of its own history (`causal`)
    or of the whole series. From row `since` on, the history starts again at `since` (the
    values changed meaning there, as when a season is first removed)."""
    series = pd.Series(np.asarray(values, dtype=float))
    now = moving_median(series, recent, max(2, recent // 2))
    then = moving_median(series.shift(recent), before, max(2, before // 2))
    change = pd.Series(now - then)
    if causal:
        scale = _trailing_scale(change)
        if since is not None and since < len(change):
            start = max(since, 0)
            scale[start:] = _trailing_scale(change.iloc[start:])
    else:
        present = change.abs().dropna()
        scale = np.full(len(change), MAD_TO_STD * present.median() if len(present) else np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.abs(change.to_numpy()) / np.where(scale > 0, scale, np.nan)
    return change.to_numpy(), deviation


def _trailing_scale(change: pd.Series) -> np.ndarray:
    typical = moving_median(change.abs().shift(1), SCALE_HISTORY, MIN_SCALE_HISTORY)
    return MAD_TO_STD * typical
