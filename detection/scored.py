"""The ScoredFrame: the one shape every detector returns, and its severity scale.

A ScoredFrame has, in order: `timestamp`, `value`, `score` (the detector's own units),
`severity` (0 to 1), `is_anomaly`, `expected`, `lower`, `upper`, `explanation`, then
`episode` and `onset` (see `detection.episodes`), which detectors' `score`, `fit_score` and
`score_online` add.

Severity says how rare a point is on its own series, so that it reads the same whatever the
detector and the series. By default a flag starts at 0.9 or more, the alert rules' default too.

- z-score, STL, Isolation Forest and the ensemble rank their score among the series' own past
  scores (`detection.calibration`): the rank's surprise, `-ln p` in nats, gives the severity,
  0.9 at `calibration.RARE` nats (about 1 in 800 of those scores).
- auto sums the surprises of several views of the point, each ranked among the same view of
  the series' past (`detection.auto`): 19 nats of summed surprise is severity 0.9.

The Gaussian-tail maps below (`severity_from_deviation`, its inverse, `severity_from_surprise`;
a 5-sigma deviation at 0.9) are no detector's final severity: they put the ensemble's members
and Isolation Forest's parts on one scale before the result is ranked as above.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtr, ndtri

SCORED_COLUMNS = (
    "timestamp",
    "value",
    "score",
    "severity",
    "is_anomaly",
    "expected",
    "lower",
    "upper",
    "explanation",
    "episode",
    "onset",
)

#: Surprise, in nats, of a two-sided 5-sigma Gaussian deviation; it maps to severity 0.9.
SURPRISE_AT_SEVERITY_0_9 = float(-(np.log(2.0) + log_ndtr(-5.0)))

#: One value for every row, or one per row.
ColumnLike = pd.Series | np.ndarray | float | None
BandLike = tuple[ColumnLike, ColumnLike, ColumnLike]


def severity_from_surprise(surprise: pd.Series | np.ndarray) -> np.ndarray:
    """Map surprise in nats to severity in [0, 1]; NaN stays NaN."""
    s = np.clip(np.asarray(surprise, dtype=float), 0.0, None)
    severity: np.ndarray = 1.0 - np.power(10.0, -s / SURPRISE_AT_SEVERITY_0_9)
    return severity


def severity_from_deviation(deviation: pd.Series | np.ndarray) -> np.ndarray:
    """Severity of a deviation measured in (robust) standard deviations: 1 - p^(ln 10 / S)
    with p the two-sided Gaussian tail, the same map as `severity_from_surprise`."""
    tail = 2.0 * ndtr(-np.abs(np.asarray(deviation, dtype=float)))
    severity: np.ndarray = 1.0 - np.power(tail, np.log(10.0) / SURPRISE_AT_SEVERITY_0_9)
    return severity


def deviation_from_severity(severity: pd.Series | np.ndarray) -> np.ndarray:
    """The Gaussian deviation (in standard deviations) a severity stands for: the inverse of
    `severity_from_deviation`, so 0.9 gives 5.0."""
    level = np.clip(np.asarray(severity, dtype=float), 0.0, 1.0 - 1e-15)
    tail = np.power(1.0 - level, SURPRISE_AT_SEVERITY_0_9 / np.log(10.0))
    deviation: np.ndarray = -ndtri(np.clip(tail, 1e-300, 1.0) / 2.0)
    return deviation


def _as_column(values: ColumnLike, index: pd.Index) -> np.ndarray:
    if values is None:
        return np.full(len(index), np.nan)
    if np.isscalar(values):
        return np.full(len(index), values, dtype=float)
    return np.asarray(values, dtype=float)


def make_scored_frame(
    frame: pd.DataFrame,
    *,
    score: pd.Series | np.ndarray | float,
    severity: pd.Series | np.ndarray | float,
    is_anomaly: pd.Series | np.ndarray,
    band: BandLike | None = None,
    explanation: Sequence[str] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Assemble a ScoredFrame from a `timestamp`/`value` frame and a detector's outputs, with
    no episode yet.

    `band` is `(lower, expected, upper)`, each a scalar or one value per row. Points whose
    value is missing are never flagged and get no score.
    """
    index = frame.index
    value = frame["value"].to_numpy(dtype=float)
    missing = np.isnan(value)
    score_arr = np.where(missing, np.nan, np.asarray(score, dtype=float))
    severity_arr = np.where(missing, np.nan, np.clip(np.asarray(severity, dtype=float), 0.0, 1.0))
    flagged = np.asarray(is_anomaly, dtype=bool) & ~np.isnan(score_arr)
    lower, expected, upper = band if band is not None else (None, None, None)
    if explanation is None:
        explanation = [""] * len(index)
    return pd.DataFrame(
        {
            "timestamp": frame["timestamp"].to_numpy(),
            "value": value,
            "score": score_arr,
            "severity": severity_arr,
            "is_anomaly": flagged,
            "expected": _as_column(expected, index),
            "lower": _as_column(lower, index),
            "upper": _as_column(upper, index),
            # object dtype: 1M mostly-empty sentences need no conversion to Arrow strings
            "explanation": pd.Series(
                np.where(flagged, np.asarray(explanation, dtype=object), ""),
                index=index,
                dtype=object,
            ),
            # no episode yet (`detection.episodes` fills them in): a column replaced costs a
            # tenth of one added, and a stream adds episodes to every batch
            "episode": pd.arrays.IntegerArray(
                np.zeros(len(index), dtype=np.int64), np.ones(len(index), dtype=bool)
            ),
            "onset": np.zeros(len(index), dtype=bool),
        },
        index=index,
        copy=False,
    )


def flagged_points(scored: pd.DataFrame, min_severity: float = 0.0) -> pd.DataFrame:
    """The flagged rows at or above `min_severity`, most severe first."""
    keep = scored["is_anomaly"] & (scored["severity"] >= min_severity)
    return scored[keep].sort_values("severity", ascending=False)
