"""Severity calibrated on the series' own history: how rare is this score among its past scores?

The single detectors (z-score, STL, Isolation Forest) and the ensemble each compute a score in
their own units, whose tails differ from series to series: a z-score of 4 is rare on clean
noise and happens every hour on tweet counts. `calibrate` ranks each score among the scores of
the (at most) HISTORY rows before it (`detection.rarity.trailing_rarity`, one-sided: only a
high score is unusual) and turns the rank into a surprise in nats (`-ln p`), and that into a
severity. A point is flagged only where the detector's own threshold is passed and the score
is rare on the series itself (surprise at least RARE: about 1 in 800 of its past scores,
whatever its tails; until the history is long enough for that, beaten by at most TOLERATED
earlier scores), LEARNING rows after the detector's first score. A flag starts only where the
score beats every score of the RECENT rows before it (first detection: the points that follow
a spike, and a level that stays shifted, do not start flags again and again), and goes on
while the points stay past the threshold: one run, one episode.

Guarantees: in streaming mode a row's calibration reads the rows before it only, in blocks laid
on the series' row numbers, so it is the same however a stream was cut into batches; a stream
keeps the scores it needs in its `OnlineState` (`calibrate_online`), not the rows behind them.
In batch mode (`ahead=True`) the rows of the learning period, which have no past to be judged
by, are ranked among the rows after them instead, as batch z-scores borrow their first window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np

from vigil.detection import rarity
from vigil.detection.base import OnlineState
from vigil.detection.episodes import GAP
from vigil.detection.explain import odds
from vigil.detection.rarity import trailing_rarity
from vigil.detection.rolling import moving_max

#: Earlier scores each score is ranked among.
HISTORY = 8000
#: A flag must beat the score of every one of this many rows before it.
RECENT = 100
#: Rows a detector scores before its first flag: ranks among fewer scores say too little.
LEARNING = 32
#: Surprise (nats) a flag needs at least: as rare as about 1 in 800 of the series' own past
#: scores (one-sided: e ** -RARE / 2), whatever its tails.
RARE = 6.0
#: A short history may hold the series' earlier anomalies themselves: a row may be flagged
#: when at most this many earlier scores were as high, however few scores there were.
TOLERATED = 2
#: Surprise (nats) at severity 0.9: RARE, so a flag starts at severity 0.9 or more (what alert
#: rules announce by default).
SURPRISE_AT_SEVERITY_0_9 = RARE


@overload
def severity_from_rarity(surprise: float) -> float: ...
@overload
def severity_from_rarity(surprise: np.ndarray) -> np.ndarray: ...
def severity_from_rarity(surprise: np.ndarray | float) -> np.ndarray | float:
    """Calibrated surprise `s` (nats) to severity in [0, 1): `1 - 10 ** -d`, with `d = s / S`
    up to S, the SURPRISE_AT_SEVERITY_0_9 (RARE), and `sqrt(s / S)` past it, so a flag starts
    at 0.9 or more, a new record in a full history (8.3 nats) gets 0.93, four times S 0.99 and
    sixteen times 0.9999: the very rare stay apart from the rare. NaN stays NaN."""
    s = np.clip(np.asarray(surprise, dtype=float), 0.0, None)
    if np.ndim(s) == 0:
        s = s / SURPRISE_AT_SEVERITY_0_9
        severity: float = 1.0 - np.power(10.0, -np.where(s > 1.0, np.sqrt(s), s))
        return severity
    # the same steps, in place
    s /= SURPRISE_AT_SEVERITY_0_9
    np.sqrt(s, out=s, where=s > 1.0)
    severities: np.ndarray = np.subtract(1.0, np.power(10.0, np.negative(s, out=s), out=s), out=s)
    return severities


def rarity_from_severity(severity: float) -> float:
    """The calibrated surprise (nats) a severity stands for: the inverse of
    `severity_from_rarity`."""
    decades = -float(np.log10(1.0 - min(max(severity, 0.0), 1.0 - 1e-15)))
    return SURPRISE_AT_SEVERITY_0_9 * (decades**2 if decades > 1.0 else decades)


def kept_scores() -> int:
    """Scores before a row that its calibration reads (ranks and first detection), at most:
    what a stream keeps."""
    return HISTORY + rarity.BLOCK + RECENT


@dataclass(frozen=True)
class Calibration:
    """Per row: calibrated surprise (nats; NaN where the score is missing, before `first`, or,
    in streaming mode, in the learning period), its severity, and whether the row is flagged."""

    surprise: np.ndarray
    severity: np.ndarray
    flagged: np.ndarray

    def __getitem__(self, rows: slice) -> Calibration:
        return Calibration(self.surprise[rows], self.severity[rows], self.flagged[rows])


def describe(calibrated: Calibration, i: int) -> str:
    """'as rare as 1 in 8,000 points of this series': how often the series' own history
    scores as high as row `i` (one-sided: half the two-sided tail probability)."""
    return f"as rare as {odds(float(np.exp(-calibrated.surprise[i])) / 2)} points of this series"


def calibrate(
    score: np.ndarray,
    past: np.ndarray,
    *,
    offset: int = 0,
    first: int = 0,
    learning: int | None = None,
    rare: float | None = None,
    ahead: bool = False,
    open_row: int | None = None,
    beat_from: int = 0,
) -> Calibration:
    """Calibrate rows `first:` of `score` (higher is more anomalous; row `offset` of the series
    onwards) on the scores before them; the rows before `first` serve as history only.

    A flag starts at a row `past` the detector's own threshold whose surprise is at least
    `rare` (or, in a short history, that at most TOLERATED earlier scores reached) and whose
    score beats every score of the RECENT rows before it, at least `learning` rows into the
    series (RARE and LEARNING when not given). It goes on over the rows `past` the threshold,
    across gaps of at most GAP rows (as an episode does); `open_row`, when given, is the row
    (before `first`, perhaps negative) of a flag that goes on into these rows. Rows before
    `beat_from` need not be beaten. With `ahead` (batch mode, where the whole series is
    known), rows in the learning period are ranked among the (at most HISTORY) rows after
    them instead, and may be flagged too.
    """
    learning = LEARNING if learning is None else learning
    rare = RARE if rare is None else rare
    score = np.asarray(score, dtype=float)
    n = len(score)
    ranked = trailing_rarity(score, HISTORY, first=first, offset=offset)
    surprise = np.clip(ranked.surprise, 0, None)
    needed = _needed(ranked.history, rare)
    # the rows from `first` on in the series' first `learning` rows
    early = np.arange(max(first, 0), max(first, 0, min(n, learning - offset)))
    if early.size:
        if ahead:
            end = min(n, early[-1] + 1 + HISTORY)
            backwards = score[early[0] : end][::-1]
            after = trailing_rarity(backwards, HISTORY, first=end - early[-1] - 1)
            surprise[early] = np.clip(after.surprise[::-1][: early.size], 0, None)
            needed[early] = _needed(after.history[::-1][: early.size], rare)
        else:
            surprise[early] = np.nan
    going = np.array(past, dtype=bool)
    going[: max(first, 0)] = False
    if not ahead:
        going[: max(learning - offset, 0)] = False
    # the highest score of the RECENT rows before each (from `beat_from` on), -inf if none
    # (fmax skips NaN; a moving maximum skips infinite scores, as pandas' does)
    before = np.concatenate(([np.nan], score[:-1]))[:n]
    before[: max(beat_from + 1, 0)] = np.nan
    beats = score > np.fmax(moving_max(before, RECENT, 1), -np.inf)
    # np.nan_to_num, but for the infinite surprises where no surprise is enough (rare = inf)
    reached = np.fmax(surprise, 0.0) if rare < np.inf else np.nan_to_num(surprise)
    starts = going & (reached >= needed) & beats
    # a flag goes on over the rows past the threshold, with gaps of at most GAP rows (as
    # episodes do): clusters of such rows are flagged from their first start on
    rows_past = np.flatnonzero(going)
    flagged = np.zeros(n, dtype=bool)
    if rows_past.size:
        begins = np.diff(rows_past, prepend=-(GAP + 2) if open_row is None else open_row)
        begins = begins > GAP + 1
        started = starts[rows_past] | ~begins & (np.arange(rows_past.size) == 0)
        at = np.arange(rows_past.size)
        last_start = np.maximum.accumulate(np.where(started, at, -1))
        last_begin = np.maximum.accumulate(np.where(begins, at, -1))
        flagged[rows_past] = last_start >= last_begin
    return Calibration(surprise, severity_from_rarity(surprise), flagged)


def calibrate_continuation(
    history: np.ndarray,
    seen: int,
    score: np.ndarray,
    past: np.ndarray,
    *,
    learning: int | None = None,
    rare: float | None = None,
) -> Calibration:
    """`calibrate` for a frame a fitted detector scores as the continuation of the series it
    learned (`seen` rows, the last of whose scores are `history`): each score is ranked among
    those and the frame's scores before it. Flags start within the frame: its first rows need
    not beat the series' last scores (a new stretch need not follow on from them)."""
    values = np.concatenate([history, np.asarray(score, dtype=float)])
    calibrated = calibrate(
        values,
        np.concatenate([np.zeros(len(history), dtype=bool), past]),
        offset=seen - len(history),
        first=len(history),
        learning=learning,
        rare=rare,
        beat_from=len(history),
    )
    return calibrated[len(history) :]


