"""The ensemble: detectors that see different kinds of trouble, one severity for all of them.

Members:
- a residual detector chosen for the series: seasonal decomposition when a season is found
  (by period or by the data), else the robust z-score;
- level change, on the deseasonalised series: catches shifts and new trends that the residual
  detector absorbs into its expected level;
- Isolation Forest, when asked for.

Every member's severity is on the same tail-probability scale (see `detection.scored`), so
they combine directly: a point may be flagged where the surest member (`any`) or the second
surest (`agree`: two members must be sure) reaches the threshold. The ensemble's score is the
largest member deviation (in robust deviations); its severity is how rare that score is in
the series' own history (`detection.calibration`), and a flag starts only where it is rare.
The explanation names the members that reached the threshold and gives each one's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Self

import numpy as np
import pandas as pd

from vigil.detection import calibration
from vigil.detection.base import GRID_SAMPLE, Detector, OnlineState
from vigil.detection.change import SCALE_HISTORY, level_change
from vigil.detection.errors import ParameterError
from vigil.detection.explain import number
from vigil.detection.iforest import IsolationForestDetector
from vigil.detection.params import MAX_SPAN, Param, severity_threshold
from vigil.detection.scored import (
    deviation_from_severity,
    make_scored_frame,
    severity_from_deviation,
)
from vigil.detection.stl import SeasonalDetector, expectation_lookback
from vigil.detection.tidy import infer_step
from vigil.detection.zscore import ZScoreDetector

COMBINATIONS = ("any", "agree")
#: The stretch a level change is measured against: a day of points where the step allows,
#: else this many points.
PLAIN_BEFORE = 96
MAX_BEFORE = 2880
MEMBER_LABELS = {
    "seasonal": "seasonal decomposition",
    "zscore": "robust z-score",
    "change": "level change",
    "forest": "Isolation Forest",
}


class EnsembleDetector(Detector):
    """Seasonal or robust residual, level change and optionally Isolation Forest, combined."""

    name = "ensemble"
    label = "Ensemble"
    summary = (
        "Seasonal decomposition (or a robust z-score when there is no season) and a level-change "
        "test, optionally Isolation Forest; flags where they are sure."
    )
    PARAMS = (
        severity_threshold(
            "Flag points where a member (two, with agree) is at least this sure (0.9 is about "
            "as rare as a 5-sigma deviation), where that is also rare in the series' own "
            "history."
        ),
        Param(
            "combine",
            str,
            "any",
            "Combine",
            "any: the highest member severity counts; agree: the second highest, so two "
            "members must be sure.",
            choices=COMBINATIONS,
        ),
        Param(
            "level_window",
            int,
            8,
            "Level-change window (points)",
            "Recent points whose median is compared with the stretch before them.",
            minimum=3,
            maximum=10_000,
        ),
        Param(
            "forest",
            bool,
            False,
            "Include Isolation Forest",
            "Add Isolation Forest as a member (slower; on the labelled suite it adds more false "
            "alarms than finds).",
        ),
        Param(
            "period",
            int,
            0,
            "Period (points)",
            "Points per season; 0 lets the data decide, and no season found means the robust "
            "z-score.",
            minimum=0,
            maximum=MAX_SPAN,
        ),
    )

    def __init__(
        self,
        *,
        threshold: float = 0.9,
        combine: str = "any",
        level_window: int = 8,
        forest: bool = False,
        period: int = 0,
    ) -> None:
        self.threshold = threshold
        self.combine = combine
        self.level_window = level_window
        self.forest = forest
        self.period = period

    def _fit(self, frame: pd.DataFrame) -> Self:
        """Fit the members that learn (the residual detector, the forest) so the ensemble can
        score other stretches of the series without fitting again; keep the series' last
        scores, which later ones are ranked among."""
        self.before_ = self._before(frame)
        seasonal = SeasonalDetector(period=self.period)
        try:
            self.residual_: Detector = seasonal._fit(frame)
        except ParameterError:
            if self.period:
                raise
            self.residual_ = ZScoreDetector(method="robust")._fit(frame)
        self.forest_ = IsolationForestDetector()._fit(frame) if self.forest else None
        self.history_ = self._assemble(frame, *self._fitted_members(frame)).score.to_numpy()
        self.history_ = self.history_[-calibration.HISTORY :].copy()
        self.seen_ = len(frame)
        return self

    def _fitted_members(
        self, frame: pd.DataFrame
    ) -> tuple[str, pd.DataFrame, np.ndarray, int, pd.DataFrame | None]:
        """What the fitted members make of `frame` (see `_assemble`)."""
        residual = self.residual_
        scored = residual.member_score(frame)  # type: ignore[attr-defined]
        if isinstance(residual, SeasonalDetector):
            name, season = "seasonal", residual.seasonal_part(frame)
        else:
            name, season = "zscore", np.zeros(len(frame))
        forest = None if self.forest_ is None else self.forest_.member_score(frame)
        return name, scored, season, self.before_, forest

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score with the fitted members, the combined score ranked among the fitted series'
        last scores and the frame's before it."""

        def calibrate(score: np.ndarray, past: np.ndarray) -> calibration.Calibration:
            return calibration.calibrate_continuation(self.history_, self.seen_, score, past)

        return self._assemble(frame, *self._fitted_members(frame), calibrate=calibrate)

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit, and score the series by its members' scores of the series itself (the residual
        from a decomposition of the whole series), the combined score ranked among the scores
        before it (the first points', among the points after them)."""
        self.before_ = self._before(frame)
        name, self.residual_, residual, season = self._residual(frame)
        self.forest_ = IsolationForestDetector() if self.forest else None
        forest = None if self.forest_ is None else self.forest_.member_fit_score(frame)

        def calibrate(score: np.ndarray, past: np.ndarray) -> calibration.Calibration:
            return calibration.calibrate(score, past, learning=calibration.LEARNING, ahead=True)

        scored = self._assemble(
            frame, name, residual, season, self.before_, forest, calibrate=calibrate
        )
        self.history_ = scored["score"].to_numpy()[-calibration.HISTORY :].copy()
        self.seen_ = len(frame)
        return scored

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """The robust z-score's warm-up (the seasonal member takes over once it is ready), and
        calibration.LEARNING scores more."""
        return ZScoreDetector(method="robust").online_warmup()

    def online_context(self) -> int:
        change = self.level_window + MAX_BEFORE + SCALE_HISTORY + 2
        members = [
            SeasonalDetector(period=self.period).online_context(),
            ZScoreDetector(method="robust").online_context(),
            change,
        ]
        if self.forest:
            members.append(IsolationForestDetector().online_context())
        return max(members)

    def online_prepare(self, frame: pd.DataFrame, state: OnlineState) -> None:
        """The seasonal member's season checks."""
        SeasonalDetector(period=self.period).online_prepare(frame, state.member("seasonal"))

    def online_lookback(self, state: OnlineState, start: int, end: int) -> int:
        """The most any member reads; the level change reads its scale's history of changes,
        each a day of deseasonalised values."""
        memory = state.memory
        if "before" not in memory:
            return self.online_context()
        seasonal = SeasonalDetector(period=self.period)
        season = state.member("seasonal")
        periods = seasonal.online_periods(season.memory)
        deseasonal = 0 if periods is None else expectation_lookback(periods[0])
        needs: list[int] = [
            seasonal.online_lookback(season, start, end),
            ZScoreDetector(method="robust").online_context(),
            self.level_window + memory["before"] + SCALE_HISTORY + 2 + deseasonal,
        ]
        if self.forest:
            needs.append(
                IsolationForestDetector().online_lookback(state.member("forest"), start, end)
            )
        return min(max(needs), self.online_context())

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """The seasonal member where it is ready, the robust z-score before that (and for a
        series with no season); the level change restarts where the season starts."""
        memory = state.memory
        if "before" not in memory:
            memory["before"] = self._before(frame)
        offset, n = state.offset, len(frame)
        seasonal = SeasonalDetector(period=self.period)
        season_state = replace(state.member("seasonal"), whole=False)
        by_season, seasonal_part = seasonal.member_online(frame, season_state)
        switch = seasonal.first_scored_row(frame, season_state)
        robust = ZScoreDetector(method="robust")
        # the z-score reads little: score it from its own look-back before the wanted rows
        skip = max(0, state.scored_from - robust.online_context())
        level_state = replace(
            state.member("zscore"), offset=offset + skip, scored_from=state.scored_from - skip
        )
        tail = frame.iloc[skip:].reset_index(drop=True)
        by_level = robust.mask_warmup(
            robust.member_score_online(tail, level_state), offset=offset + skip
        )
        if skip:  # context rows: their scores are not used
            by_level = pd.concat([by_season.iloc[:skip], by_level], ignore_index=True)
        position = offset + np.arange(n)
        ready = position >= switch
        residual = by_level.copy()
        residual.loc[ready] = by_season.loc[ready]
        kind = np.where(ready, "seasonal", "zscore")
        season = np.where(ready, seasonal_part, 0.0)
        # a level change compares like with like: not across the start of the season
        restart = (position >= switch) & (position < switch + self.level_window + memory["before"])
        forest = None
        if self.forest:
            member = IsolationForestDetector()
            forest = member.mask_warmup(
                member.member_score_online(frame, state.member("forest")), offset=offset
            )
        return self._assemble(
            frame,
            kind,
            residual,
            season,
            memory["before"],
            forest,
            calibrate=lambda score, past: calibration.calibrate_online(
                score, state, past, learning=self.online_warmup()
            ),
            causal=True,
            restart=restart,
            since=switch + self.level_window + memory["before"] - offset,
        )

    def _residual(self, frame: pd.DataFrame) -> tuple[str, Detector, pd.DataFrame, np.ndarray]:
        """The batch residual member: its name, the member (fitted on the series), its
        ScoredFrame of the series, and the season it removed (zeros when there is none)."""
        seasonal = SeasonalDetector(period=self.period)
        try:
            scored = seasonal.member_fit_score(frame)
            return "seasonal", seasonal, scored, seasonal.season_
        except ParameterError:
            if self.period:
                raise
        robust = ZScoreDetector(method="robust")
        return "zscore", robust, robust.member_fit_score(frame), np.zeros(len(frame))

    def _assemble(
        self,
        frame: pd.DataFrame,
        kind: str | np.ndarray,
        residual: pd.DataFrame,
        season: np.ndarray,
        before: int,
        forest: pd.DataFrame | None,
        *,
        calibrate: Callable[[np.ndarray, np.ndarray], calibration.Calibration] | None = None,
        causal: bool = False,
        restart: np.ndarray | None = None,
        since: int | None = None,
    ) -> pd.DataFrame:
        """Combine the members' severities into one ScoredFrame. `kind` names the residual
        member (per row, or one for all); the level-change test is scaled on the points before
        each one (`causal`) or on the whole frame, and left out where `restart` is set.

        The score is the largest member deviation (the forest's severity as a Gaussian
        deviation). `calibrate(score,
        past)` ranks it in the series' own history, which gives the severity, and flags where
        `past` (the members are sure: one, or two with `agree`) allows; without it, the flags
        are `past` and the severity the surest member's."""
        values = frame["value"].to_numpy(dtype=float)
        change, change_deviation = level_change(
            values - season, recent=self.level_window, before=before, causal=causal, since=since
        )
        if restart is not None:
            change_deviation = np.where(restart, np.nan, change_deviation)
        kinds = np.broadcast_to(np.asarray(kind, dtype=object), (len(frame),))
        members = {
            "residual": residual["severity"].to_numpy(dtype=float),
            "change": severity_from_deviation(change_deviation),
        }
        reasons = {"residual": residual["explanation"].to_numpy()}
        if forest is not None:
            members["forest"] = forest["severity"].to_numpy(dtype=float)
            reasons["forest"] = forest["explanation"].to_numpy()
        stacked = np.vstack(list(members.values()))
        severity = _nth_highest(stacked, 1)
        # the surest member's deviation: from the members' own, which do not saturate
        deviations = [residual["score"].to_numpy(dtype=float), change_deviation]
        if forest is not None:
            deviations.append(deviation_from_severity(members["forest"]))
        score = _nth_highest(np.vstack(deviations), 1)
        sure = _nth_highest(stacked, 1 if self.combine == "any" else 2)
        flagged = (sure >= self.threshold) & ~np.isnan(values)
        if calibrate is not None:
            calibrated = calibrate(score, flagged)
            flagged, severity = calibrated.flagged, calibrated.severity
        explanation = np.full(len(frame), "", dtype=object)
        for i in np.flatnonzero(flagged).tolist():
            explanation[i] = self._explain(
                i,
                members,
                reasons,
                kinds[i],
                change,
                before,
                values[i],
                residual["expected"].iloc[i],
            )
            if calibrate is not None:
                explanation[i] += f"; {calibration.describe(calibrated, i)}"
        band = (residual["lower"], residual["expected"], residual["upper"])
        return make_scored_frame(
            frame,
            score=score,
            severity=severity,
            is_anomaly=flagged,
            band=band,
            explanation=explanation,
        )

    def _before(self, frame: pd.DataFrame) -> int:
        """How many points a level change is measured against: a day's worth when the step
        (from the first points, so later points cannot change it) divides a day."""
        step = infer_step(frame["timestamp"].iloc[:GRID_SAMPLE])
        before = PLAIN_BEFORE
        if step is not None and pd.Timedelta(0) < step <= pd.Timedelta(hours=3):
            per_day = pd.Timedelta(days=1) / step
            if float(per_day).is_integer():
                before = min(int(per_day), MAX_BEFORE)
        return max(before, 4 * self.level_window)

    def _explain(
        self,
        i: int,
        members: dict[str, np.ndarray],
        reasons: dict[str, np.ndarray],
        kind: str,
        change: np.ndarray,
        before: int,
        value: float,
        expected: float,
    ) -> str:
        sure = [name for name, severity in members.items() if severity[i] >= self.threshold]
        sure = sure or [max(members, key=lambda name: np.nan_to_num(members[name][i]))]
        words = [MEMBER_LABELS[kind if name == "residual" else name] for name in sure]
        lead = (
            f"{words[0].capitalize()} alone"
            if len(words) == 1
            else f"{', '.join(words[:-1]).capitalize()} and {words[-1]} agreed"
        )
        parts = []
        for name in sure:
            if name == "change":
                parts.append(
                    f"the median of the last {self.level_window} points moved "
                    f"{'up' if change[i] >= 0 else 'down'} by {number(abs(change[i]))} from the "
                    f"{before} points before them"
                )
            elif reasons[name][i]:
                parts.append(str(reasons[name][i]))
            else:
                parts.append(f"{number(value)} against an expected {number(expected)}")
        return f"{lead}: " + "; ".join(parts)


def _nth_highest(values: np.ndarray, rank: int) -> np.ndarray:
    """Per column, the `rank`-th highest of the members' values (severities or deviations,
    never negative; `rank` at most the number of members); NaN where fewer are present."""
    present = ~np.isnan(values)
    ordered = np.sort(np.where(present, values, -1.0), axis=0)
    combined = ordered[-min(rank, len(values))]
    return np.where(combined < 0, np.nan, combined)
