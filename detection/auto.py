"""The automatic detector: how rare is this point in its own series' history?

Four views of each point are ranked among the same view of the series' previous HISTORY
points (see `detection.rarity`): its value, its change from the point before, the level and
the spread of the last LOCAL points. A series that repeats daily or weekly is judged by its
departure from the same time on the previous days or weeks instead (see `detection.cycles`):
the departure's own value, change, level and spread, so a peak that does not come is as
visible as one that comes too high, and a day that starts to climb shows in its level within
hours. Each rank gives a surprise in nats (`-ln p` of a two-sided tail probability); the
score is their sum. Ranking a series against itself calibrates the score by construction: a
noisy or heavy-tailed series is judged by its own tails, so a flag at the default threshold
is about as rare on every series.

Five rules keep flags to the moments worth an alert:
- a learning period: no point is flagged before the series has LEARNING points of history,
  or a day's worth when its step is shorter (a daily season is seen through first);
- first detection: a point is flagged only when its score beats every score of the RECENT
  points before it, so the points that follow a spike (whose local spread still contains it)
  and a level that stays shifted are not flagged again and again;
- right after a flag, a point is flagged only when its own departure from the expected value
  is rarer than GATE nats: the point after a spike, back to normal, is not flagged;
- within RECENT points of an episode, a new one starts only at REPEAT times its peak score: a
  change that builds up over minutes is one episode;
- the expected value is the median of the LOCAL points before (or, for a daily or weekly
  series, of the same time on the previous days or weeks), which a spike cannot drag.

Streaming scores are the same however a stream is cut into batches: every rank is causal,
the blocks it is computed in are aligned to the series' row numbers, and a stream keeps its
last episode in its state. Batch scores are the same too, but in a series' first days: a
stream needs a week of history to tell that a series repeats daily or weekly, while batch
mode, which knows the whole series, judges it by its cycle from the first day it can (see
`detection.cycles.cycle_modes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from vigil.detection.base import Detector, OnlineState, grid_step
from vigil.detection.cycles import CYCLE_CONTEXT, CYCLES, cycle_modes, cycle_rows
from vigil.detection.episodes import GAP
from vigil.detection.explain import number, odds
from vigil.detection.params import severity_threshold
from vigil.detection.rarity import BLOCK, Rarity, rarity_at, trailing_rarity
from vigil.detection.rolling import moving_max, moving_median
from vigil.detection.scored import make_scored_frame

#: Points of the series' own history each view is ranked in.
HISTORY = 8000
#: Points in the local level and spread.
LOCAL = 10
#: A flag must beat the score of every one of this many points before it.
RECENT = 100
#: Points of history before the first flag: at least LEARNING, and LEARNING_DAYS of points
#: for a series with a regular step of under a day (so a daily season has been seen through),
#: at most half the history.
LEARNING = 300
LEARNING_DAYS = 1
#: Summed surprise (nats) at severity 0.9, the default threshold: validated on real labelled
#: series, where it keeps false alarms to about one a week per series.
SURPRISE_AT_SEVERITY_0_9 = 19.0
#: The expected band drawn around a series: where all but this share of its history lay on
#: each side, so one spike in the history does not widen the band to it.
BAND_SHARE = 0.01
#: Views worth naming in an explanation: rarer than about 1 in 20 (in nats).
NOTABLE = 3.0
#: Right after a flag, a point's departure from the expected value must be at least this
#: surprising (nats, about 1 in 20) for it to be flagged too.
GATE = 3.0
#: Within RECENT points of an episode, a new one starts only when its score is this many times
#: the episode's peak (twice: as rare as the peak twice over): a change that builds up over
#: minutes (a level climbing to a new normal, a spread widening) is one episode, not several.
REPEAT = 2.0

#: How each cycle's departure is measured, in words.
SAME_TIME = {
    "daily": f"on the last {CYCLES} days",
    "weekly": f"of the week in the last {CYCLES} weeks",
}
#: A view's record high and low, and how to say it is unusually so, for views of a level, of
#: a change (or a departure) and of a spread.
HIGH = (("highest", "lowest"), ("higher than usual", "lower than usual"))
RISE = (("largest rise", "largest fall"), ("a larger rise than usual", "a larger fall than usual"))
WIDE = (("widest", "narrowest"), ("wider than usual", "narrower than usual"))


#: What a view is called, its record high and low, and how to say it is unusually so.
View = tuple[str, tuple[str, str], tuple[str, str]]


def _cycle_views(cycle: str, same: str) -> dict[str, View]:
    """The views of the departure from a cycle, as VIEWS names them."""
    return {
        f"{cycle} value": (f"the departure from the same time {same}", *RISE),
        f"{cycle} change": (f"the change from the point before, net of the {cycle} cycle,", *RISE),
        f"{cycle} level": (
            f"the level of the last {LOCAL} points against the same times {same}",
            *HIGH,
        ),
        f"{cycle} spread": (
            f"the spread of the last {LOCAL} points around the {cycle} cycle",
            *WIDE,
        ),
    }


#: What each view is called, its record high and low, and how to say it is unusually so.
VIEWS: dict[str, View] = {
    "value": ("the value", *HIGH),
    "change": ("the change from the point before", *RISE),
    "level": (f"the level of the last {LOCAL} points", *HIGH),
    "spread": (f"the spread of the last {LOCAL} points", *WIDE),
    **{
        name: words
        for cycle, same in SAME_TIME.items()
        for name, words in _cycle_views(cycle, same).items()
    },
}


def views(values: np.ndarray) -> dict[str, np.ndarray]:
    """The four views of each point, from it and the points before it only."""
    series = pd.Series(values)
    recent = series.rolling(LOCAL, min_periods=LOCAL // 2)
    return {
        "value": values,
        "change": series.diff().to_numpy(),
        "level": recent.mean().to_numpy(),
        "spread": recent.std().to_numpy(),
    }


def learning_rows(step: int | None) -> int:
    """Points a series with this regular step (ns; None when irregular) learns for."""
    if not step:
        return LEARNING
    per_day = pd.Timedelta(days=1).value / step
    return int(max(LEARNING, min(LEARNING_DAYS * per_day, HISTORY // 2)))


def severity_from_surprise(surprise: np.ndarray) -> np.ndarray:
    """Summed surprise in nats to severity in [0, 1): SURPRISE_AT_SEVERITY_0_9 gives 0.9."""
    severity: np.ndarray = 1.0 - np.power(
        10.0, -np.clip(surprise, 0.0, None) / SURPRISE_AT_SEVERITY_0_9
    )
    return severity


def surprise_at(severity: float) -> float:
    """The summed surprise a severity threshold stands for."""
    return -SURPRISE_AT_SEVERITY_0_9 * float(np.log10(1.0 - severity))


class AutoDetector(Detector):
    """Ranks each point's value, change, local level and spread in the series' own history."""

    name = "auto"
    label = "Automatic"
    summary = (
        "Judges each point by how rare its value, change, local level and spread are in the "
        "series' own history; learns a new series first and flags the start of each anomaly: "
        "a good first choice."
    )
    PARAMS = (
        severity_threshold(
            "Flag points at least this severe (0.9 is validated on real labelled series: about "
            "one false alarm a week per series)."
        ),
    )

    def __init__(self, *, threshold: float = 0.9) -> None:
        self.threshold = threshold

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        if frame is None:
            return LEARNING
        return learning_rows(grid_step(frame["timestamp"]))

    def online_context(self) -> int:
        return HISTORY + BLOCK + RECENT + LOCAL + CYCLE_CONTEXT

    def _fit(self, frame: pd.DataFrame) -> Self:
        """Judge the series once, and keep its end and its last episode: later points are
        ranked in it as history."""
        self._fit_score(frame)
        return self

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score `frame` as the continuation of the series the detector was fitted on."""
        values = np.concatenate([self.history_, frame["value"].to_numpy(dtype=float)])
        kept = len(self.history_)
        offset = self.seen_ - kept
        return self._judge(
            frame,
            values,
            first=kept,
            offset=offset,
            learning=self.learning_,
            periods=self.cycles_,
            memory=dict(self.memory_),
        )

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = frame["value"].to_numpy(dtype=float)
        self.history_ = values[-self.online_context() :].copy()
        self.seen_ = len(values)
        self.learning_ = self.online_warmup(frame)
        self.cycles_ = cycle_rows(grid_step(frame["timestamp"]))
        self.memory_: dict[str, Any] = {}
        return self._judge(
            frame,
            values,
            first=0,
            offset=0,
            learning=self.learning_,
            periods=self.cycles_,
            memory=self.memory_,
            hindsight=True,
        )

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        scored = self._score_online_from(frame, state)
        context = frame.iloc[: state.scored_from]
        if context.empty:
            return scored
        unscored = make_scored_frame(
            context, score=np.nan, severity=np.nan, is_anomaly=np.zeros(len(context), bool)
        )
        return pd.concat([unscored, scored])

    def _score_online_from(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        values = frame["value"].to_numpy(dtype=float)
        step = grid_step(frame["timestamp"])
        return self._judge(
            frame.iloc[state.scored_from :],
            values,
            first=state.scored_from,
            offset=state.offset,
            learning=learning_rows(step),
            periods=cycle_rows(step),
            memory=state.memory,
        )

    def _judge(
        self,
        frame: pd.DataFrame,
        values: np.ndarray,
        *,
        first: int,
        offset: int,
        learning: int,
        periods: dict[str, int],
        memory: dict[str, Any],
        hindsight: bool = False,
    ) -> pd.DataFrame:
        """Score rows `first:` of `values` (row `offset` of the series onwards), which end with
        the rows of `frame`; the rows before `first` are history, and the series' first
        `learning` rows are never flagged. `periods`: the rows of the cycles it may be
        judged by (see `detection.cycles`).
        `memory`: the last episode before `first` (see `_hold_repeats`) and the scores and
        candidates of the rows just before it (`_Recent`), brought up to date; rows judged
        before are not ranked again when their scores are there.
        With `hindsight` (batch mode: `values` is the whole series), the series' first days
        are judged by the cycle its first HISTORY rows show, before a stream could tell."""
        carried: _Recent | None = memory.get("recent")
        if carried is not None and (
            carried.next_row != offset + first or not 0 < len(carried.scores) <= first
        ):
            carried = None  # not the rows just before these
        ranked_from = first if carried else max(0, first - RECENT)
        previous = np.concatenate([[np.nan], values[:-1]])
        # the expected value of the rows ranked (of every row, should one be judged by its
        # departure below): the median of the LOCAL values before, the same from any start
        expected = _moving_median_from(previous, ranked_from)
        cycles = cycle_modes(
            values,
            periods,
            history=HISTORY,
            offset=offset,
            first=ranked_from,
            hindsight=hindsight,
        )
        judged_by_cycle = cycles.mode >= 0
        # a series that repeats daily (weekly) is judged by its departure from the same time
        # on the previous days (weeks) instead of its value: the departure's own value,
        # change, level and spread
        ranked_views = {"": views(values)}
        wanted = {"": ~judged_by_cycle}
        for name in cycles.names:
            rows = cycles.rows(name)
            if rows.any():
                ranked_views[name + " "] = views(values - cycles.usual[name])
                wanted[name + " "] = rows
        rarity = {
            prefix + name: trailing_rarity(
                view,
                HISTORY,
                first=ranked_from,
                offset=offset,
                band_quantile=BAND_SHARE,
                wanted=wanted[prefix] if judged_by_cycle.any() else None,
            )
            for prefix, named in ranked_views.items()
            for name, view in named.items()
        }
        judged_by = {name: rarity[name].surprise for name in ranked_views[""]}
        lower, upper = rarity["value"].lower, rarity["value"].upper
        for prefix in list(ranked_views)[1:]:
            rows, usual = wanted[prefix], cycles.usual[prefix.strip()]
            for name in judged_by:
                judged_by[name] = np.where(rows, rarity[prefix + name].surprise, judged_by[name])
            expected = np.where(rows, usual, expected)
            lower = np.where(rows, usual + rarity[prefix + "value"].lower, lower)
            upper = np.where(rows, usual + rarity[prefix + "value"].upper, upper)
        surprise = np.vstack([np.abs(s) for s in judged_by.values()])
        score = np.where(np.isnan(values), np.nan, np.nansum(surprise, axis=0))
        severity = severity_from_surprise(score)
        if carried:  # the rows before `first` as they were judged
            score[first - len(carried.scores) : first] = carried.scores
        before = moving_max(np.concatenate([[np.nan], score[:-1]]), RECENT, 1)
        position = offset + np.arange(len(values))
        candidate = (
            (score >= surprise_at(self.threshold))
            & (score > np.nan_to_num(before))
            & (position >= learning)
        )
        if carried:
            candidate[: first - len(carried.candidates)] = False
            candidate[first - len(carried.candidates) : first] = carried.candidates
        memory["recent"] = _Recent(
            offset + len(values), score[-RECENT:].copy(), candidate[-(GAP + 1) :].copy()
        )
        # right after a flag, a point joins the episode only if it departs from the expected
        # itself: the point after a spike is not "the worst" of the spike's episode
        follows = _any_in_last(candidate, GAP + 1)
        judged = np.flatnonzero((candidate & follows)[first:]) + first
        if judged.size:  # departures are ranked among those of the rows before too
            expected[:ranked_from] = _moving_median_from(previous, 0)[:ranked_from]
        departure = rarity_at(values - expected, judged, HISTORY, offset=offset)
        flagged = candidate.copy()
        flagged[judged] = np.abs(np.nan_to_num(departure)) >= GATE
        _hold_repeats(flagged, score, first=first, offset=offset, memory=memory)
        severity[position < learning] = np.nan
        score[position < learning] = np.nan
        scored_rows = slice(len(values) - len(frame), None)
        explanation = np.full(len(values), "", dtype=object)
        for i in np.flatnonzero(flagged[scored_rows]) + scored_rows.start:
            cycle = cycles.names[cycles.mode[i]] if cycles.mode[i] >= 0 else None
            explanation[i] = explain(int(i), values, expected, rarity, cycle=cycle)
        return make_scored_frame(
            frame,
            score=score[scored_rows],
            severity=severity[scored_rows],
            is_anomaly=flagged[scored_rows],
            band=(lower[scored_rows], expected[scored_rows], upper[scored_rows]),
            explanation=explanation[scored_rows],
        )


@dataclass(frozen=True)
class _Recent:
    """What judging a row needs of the rows just before it, kept from when they were judged:
    the scores of the last RECENT rows (a flag must beat them all) and whether the last GAP + 1
    were candidates (a point right after one must depart from the expected itself), before
    series row `next_row`."""

    next_row: int
    scores: np.ndarray
    candidates: np.ndarray


def _moving_median_from(previous: np.ndarray, start: int) -> np.ndarray:
    """The moving median of LOCAL values (`moving_median(previous, LOCAL, 1)`) from row
    `start` on; NaN before. Each median reads its own window only: the same as the whole."""
    expected = np.full(len(previous), np.nan)
    low = max(0, start - LOCAL + 1)
    expected[start:] = moving_median(previous[low:], LOCAL, 1)[start - low :]
    return expected


def _any_in_last(flags: np.ndarray, rows: int) -> np.ndarray:
    """Per row, whether any of the `rows` rows before it is flagged."""
    seen = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])  # flags before each row
    before: np.ndarray = seen[:-1] > seen[np.maximum(np.arange(len(flags)) - rows, 0)]
    return before


