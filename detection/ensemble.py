"""The ensemble: detectors that see different kinds of trouble, one severity for all of them.

Members:
- a residual detector chosen for the series: seasonal decomposition when a season is found
  (by period or by the data), else the robust z-score;
- level change, on the deseasonalised series: catches shifts and new trends that the residual
  detector absorbs into its expected level;
- Isolation Forest, when asked for.

Every member's severity is on the same tail-probability scale (see `detection.scored`), so
they combine directly: `any` takes the highest (a point is as severe as the surest member
says), `agree` the second highest (two members must be sure). The explanation names the
members that reached the threshold and gives each one's reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Self

import numpy as np
import pandas as pd

from detection.base import GRID_SAMPLE, Detector, OnlineState
from detection.change import SCALE_HISTORY, level_change
from detection.errors import ParameterError
from detection.explain import number
from detection.iforest import IsolationForestDetector
from detection.params import Param, severity_threshold
from detection.scored import deviation_from_severity, make_scored_frame, severity_from_deviation
from detection.stl import SeasonalDetector, expectation_lookback
from detection.tidy import infer_step
from detection.zscore import ZScoreDetector

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
            "Flag points whose combined severity is at least this (0.9 is about as rare as a "
            "5-sigma deviation)."
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
        score other stretches of the series without fitting again."""
        self.before_ = self._before(frame)
        seasonal = SeasonalDetector(period=self.period)
        try:
            self.residual_: Detector = seasonal._fit(frame)
        except ParameterError:
            if self.period:
                raise
            self.residual_ = ZScoreDetector(method="robust")._fit(frame)
        self.forest_ = IsolationForestDetector()._fit(frame) if self.forest else None
        return self

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        scored = self.residual_._score(frame)
        if isinstance(self.residual_, SeasonalDetector):
            name, season = "seasonal", self.residual_.seasonal_part(frame)
        else:
            name, season = "zscore", np.zeros(len(frame))
        forest = None if self.forest_ is None else self.forest_._score(frame)
        return self._assemble(frame, name, scored, season, self.before_, forest, causal=False)

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        name, residual, season = self._residual(frame)
        forest = IsolationForestDetector()._fit_score(frame) if self.forest else None
        before = self._before(frame)
        return self._assemble(frame, name, residual, season, before, forest, causal=False)

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """The robust z-score's warm-up: the seasonal member takes over once it is ready."""
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
        needs = [
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
        by_season, seasonal_part = seasonal.online_scored(frame, season_state)
        switch = seasonal.first_scored_row(frame, season_state)
        robust = ZScoreDetector(method="robust")
        # the z-score reads little: score it from its own look-back before the wanted rows
        skip = max(0, state.scored_from - robust.online_context())
        level_state = replace(
            state.member("zscore"), offset=offset + skip, scored_from=state.scored_from - skip
        )
        tail = frame.iloc[skip:].reset_index(drop=True)
        by_level = robust.mask_warmup(robust._score_online(tail, level_state), offset=offset + skip)
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
                member._score_online(frame, state.member("forest")), offset=offset
            )
        return self._assemble(
            frame,
            kind,
            residual,
            season,
            memory["before"],
            forest,
            causal=True,
            restart=restart,
            since=switch + self.level_window + memory["before"] - offset,
        )

    def _residual(self, frame: pd.DataFrame) -> tuple[str, pd.DataFrame, np.ndarray]:
        """The batch residual member's ScoredFrame, its name, and the season it removed
        (zeros when there is none)."""
        seasonal = SeasonalDetector(period=self.period)
        try:
            scored = seasonal._fit_score(frame)
            return "seasonal", scored, seasonal.season_
        except ParameterError:
            if self.period:
                raise
        return "zscore", ZScoreDetector(method="robust")._fit_score(frame), np.zeros(len(frame))

    def _assemble(
        self,
        frame: pd.DataFrame,
        kind: str | np.ndarray,
        residual: pd.DataFrame,
        season: np.ndarray,
        before: int,
        forest: pd.DataFrame | None,
        *,
        causal: bool,
        restart: np.ndarray | None = None,
        since: int | None = None,
    ) -> pd.DataFrame:
        """Combine the members' severities into one ScoredFrame. `kind` names the residual
        member (per row, or one for all); the level-change test is scaled on the points before
        each one (`causal`) or on the whole frame, and left out where `restart` is set."""
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
        severity = self._combine(np.vstack(list(members.values())))
        flagged = (severity >= self.threshold) & ~np.isnan(values)
        explanation = np.full(len(frame), "", dtype=object)
        for i in np.flatnonzero(flagged):
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
        band = (residual["lower"], residual["expected"], residual["upper"])
        return make_scored_frame(
            frame,
            score=deviation_from_severity(severity),
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

    def _combine(self, severities: np.ndarray) -> np.ndarray:
        present = ~np.isnan(severities)
        ordered = np.sort(np.where(present, severities, -1.0), axis=0)
        rank = 1 if self.combine == "any" or len(severities) < 2 else 2
        combined = ordered[-rank]
        return np.where(combined < 0, np.nan, combined)

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
