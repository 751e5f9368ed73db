"""Seasonal decomposition: STL (MSTL for several seasons) and a robust scale of the residual."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import MSTL, STL

from vigil.detection import calibration
from vigil.detection.base import GRID_SAMPLE, Detector, OnlineState
from vigil.detection.errors import DataError, ParameterError
from vigil.detection.explain import describe_flagged, direction, number, season_context
from vigil.detection.params import MAX_SPAN, Param
from vigil.detection.profile import (
    PROFILE_CYCLES,
    level_window,
    phase_window,
    seasonal_expectation,
    trailing_scale,
)
from vigil.detection.quality import describe_step
from vigil.detection.rolling import moving_median
from vigil.detection.scored import make_scored_frame, severity_from_deviation
from vigil.detection.seasonality import MIN_CYCLES, Periods, find_periods
from vigil.detection.tidy import infer_step
from vigil.detection.zscore import robust_spread, scale_floor

#: Online mode looks for seasons again whenever the series has grown by this factor.
PERIOD_CHECK_GROWTH = 1.25
#: ... in at most this many of the latest points.
PERIOD_HISTORY = 50_000
#: Online mode's residual scale comes from at most this many previous points.
SCALE_HISTORY = 8_000


def stl_speedups(period: int) -> dict[str, int]:
    """Evaluate STL's smoothers every few points on long periods (R's usual steps).

    Without them STL(period=1440) took minutes on 100k points; with them under a second, and
    the residual moved by under 1% of its spread.
    """
    if period < 50:
        return {}
    return {
        "trend_jump": max(1, period // 5),
        "low_pass_jump": max(1, period // 10),
    }


def decompose(
    values: np.ndarray, periods: list[int], *, seasonal: int, robust: bool, quick: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Trend and seasonal part (summed over seasons) of `values` (no NaN) for one or several
    periods. `quick` runs one
    inner loop (not five) and evaluates the smoothers sparsely: on long periods about 6% of
    the cost, rough, for finding outliers."""
    shortest = min(periods)
    speed = stl_speedups(shortest)
    if quick and speed:
        speed = {
            "seasonal_jump": seasonal,
            "trend_jump": max(1, shortest // 2),
            "low_pass_jump": max(1, shortest // 4),
        }
    if len(periods) == 1:
        (period,) = periods
        stl = STL(values, period=period, seasonal=seasonal, robust=robust, **speed)
        result = stl.fit(inner_iter=1) if quick else stl.fit()
    else:
        result = MSTL(
            values,
            periods=periods,
            windows=[max(seasonal, 7)] * len(periods),
            iterate=1 if quick else 2,
            stl_kwargs={"robust": robust, **speed},
        ).fit()
    seasons = np.asarray(result.seasonal, dtype=float).reshape(len(values), -1).sum(axis=1)
    return np.asarray(result.trend, dtype=float), seasons


def expectation_lookback(period: int) -> int:
    """Rows before a row that its online expected value reads (`seasonal_expectation`)."""
    return (PROFILE_CYCLES + 1) * period + phase_window(period) + level_window(period)


def _scale_window(period: int) -> int:
    """Previous residuals the online scale is taken from: eight seasons, within bounds."""
    return int(np.clip(8 * period, 500, SCALE_HISTORY))


def _next_check(checkpoint: int) -> int:
    """The row of online mode's next season check after the one at `checkpoint`."""
    return max(checkpoint + 1, int(checkpoint * PERIOD_CHECK_GROWTH))


def _deviation(frame: pd.DataFrame, expected: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Each row's distance from its expected value, in scales (NaN where either is missing)."""
    deviation: np.ndarray = np.abs(frame["value"].to_numpy(dtype=float) - expected) / scale
    return deviation


def _residual_scale(residual: np.ndarray) -> float:
    return robust_spread(residual) or 1e-9


class SeasonalDetector(Detector):
    """Flags points far from their seasonal expectation (trend + seasons from STL or MSTL).

    The period is found from the time step (hour, day, week, year seasons the data confirms)
    or the autocorrelation, unless given. The residual's scale is its MAD, so the anomalies
    themselves do not widen the band. Severity, and where a flag starts, come from how rare a
    deviation is among the series' own earlier ones (`detection.calibration`).
    """

    name = "stl"
    label = "Seasonal decomposition (STL)"
    summary = "Distance from trend + season, in robust deviations of the residual."
    PARAMS = (
        Param(
            "period",
            int,
            0,
            "Period (points)",
            "Points per season; 0 finds it from the time step or the autocorrelation.",
            minimum=0,
            maximum=MAX_SPAN,
        ),
        Param(
            "seasonal",
            int,
            11,
            "Seasonal smoother",
            "Length of STL's seasonal smoother (odd, at least 7): larger lets the season "
            "change more slowly.",
            minimum=7,
            maximum=MAX_SPAN - 1,  # odd
        ),
        Param(
            "threshold",
            float,
            3.5,
            "Threshold (deviations)",
            "Flag points at least this many robust deviations from trend + season, where that "
            "is also rare in the series' own history.",
            minimum=0.5,
            maximum=50,
            step=0.1,
        ),
        Param(
            "robust",
            bool,
            False,
            "Robust fit",
            "Down-weight outliers while fitting (slower: about 60 times on long periods).",
        ),
    )

    def __init__(
        self, *, period: int = 0, seasonal: int = 11, threshold: float = 3.5, robust: bool = False
    ):
        self.period = period
        self.seasonal = seasonal
        self.threshold = threshold
        self.robust = robust

    def _find_periods(self, frame: pd.DataFrame) -> None:
        self._check_seasonal()
        if self.period:
            if not 2 <= self.period <= len(frame) // MIN_CYCLES:
                raise ParameterError(
                    f"A period of {self.period} points does not fit a series of {len(frame)} "
                    f"points: it must be between 2 and {len(frame) // MIN_CYCLES} so that "
                    f"{MIN_CYCLES} full seasons are seen."
                )
            step = infer_step(frame["timestamp"])
            self.periods_ = [(self.period, None if step is None else step * self.period)]
        else:
            self.periods_ = find_periods(frame)
            if not self.periods_:
                raise ParameterError(
                    "No seasonal period was found in this series: set a period by hand, or "
                    "use the z-score or Isolation Forest detector."
                )

    def _check_seasonal(self) -> None:
        if self.seasonal % 2 == 0:
            raise ParameterError(f"The seasonal smoother must be odd, not {self.seasonal}.")

    def _period_checks(self, frame: pd.DataFrame, state: OnlineState) -> list[tuple[int, Periods]]:
        """Where online mode's seasons change: (first row, periods) pairs, each found from the
        rows before that first row at checkpoints that grow with the series. A period set by
        hand holds from the start. Kept in `state`, so a stream looks only at new checkpoints.
        """
        memory = state.memory
        if self.period:
            if "step" not in memory:
                memory["step"] = infer_step(frame["timestamp"].iloc[:GRID_SAMPLE])
            step = memory["step"]
            return [(0, [(self.period, None if step is None else step * self.period)])]
        changes: list[tuple[int, Periods]] = memory.setdefault("changes", [])
        checkpoint = memory.get("next_check", 2 * GRID_SAMPLE)
        total = state.offset + len(frame)
        while checkpoint <= total:
            changes_at = self._periods_before(frame, state.offset, checkpoint)
            if changes_at and (not changes or changes_at != changes[-1][1]):
                changes.append((checkpoint, changes_at))
            checkpoint = _next_check(checkpoint)
        memory["next_check"] = checkpoint
        return changes

    @staticmethod
    def _periods_before(frame: pd.DataFrame, offset: int, end: int) -> Periods:
        start = max(0, end - PERIOD_HISTORY) - offset
        return find_periods(frame.iloc[max(0, start) : end - offset])

    def online_context(self) -> int:
        longest = self.period or PERIOD_HISTORY // MIN_CYCLES
        return max(PERIOD_HISTORY, expectation_lookback(longest) + SCALE_HISTORY + 2)

    def online_prepare(self, frame: pd.DataFrame, state: OnlineState) -> None:
        """The season checks due in the new rows, each over up to PERIOD_HISTORY rows."""
        self._period_checks(frame, state)

    def online_lookback(self, state: OnlineState, start: int, end: int) -> int:
        """Once the seasons and the scale's floor are settled, and no season check falls in
        the rows: what the profile of the longest season and the scale window read."""
        memory = state.memory
        if not self.period and memory.get("next_check", 0) <= end:
            return self.online_context()
        periods = self.online_periods(memory)
        if periods is None:
            return 0  # no season yet, and none looked for in these rows: nothing is read
        longest, shortest = periods
        if "floor" not in memory or "warmup" not in memory:
            return self.online_context()
        lookback = expectation_lookback(longest) + _scale_window(shortest) + 2
        return min(lookback, self.online_context())

    def online_periods(self, memory: dict[str, Any]) -> tuple[int, int] | None:
        """The longest season online mode has used so far, and the first shortest one (which
        sets the scale window), from a stream's memory; None before any season is found."""
        if self.period:
            return (self.period, self.period) if "step" in memory else None
        changes = memory.get("changes") or []
        if not changes:
            return None
        return max(periods[-1][0] for _, periods in changes), changes[0][1][0][0]

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """Until a season is found and two of its cycles are seen (and the residual's scale
        has enough residuals), and calibration.LEARNING rows after that: from the first score
        when scoring `frame` from its first row; the whole frame and more while no season is
        found in it. Without `frame`, the least it can be: two cycles of the period set by
        hand, or up to the first season check, and the learning rows."""
        if frame is None:
            first = max(GRID_SAMPLE, 2 * self.period) if self.period else 2 * GRID_SAMPLE
            return first + calibration.LEARNING
        state = OnlineState(whole=False)
        found = self._first_season(frame)
        if found is not None:
            # the first score comes within what the first season's expectation reads
            start, periods = found
            reach = start + expectation_lookback(periods[-1][0]) + _scale_window(periods[0][0])
            for head in (frame.iloc[: reach + 2], frame):
                state = OnlineState(whole=False)
                self._online_parts(head, state)
                if "warmup" in state.memory:
                    break
        return self.learned_warmup(frame, state)

    def _first_season(self, frame: pd.DataFrame) -> tuple[int, Periods] | None:
        """Where online mode first uses a season when scoring `frame` from its first row, and
        which; None while no season check finds one."""
        if self.period:
            return self._period_checks(frame, OnlineState(whole=False))[0]
        checkpoint = 2 * GRID_SAMPLE
        while checkpoint <= len(frame):
            periods = self._periods_before(frame, 0, checkpoint)
            if periods:
                return checkpoint, periods
            checkpoint = _next_check(checkpoint)
        return None

    def learned_warmup(self, frame: pd.DataFrame, state: OnlineState) -> int:
        """After the first score (`first_scored_row`), calibration.LEARNING more rows, whose
        scores later ones are ranked among."""
        return max(GRID_SAMPLE, self.first_scored_row(frame, state) + calibration.LEARNING)

    @staticmethod
    def first_scored_row(frame: pd.DataFrame, state: OnlineState) -> int:
        """The row of the first score, which scoring `frame` kept in `state`; the rows so far
        while there is none."""
        warmup: int = state.memory.get("warmup", state.offset + len(frame))
        return warmup

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """A seasonal profile: each phase's median over the previous cycles of the longest
        season found so far, plus the recent level; scaled by the trailing residual MAD, and
        each deviation ranked among the deviations before it."""
        expected, _, scale, seasons = self._online_parts(frame, state)
        z = _deviation(frame, expected, scale)
        calibrated = calibration.calibrate_online(
            z, state, z >= self.threshold, learning=self.learned_warmup(frame, state)
        )
        return self._scored(frame, expected, scale, seasons, calibrated)

    def member_online(
        self, frame: pd.DataFrame, state: OnlineState
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Online scores as a member of a combination (the ensemble) wants them: severity from
        the deviation alone (not ranked in the series' history: the combination calibrates
        its own score), flags at the threshold; and the seasonal part of each row's expected
        value (NaN before a season is found)."""
        expected, season, scale, seasons = self._online_parts(frame, state)
        return self._scored(frame, expected, scale, seasons), season

    def _online_parts(
        self, frame: pd.DataFrame, state: OnlineState
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[pd.Timedelta | None]]:
        """Per row: expected value, its seasonal part, the residual's scale and the season's
        length (NaN and None before a season is found). The seasons found, the scale's floor
        and the row of the first score go in `state.memory`."""
        self._check_seasonal()
        changes = self._period_checks(frame, state)
        total = state.offset + len(frame)
        if not changes and state.whole and not self._periods_before(frame, state.offset, total):
            raise ParameterError(
                "No seasonal period was found in this series: set a period by hand, or "
                "use the z-score or Isolation Forest detector."
            )
        values = frame["value"].astype(float).reset_index(drop=True)
        n = len(values)
        expected = np.full(n, np.nan)
        season = np.full(n, np.nan)
        seasons: list[pd.Timedelta | None] = [None] * n
        if not changes:
            return expected, season, np.full(n, np.nan), seasons
        bounds = [*[start for start, _ in changes[1:]], total]
        profiles: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for (start, periods), end in zip(changes, bounds, strict=True):
            rows = slice(max(start - state.offset, 0), max(end - state.offset, 0))
            if rows.start >= rows.stop:
                continue
            longest = periods[-1][0]
            if longest not in profiles:
                profiles[longest] = seasonal_expectation(values, longest)
            expected[rows] = profiles[longest][0][rows]
            season[rows] = profiles[longest][1][rows]
            seasons[rows] = [periods[-1][1]] * (rows.stop - rows.start)
        first = changes[0][0]
        memory = state.memory
        if "floor" not in memory:
            head = values.iloc[max(0, first - SCALE_HISTORY - state.offset) : first - state.offset]
            memory["floor"] = scale_floor(robust_spread(head))
        residual = values.to_numpy() - expected
        scale = trailing_scale(residual, _scale_window(changes[0][1][0][0]), memory["floor"])
        if "warmup" not in memory:
            position = state.offset + np.arange(n)
            ready = np.flatnonzero(~np.isnan(expected) & ~np.isnan(scale) & (position >= first))
            if ready.size:
                memory["warmup"] = state.offset + int(ready[0])
        return expected, season, scale, seasons

    def _fit_expected(self, filled: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Trend + season, the season alone, and the residual's robust scale, fitted twice:
        a quick first fit finds the points far off, the second bridges them by interpolation,
        so a spike cannot pull its own season towards it (STL's robust mode does this too, at
        ~60x the cost).
        """
        periods = [period for period, _ in self.periods_]
        if self.robust:
            trend, season = decompose(filled, periods, seasonal=self.seasonal, robust=True)
            return trend + season, season, _residual_scale(filled - trend - season)
        trend, season = decompose(filled, periods, seasonal=self.seasonal, robust=False, quick=True)
        rough = trend + season
        outlying = np.abs(filled - rough) > self.threshold * _residual_scale(filled - rough)
        interpolated = pd.Series(np.where(outlying, np.nan, filled)).interpolate(
            limit_direction="both"
        )
        cleaned = interpolated.to_numpy()
        trend, season = decompose(cleaned, periods, seasonal=self.seasonal, robust=False)
        return trend + season, season, _residual_scale(cleaned - trend - season)

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit, and score each point against the decomposition of the series itself, each
        deviation ranked among the deviations before it (the first points', among the points
        after them)."""
        expected, self.season_, scale = self._learn(frame, need_step=False)
        z = _deviation(frame, expected, scale)
        calibrated = calibration.calibrate(
            z, z >= self.threshold, learning=calibration.LEARNING, ahead=True
        )
        return self._scored(frame, expected, scale, self._seasons(frame), calibrated)

    def member_fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`fit_score` as a member of a combination wants it (see `member_online`)."""
        expected, self.season_, scale = self._learn(frame, need_step=False)
        return self._scored(frame, expected, scale, self._seasons(frame))

    def _seasons(self, frame: pd.DataFrame) -> list[pd.Timedelta | None]:
        """The length of the longest season found, for each row."""
        return [self.periods_[-1][1]] * len(frame)

    def _phase(self, timestamps: pd.Series, period: int) -> np.ndarray:
        """Where in a season of `period` points each timestamp falls, counted from the
        training start."""
        offsets = (pd.DatetimeIndex(timestamps) - self.anchor_) / self.step_
        return np.mod(np.round(np.asarray(offsets, dtype=float)).astype(np.int64), period)

    def seasonal_part(self, frame: pd.DataFrame) -> np.ndarray:
        """The learned season at each row of a frame (after `fit`)."""
        part: np.ndarray = self.profile_[self._phase(frame["timestamp"], len(self.profile_))]
        return part

    def _applied_expected(self, frame: pd.DataFrame, first_level: float) -> np.ndarray:
        values = frame["value"].astype(float).reset_index(drop=True)
        season = self.seasonal_part(frame)
        deseasonal = pd.Series(values.to_numpy() - season)
        level = pd.Series(moving_median(deseasonal.shift(1), self.level_window_, 1))
        expected: np.ndarray = level.fillna(first_level).to_numpy() + season
        return expected

    def _fit(self, frame: pd.DataFrame) -> Self:
        """Find the seasons, and learn each phase's seasonal value and the residual's scale, so
        the model can score other stretches of the series without fitting again."""
        self._learn(frame, need_step=True)
        return self

    def _learn(
        self, frame: pd.DataFrame, *, need_step: bool
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Find the seasons (`periods_`) and decompose the series itself; where its step is
        regular, learn the model `score` applies to other stretches (each phase's seasonal
        value, the residual's scale, the last deviations). An irregular series is refused when
        `need_step`. The decomposition's expected values, seasonal part and residual scale."""
        self._find_periods(frame)
        step = infer_step(frame["timestamp"])
        if step is None and need_step:
            raise ParameterError("A seasonal model needs a series with a regular time step.")
        values = frame["value"].astype(float).reset_index(drop=True)
        filled = values.interpolate(limit_direction="both").to_numpy(dtype=float)
        expected, season, scale = self._fit_expected(filled)
        if step is None:
            return expected, season, scale
        self.anchor_, self.step_ = pd.Timestamp(frame["timestamp"].iloc[0]), step
        longest = self.periods_[-1][0]
        phases = self._phase(frame["timestamp"], longest)
        profile = pd.Series(season).groupby(phases).median().reindex(range(longest))
        self.profile_ = profile.interpolate(limit_direction="both").to_numpy(dtype=float)
        self.level_window_ = level_window(self.periods_[0][0])
        deseasonal = values.to_numpy() - self.profile_[phases]
        start = float(np.nanmedian(deseasonal[: self.level_window_]))
        residual = values.to_numpy() - self._applied_expected(frame, start)
        self.scale_ = max(robust_spread(residual), scale_floor(robust_spread(values)))
        self.last_level_ = float(np.nanmedian(deseasonal[-self.level_window_ :]))
        self.history_ = (np.abs(residual) / self.scale_)[-calibration.HISTORY :].copy()
        self.seen_ = len(frame)
        return expected, season, scale

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a frame with the learned season and scale; the level follows the frame."""
        return self._scored(
            frame, *self._applied(frame), self._seasons(frame), self._calibrated(frame)
        )

    def member_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`score` as a member of a combination wants it (see `member_online`)."""
        return self._scored(frame, *self._applied(frame), self._seasons(frame))

    def _applied(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        """Expected values and scale from the learned season and scale (the level follows the
        frame)."""
        if not hasattr(self, "profile_"):
            raise ParameterError(
                "This seasonal model learned a series without a regular time step, so it can "
                "only score that series: fit it on a series with a regular step."
            )
        step = infer_step(frame["timestamp"])
        if step is not None and step != self.step_:
            raise DataError(
                f"This model learned a series with a point {describe_step(self.step_)}; this "
                f"one has a point {describe_step(step)}."
            )
        return self._applied_expected(frame, self.last_level_), self.scale_

    def _calibrated(self, frame: pd.DataFrame) -> calibration.Calibration:
        """The frame's deviations ranked among the fitted series' last deviations and the
        frame's before them."""
        z = _deviation(frame, *self._applied(frame))
        return calibration.calibrate_continuation(self.history_, self.seen_, z, z >= self.threshold)

    def _scored(
        self,
        frame: pd.DataFrame,
        expected: np.ndarray,
        scale: np.ndarray | float,
        seasons: list[pd.Timedelta | None],
        calibrated: calibration.Calibration | None = None,
    ) -> pd.DataFrame:
        """A ScoredFrame from the expected values and scale: flagged at the threshold where
        the deviation is also rare on this series (`calibrated`), with its calibrated severity;
        without `calibrated`, at the threshold alone, severity from the deviation alone."""
        observed = frame["value"].to_numpy(dtype=float)
        z = _deviation(frame, expected, scale)
        flagged = z >= self.threshold
        if calibrated is None:
            severity = severity_from_deviation(z)
        else:
            flagged, severity = calibrated.flagged, calibrated.severity
        width = self.threshold * scale
        timestamps = frame["timestamp"].reset_index(drop=True)

        def describe(i: int) -> str:
            context = season_context(timestamps[i], seasons[i])
            rarity = "" if calibrated is None else f"; {calibration.describe(calibrated, i)}"
            return (
                f"{number(observed[i])} is {z[i]:.1f} robust deviations "
                f"{direction(observed[i], expected[i])} the expected {number(expected[i])}"
                f"{context}{rarity}"
            )

        return make_scored_frame(
            frame,
            score=z,
            severity=severity,
            is_anomaly=flagged,
            band=(expected - width, expected, expected + width),
            explanation=describe_flagged(flagged, describe),
        )