def _hold_repeats(
    flagged: np.ndarray, score: np.ndarray, *, first: int, offset: int, memory: dict[str, Any]
) -> None:
    """Unflag, from row `first` on, each flag that would start a new episode (more than GAP
    rows after the last flag) within RECENT rows of the last one with a score under REPEAT
    times that episode's peak. `memory["last_flag"]` holds the last flag's series row
    and its episode's peak so far (None before any), and is brought up to date."""
    last = memory.get("last_flag")
    last_row, peak = (None, 0.0) if last is None else last
    for i in np.flatnonzero(flagged[first:]) + first:
        row = offset + int(i)
        since = RECENT + 1 if last_row is None else row - last_row
        if GAP < since <= RECENT and score[i] < peak * REPEAT:
            flagged[i] = False
            continue
        peak = float(score[i]) if since > GAP else max(peak, float(score[i]))
        last_row = row
    memory["last_flag"] = None if last_row is None else (last_row, peak)


def explain(
    i: int,
    values: np.ndarray,
    expected: np.ndarray,
    rarity: dict[str, Rarity],
    *,
    cycle: str | None = None,
) -> str:
    """'812 against an expected 140: the value is the highest in 8,000 points; ...', naming
    the views that stood out (value, change, level, spread, in that order; for a point judged
    by its daily or weekly `cycle`, those of its departure from the same time on the previous
    days or weeks)."""
    prefix = f"{cycle} " if cycle else ""
    names = [prefix + name for name in ("value", "change", "level", "spread")]
    notable = [name for name in names if abs(np.nan_to_num(rarity[name].surprise[i])) >= NOTABLE]
    parts = [_rarity_words(name, rarity[name], i) for name in notable]
    lead = f"{number(values[i])} against an expected {number(expected[i])}"
    return f"{lead}: " + "; ".join(parts) if parts else lead


def _rarity_words(name: str, rarity: Rarity, i: int) -> str:
    """'the value is the highest in 8,000 points', or 'the value is higher than usual (1 in
    370)'."""
    what, records, unusual = VIEWS[name]
    surprise, seen = rarity.surprise[i], int(rarity.history[i])
    side = 0 if surprise > 0 else 1
    if abs(surprise) >= np.log((seen + 1) / 2) - 1e-9:
        return f"{what} is the {records[side]} in {seen:,} points"
    return f"{what} is {unusual[side]} ({odds(float(np.exp(-abs(surprise))))})"