def _needed(history: np.ndarray, rare: float) -> np.ndarray:
    """The surprise a flag needs: `rare`, or in a short history (of at least LEARNING scores)
    that of a row beaten by TOLERATED earlier scores, if less."""
    if history.dtype.kind in "iu" and history.size > HISTORY:
        # the sizes are few (at most HISTORY + 1): work each one out once
        low, high = int(history.min()), int(history.max())
        if low >= 0 and high + 1 < history.size:
            return _needed(np.arange(high + 1), rare).take(history)
    tolerant = np.log((history + 1.0) / (2.0 * (TOLERATED + 1)))
    return np.where(history >= LEARNING, np.minimum(rare, tolerant), rare)


def calibrate_online(
    score: np.ndarray,
    state: OnlineState,
    past: np.ndarray,
    *,
    learning: int | None = None,
    rare: float | None = None,
) -> Calibration:
    """`calibrate` for online scoring: rows `state.scored_from:` of `score` (the rows of a frame
    starting at row `state.offset` of the series) are new, and are calibrated on the scores of
    the rows before them that `state.memory` keeps; then the latest `kept_scores()` are kept.
    So a stream reads no rows back to recompute old scores, and gets exactly the calibration
    of the whole series. The rows before `scored_from` get none."""
    score = np.asarray(score, dtype=float)
    memory = state.memory
    start = state.offset + state.scored_from
    new = score[state.scored_from :]
    kept = memory.get("scores")
    if kept is None or memory.get("scores_until") != start:  # a fresh state
        kept, memory["last_flag"] = score[: state.scored_from], None
    values = np.concatenate([kept, new])
    offset = start - len(kept)
    result = calibrate(
        values,
        np.concatenate([np.zeros(len(kept), dtype=bool), past[state.scored_from :]]),
        offset=offset,
        first=len(kept),
        learning=learning,
        rare=rare,
        open_row=None if memory.get("last_flag") is None else memory["last_flag"] - offset,
    )
    memory["scores"] = values[-kept_scores() :].copy()
    memory["scores_until"] = start + len(new)
    # the last row past the threshold, if flagged: a flag that may go on into the next rows
    learned = start + np.arange(len(new)) >= (LEARNING if learning is None else learning)
    rows_past = np.flatnonzero(np.asarray(past[state.scored_from :], dtype=bool) & learned)
    if rows_past.size:
        last = int(rows_past[-1])
        flagged_new = result.flagged[len(kept) :]
        memory["last_flag"] = start + last if flagged_new[last] else None
    before = state.scored_from
    return Calibration(
        np.concatenate([np.full(before, np.nan), result.surprise[len(kept) :]]),
        np.concatenate([np.full(before, np.nan), result.severity[len(kept) :]]),
        np.concatenate([np.zeros(before, dtype=bool), result.flagged[len(kept) :]]),
    )
