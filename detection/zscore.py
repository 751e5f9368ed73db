"""z-score detectors: distance from a mean (or median) in standard (or robust) deviations."""

from __future__ import annotations

from typing import NamedTuple, Self

import numpy as np
import pandas as pd

from vigil.detection import calibration
from vigil.detection.base import GRID_SAMPLE, Detector, OnlineState, check_window
from vigil.detection.errors import ParameterError
from vigil.detection.explain import describe_flagged, direction, number
from vigil.detection.params import MAX_SPAN, Param
from vigil.detection.rolling import moving_median
from vigil.detection.scored import make_scored_frame, severity_from_deviation

MAD_TO_STD = 1.4826
METHODS = ("robust", "rolling", "global")
DEFAULT_WINDOW = 96
WHOLE_SERIES_SAMPLE = 100_000
#: Online, `global` uses the mean and spread of (at most) this many previous points.
GLOBAL_HISTORY = 100_000


def robust_scale(values: pd.Series | np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the standard deviation, were the data Gaussian."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return float("nan")
    return float(MAD_TO_STD * np.median(np.abs(array - np.median(array))))


def robust_spread(values: pd.Series | np.ndarray) -> float:
    """`robust_scale`, or the standard deviation where over half the values are equal (a MAD
    of 0); 0.0 for a constant or empty series. Missing values are ignored."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return 0.0
    scale = robust_scale(array)
    return scale if scale > 0 else float(array.std())


def scale_floor(spread: float) -> float:
    """A floor for scales: 1% of the series' spread, so a flat stretch does not make every
    wiggle infinitely unusual."""
    return spread * 0.01 if spread > 0 else 1e-9


class Level(NamedTuple):
    """What a z-score is measured against besides the points before it: the rolling window,
    the level and scale of the whole series (or of the warm-up, online), and the scale's
    floor."""

    window: int
    center: float
    scale: float
    floor: float


class Deviations(NamedTuple):
    """Each point's value, expected level, scale and absolute deviation (z), and the level
    they were measured with."""

    level: Level
    values: np.ndarray
    expected: np.ndarray
    scale: np.ndarray
    z: np.ndarray


class ZScoreDetector(Detector):
    """Flags points more than `threshold` deviations from the expected level that are also
    rare in the series' own history of deviations.

    `global`: mean and standard deviation of the whole training series. `rolling`: mean and
    standard deviation of the previous `window` points. `robust`: median and MAD of the
    previous `window` points, which a spike or an outlier cannot drag along.

    The score is the deviation (z). Severity is how rare that deviation is among the series'
    own earlier ones (`detection.calibration`), so a flag at the defaults is as rare on a noisy
    series as on a quiet one; a flag starts where a deviation past the threshold is rare and
    beats the deviations of the points just before it, and goes on while they stay past it.
    """

    name = "zscore"
    label = "z-score"
    summary = "Distance from the expected level, in standard or robust deviations."
    PARAMS = (
        Param(
            "method",
            str,
            "robust",
            "Method",
            "robust: rolling median and MAD; rolling: rolling mean and std; "
            "global: one mean and std for the whole series.",
            choices=METHODS,
        ),
        Param(
            "window",
            int,
            0,
            "Window (points)",
            "How many previous points the rolling methods compare against; 0 picks "
            f"{DEFAULT_WINDOW}, or a quarter of a shorter series.",
            minimum=0,
            maximum=MAX_SPAN,
        ),
        Param(
            "threshold",
            float,
            3.5,
            "Threshold (deviations)",
            "Flag points at least this many deviations from the expected level, where that is "
            "also rare in the series' own history.",
            minimum=0.5,
            maximum=50,
            step=0.1,
        ),
    )

    def __init__(self, *, method: str = "robust", window: int = 0, threshold: float = 3.5):
        self.method = method
        self.window = window
        self.threshold = threshold

    def _fit(self, frame: pd.DataFrame) -> Self:
        self._learn(frame)
        return self

    def _learn(self, frame: pd.DataFrame) -> Deviations:
        """Learn the level, scale and window, and the last deviations of the series (later
        deviations are ranked among them); the series' own deviations."""
        values = frame["value"].astype(float)
        self._check_window()
        window = self.window or max(3, min(DEFAULT_WINDOW, len(frame) // 4))
        if self.method != "global":
            check_window(window, frame)
        present = values.dropna()
        if self.method != "global" and len(present) > WHOLE_SERIES_SAMPLE:
            # For rolling methods these only seed the first window and floor the scale:
            # an even sample of the series tells them as well as every point.
            present = present.iloc[:: len(present) // WHOLE_SERIES_SAMPLE]
        level = self._learn_level(window, present)
        self.window_, self.center_, self.scale_, self.floor_ = level
        deviations = self._deviations(frame, level, causal=False)
        self.history_ = deviations.z[-calibration.HISTORY :].copy()
        self.seen_ = len(frame)
        return deviations

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit, then rank each point's deviation among the deviations before it (the first
        points, which have too few, among the points after them)."""
        deviations = self._learn(frame)
        calibrated = calibration.calibrate(
            deviations.z, self._past(deviations), learning=self._learning(), ahead=True
        )
        return self._result(frame, deviations, calibrated, causal=False)

    def _check_window(self) -> None:
        if 0 < self.window < 3:
            raise ParameterError(
                f"The window must be 0 (automatic) or at least 3, not {self.window}."
            )

    def _learn_level(self, window: int, present: pd.Series) -> Level:
        """The level, scale and floor of the scale that `present` values suggest."""
        spread = robust_spread(present)
        floor = scale_floor(spread)
        if self.method == "robust":
            center = float(present.median()) if len(present) else 0.0
            return Level(window, center, max(spread, floor), floor)
        center = float(present.mean()) if len(present) else 0.0
        scale = float(present.std(ddof=0)) if len(present) else 0.0
        return Level(window, center, max(scale, floor), floor)

    def _fitted_level(self) -> Level:
        return Level(self.window_, self.center_, self.scale_, self.floor_)

    def expected_and_scale(
        self, values: pd.Series, level: Level | None = None, *, causal: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected level and scale per point, from the points before it and `level` (the
        fitted one when not given).

        In batch mode the first points, which have less than a window of history, borrow the
        first full estimate; `causal` estimates from a quarter of a window on (missing before),
        and `global` uses the points so far.
        """
        level = level or self._fitted_level()
        n = len(values)
        if self.method == "robust":  # in numpy, the steps of the pandas code below
            observed = values.to_numpy(dtype=float)
            window = level.window
            # in batch mode a point with less than a window before it borrows the first full
            # estimate: a few points say too little about a scale
            minimum = max(3, window // 4) if causal else window
            center = moving_median(_shifted(observed), window, minimum)
            deviation = np.abs(observed - center)
            scale = MAD_TO_STD * moving_median(_shifted(deviation), window, minimum)
            if not causal:
                center = _backfilled(center, level.center)
                scale = _backfilled(scale, level.scale)
            return center, np.maximum(scale, level.floor)
        previous = values.shift(1)
        if self.method == "global":
            if not causal:
                return np.full(n, level.center), np.full(n, level.scale)
            trailing = previous.rolling(GLOBAL_HISTORY, min_periods=1)
            mean, spread = trailing.mean(), trailing.std(ddof=0)
        else:
            window = level.window
            minimum = max(3, window // 4) if causal else window
            rolling = previous.rolling(window, min_periods=minimum)
            mean = rolling.mean()
            spread = rolling.std(ddof=0)
        if not causal:
            mean = mean.bfill().fillna(level.center)
            spread = spread.bfill().fillna(level.scale)
        return mean.to_numpy(dtype=float), np.maximum(spread.to_numpy(dtype=float), level.floor)

    def _online_window(self) -> int:
        self._check_window()
        return self.window or DEFAULT_WINDOW

    def online_context(self) -> int:
        """The rows each deviation reads (earlier deviations are kept in the stream's state)."""
        window = self._online_window()
        return GLOBAL_HISTORY + 1 if self.method == "global" else 2 * window + 2

    def _warmup(self) -> int:
        """Rows before the rolling statistics are whole: a window (and a quarter more for
        `robust`, whose scale is a median of deviations from a median)."""
        window = self._online_window()
        return window + (window // 4 if self.method == "robust" else 0)

    def _learning(self) -> int:
        """The warm-up, and at least calibration.LEARNING rows after the first deviation
        (from a quarter of a window on) to rank the next ones among."""
        first = 1 if self.method == "global" else max(3, self._online_window() // 4)
        return max(GRID_SAMPLE, self._warmup(), first + calibration.LEARNING)

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """The rolling statistics' warm-up (by then there are enough deviations to rank new
        ones among), from the parameters alone."""
        return self._learning()

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """Trailing statistics, each deviation ranked among the deviations before it; the floor
        of the scale comes from the warm-up rows and is kept in `state`."""
        level = self._online_level(frame, state)
        deviations = self._deviations(frame, level, causal=True)
        calibrated = calibration.calibrate_online(
            deviations.z, state, self._past(deviations), learning=self._learning()
        )
        return self._result(frame, deviations, calibrated, causal=True)

    def _online_level(self, frame: pd.DataFrame, state: OnlineState) -> Level:
        """The window, and the level, scale and floor the warm-up rows suggest (kept in
        `state` once they are all seen)."""
        window, warmup = self._online_window(), self._warmup()
        memory = state.memory
        if "level" in memory:
            return Level(window, *memory["level"])
        head = frame["value"].astype(float).iloc[: max(0, warmup - state.offset)]
        level = self._learn_level(window, head.dropna())
        if state.offset + len(frame) >= warmup:
            memory["level"] = (level.center, level.scale, level.floor)
        return level

    def member_score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """`_score_online` as a member of a combination (the ensemble) wants it: severity from
        the deviation alone (not ranked in the series' history: the combination calibrates its
        own score), flags at the threshold."""
        level = self._online_level(frame, state)
        return self._result(frame, self._deviations(frame, level, causal=True), None, causal=True)

    def member_fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`fit_score` as a member of a combination wants it (see `member_score_online`)."""
        return self._result(frame, self._learn(frame), None, causal=False)

    def member_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`score` as a member of a combination wants it (see `member_score_online`)."""
        deviations = self._deviations(frame, self._fitted_level(), causal=False)
        return self._result(frame, deviations, None, causal=False)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Deviations from the frame's own rolling statistics (or the fitted ones), each
        ranked among the fitted series' last deviations and the frame's before it."""
        deviations = self._deviations(frame, self._fitted_level(), causal=False)
        calibrated = calibration.calibrate_continuation(
            self.history_,
            self.seen_,
            deviations.z,
            self._past(deviations),
            learning=self._learning(),
        )
        return self._result(frame, deviations, calibrated, causal=False)

    def _past(self, deviations: Deviations) -> np.ndarray:
        """Rows whose deviation reaches the threshold."""
        return deviations.z >= self.threshold

    def _deviations(self, frame: pd.DataFrame, level: Level, *, causal: bool) -> Deviations:
        values = frame["value"].to_numpy(dtype=float)
        expected, scale = self.expected_and_scale(pd.Series(values), level, causal=causal)
        return Deviations(level, values, expected, scale, np.abs(values - expected) / scale)

    def _result(
        self,
        frame: pd.DataFrame,
        deviations: Deviations,
        calibrated: calibration.Calibration | None,
        *,
        causal: bool,
    ) -> pd.DataFrame:
        """Flag where the deviation reaches the threshold and, with `calibrated`, is rare on
        this series, whose severity it then takes; without, severity from the deviation."""
        level, observed, expected, scale, z = deviations
        flagged = self._past(deviations)
        if calibrated is None:
            severity = severity_from_deviation(z)
        else:
            flagged, severity = calibrated.flagged, calibrated.severity
        width = self.threshold * scale
        band = (expected - width, expected, expected + width)
        reference = {
            "global": "the mean of the points so far," if causal else "the mean",
            "rolling": f"the mean of the previous {level.window} points,",
            "robust": f"the median of the previous {level.window} points,",
        }[self.method]
        unit = "robust deviations" if self.method == "robust" else "standard deviations"

        def describe(i: int) -> str:
            return (
                f"{number(observed[i])} is {z[i]:.1f} {unit} "
                f"{direction(observed[i], expected[i])} {reference} {number(expected[i])}"
                + ("" if calibrated is None else f"; {calibration.describe(calibrated, i)}")
            )

        return make_scored_frame(
            frame,
            score=z,
            severity=severity,
            is_anomaly=flagged,
            band=band,
            explanation=describe_flagged(flagged, describe),
        )


def _shifted(values: np.ndarray) -> np.ndarray:
    """`values` a row later: the value before each row (NaN for the first)."""
    return np.concatenate(([np.nan], values[:-1]))[: len(values)]


def _backfilled(values: np.ndarray, last: float) -> np.ndarray:
    """Each missing value replaced by the next one present (by `last` where none is), in
    place: pandas' `bfill().fillna(last)`."""
    gaps = np.flatnonzero(np.isnan(values))
    if gaps.size:
        # each run of missing values takes the value after its end
        ends = np.where(np.append(np.diff(gaps) != 1, True), gaps + 1, len(values))
        following = np.minimum.accumulate(ends[::-1])[::-1]
        values[gaps] = np.append(values, last)[following]
    return values
