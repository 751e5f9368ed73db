"""What every detector shares: the parameter protocol and input checks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from vigil.detection.episodes import with_episodes
from vigil.detection.errors import DataError, NotFittedError, ParameterError
from vigil.detection.params import Param, coerce_params
from vigil.detection.quality import plural
from vigil.detection.tidy import typical_step

MIN_FIT_POINTS = 10
#: Online mode takes the series' step from its first this-many points, so no later point
#: can change the grid that earlier scores were computed on.
GRID_SAMPLE = 64
#: Online mode fills at most this many missing steps per gap (a longer gap is kept short).
MAX_GAP_STEPS = 10_000


@dataclass
class OnlineState:
    """What online scoring carries from one batch of points to the next: where the frame
    being scored starts in the whole series, and what each detector decided from earlier
    rows (a floor, the seasons found, grown forests)."""

    offset: int = 0
    memory: dict[str, Any] = field(default_factory=dict)
    #: False while scoring a stream, which has no last row to judge the whole series by.
    whole: bool = True
    #: The first row of the frame whose score is wanted; the rows before it are context.
    scored_from: int = 0

    def member(self, name: str) -> OnlineState:
        """The state of a member detector, kept inside this one."""
        return replace(self, memory=self.memory.setdefault(name, {}))


class Detector(ABC):
    """Base of the detectors: `fit(frame)` learns, `score(frame)` returns a ScoredFrame.

    Subclasses set `name`, `label`, `summary` and `PARAMS`, and take their parameters as
    keyword-only arguments of `__init__`, stored unchanged; checks wait for `fit`.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]]
    min_points: ClassVar[int] = MIN_FIT_POINTS

    @classmethod
    def from_params(cls, given: Mapping[str, object] | None = None) -> Self:
        """Build from loosely typed values (a form, the command line), checking each one."""
        return cls(**coerce_params(cls.PARAMS, given or {}))

    def get_params(self) -> dict[str, object]:
        return {spec.name: getattr(self, spec.name) for spec in self.PARAMS}

    def _check_params(self) -> None:
        coerce_params(self.PARAMS, self.get_params())

    def fit(self, frame: pd.DataFrame) -> Self:
        """Learn from a `timestamp`/`value` frame (sorted by time); return self."""
        self._check(frame)
        return self._fit(on_regular_grid(frame)[0])

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score each row of a `timestamp`/`value` frame; a ScoredFrame with the same rows.
        NotFittedError before `fit`."""
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise NotFittedError(
                f"This {self.label} detector has not learned from a series yet: call fit(frame) "
                "first, or fit_score(frame) to do both."
            )
        grid, original = on_regular_grid(frame)
        return with_episodes(_back_to_rows(self._score(grid), original, frame.index))

    def fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit on a frame and score the same frame (sharing the work where a detector can)."""
        self._check(frame)
        grid, original = on_regular_grid(frame)
        return with_episodes(_back_to_rows(self._fit_score(grid), original, frame.index))

    def detect(self, frame: pd.DataFrame, *, online: bool = False) -> pd.DataFrame:
        """`score_online(frame)` when `online`, else `fit_score(frame)`."""
        return self.score_online(frame) if online else self.fit_score(frame)

    def score_online(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score each row from the rows before it only, as points arriving one by one would be.

        Appending later rows never changes an earlier row's score. The first rows are a
        warm-up: they get no score and are never flagged. `scored.attrs["warmup_rows"]` says
        how many rows that is and `scored.attrs["warmup_until"]` when the first score came.
        Changes nothing on the detector.
        """
        check_frame(frame, 1)
        self._check_params()
        grid, original = on_causal_grid(frame)
        state = OnlineState()
        scored = self.mask_warmup(self._score_online(grid, state), offset=0)
        warmup = self.learned_warmup(grid, state)
        rows = with_episodes(_back_to_rows(scored, original, frame.index))
        positions = np.arange(len(scored)) if original is None else original
        rows.attrs["warmup_rows"] = int((positions < warmup).sum())
        rows.attrs["warmup_until"] = (
            None if warmup >= len(scored) else pd.Timestamp(scored["timestamp"].iloc[warmup])
        )
        return rows

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """Rows (from the start of the series) that online scoring leaves unscored: its
        learning period. From the parameters, and from `frame` (the series on its grid, from
        its first row) where the number depends on the series; without `frame`, the least it
        can be. Reads nothing that scoring sets, so it can be asked at any time, before the
        first point too."""
        return GRID_SAMPLE

    def learned_warmup(self, frame: pd.DataFrame, state: OnlineState) -> int:
        """`online_warmup(frame)`, told by `state` what scoring `frame` decided (a season
        found), so a detector need not decide it again."""
        return self.online_warmup(frame)

    def mask_warmup(self, scored: pd.DataFrame, *, offset: int) -> pd.DataFrame:
        """No score and no flag for warm-up rows (`scored` starts at row `offset` of the series)
        and for rows the detector could not score."""
        position = offset + np.arange(len(scored))
        unscored = (position < self.online_warmup()) | np.isnan(scored["score"].to_numpy())
        if not unscored.any():  # a stream's new rows, mostly: nothing to mask
            return scored
        # in numpy: a series learning for hours has every new row masked
        for column in ("score", "severity"):
            values = scored[column].to_numpy(dtype=float, copy=True)
            values[unscored] = np.nan
            scored[column] = values
        scored["is_anomaly"] = scored["is_anomaly"].to_numpy() & ~unscored
        if (scored["explanation"].to_numpy()[unscored] != "").any():
            scored.loc[unscored, "explanation"] = ""
        return scored

    def online_context(self) -> int:
        """Rows before a new point that online scoring reads; a stream keeps this many."""
        raise ParameterError(f"The {self.label} detector has no online mode.")

    def online_prepare(self, frame: pd.DataFrame, state: OnlineState) -> None:
        """Before a stream scores new rows: make the decisions due by the end of `frame` that
        read further back than a batch's look-back (a season check over many cycles), so
        `online_lookback` can stay short. `frame` is the kept history followed by the new rows,
        starting at row `state.offset` of the series."""
        return None

    def online_lookback(self, state: OnlineState, start: int, end: int) -> int:
        """Rows before row `start` of the series that scoring rows `start` to `end` reads,
        given what `state` holds; at most `online_context()`, which is always enough. A stream
        passes only these, so a batch costs about its own size once the detector has settled."""
        return self.online_context()

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """Score a frame on a regular grid causally. `frame` starts at row `state.offset` of
        the series; rows with fewer than `online_context()` rows before them in the frame may be
        scored roughly. Decisions that later batches need go in `state.memory`; nothing is set
        on the detector (rows in the learning period get a missing score)."""
        raise ParameterError(f"The {self.label} detector has no online mode.")

    def _score_online_from(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """`_score_online`'s rows from `state.scored_from` on (the rows before are context a
        stream passes only to be read). A detector may answer these without making the
        context's rows at all, as the rest of `_score_online` would be thrown away."""
        return self._score_online(frame, state).iloc[state.scored_from :]

    def _check(self, frame: pd.DataFrame) -> None:
        check_frame(frame, self.min_points)
        self._check_params()

    @abstractmethod
    def _fit(self, frame: pd.DataFrame) -> Self:
        """Learn from a frame on a regular grid (gaps are rows with a missing value)."""

    @abstractmethod
    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a frame on a regular grid."""

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._fit(frame)._score(frame)


def _back_to_rows(
    scored: pd.DataFrame, original: np.ndarray | None, index: pd.Index
) -> pd.DataFrame:
    if original is not None:
        scored = scored.iloc[original]
    if not scored.index.equals(index):
        scored.index = index  # in place: set_axis would copy every column
    return scored


def on_regular_grid(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The frame with a missing-value row in each gap of its usual step, so that positions
    mean time to rolling windows and seasons; and where the original rows are in it (None
    when nothing was added).

    Only done when at least 90% of the steps are the usual one and the gaps at most double
    the length; an irregular series is used as it is.
    """
    plain = frame.reset_index(drop=True)
    if len(frame) < 3:
        return plain, None
    times = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    steps = np.diff(times.view("int64"))
    step = typical_step(steps)
    if step is None or not (steps > step).any() or (steps == step).mean() < 0.9:
        return plain, None
    grid = pd.date_range(times[0], times[-1], freq=pd.Timedelta(step, unit="ns"))
    if len(grid) > 2 * len(frame):
        return plain, None
    full = grid.union(pd.DatetimeIndex(times))
    positions = full.get_indexer(pd.DatetimeIndex(times))
    values = np.full(len(full), np.nan)
    values[positions] = frame["value"].to_numpy(dtype=float)
    return pd.DataFrame({"timestamp": full, "value": values}), positions


def grid_step(timestamps: pd.Series) -> int | None:
    """The step (ns) online mode puts a series on: the usual step of its first GRID_SAMPLE
    points, when at least 90% of them keep it; None for an irregular series."""
    # only the first points are read: a stream's context of thousands is not converted
    if isinstance(timestamps.dtype, np.dtype):  # naive: numpy converts the unit faster
        first = timestamps.to_numpy()[:GRID_SAMPLE].astype("datetime64[ns]")
    else:
        first = timestamps.iloc[:GRID_SAMPLE].to_numpy(dtype="datetime64[ns]")
    times = first.view("int64")
    if len(times) < 3:
        return None
    sample = np.diff(times)
    step = typical_step(sample)
    return None if step is None or (sample == step).mean() < 0.9 else step


def fill_gaps(
    frame: pd.DataFrame, step: int | None, after: int | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """`frame` with a missing-value row at each missed step (at most MAX_GAP_STEPS a gap),
    gaps after the timestamp `after` (ns) included; and where the rows of `frame` went (None
    when none were added). Each gap is filled from its own two ends only."""
    plain = frame.reset_index(drop=True)
    if step is None or frame.empty:
        return plain, None
    times = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    edges = times if after is None else np.concatenate([[after], times])
    missing = np.clip((np.diff(edges) - 1) // step, 0, MAX_GAP_STEPS)
    if not missing.any():
        return plain, None
    owner = np.repeat(np.arange(len(missing)), missing)
    first_of_run = np.repeat(np.cumsum(missing) - missing, missing)
    offset = np.arange(owner.size) - first_of_run + 1
    added = edges[owner] + offset * step
    # a gap's rows go after its left end and before its right end
    order = np.argsort(np.concatenate([times, added]), kind="stable")
    all_times = np.concatenate([times, added])[order]
    positions = np.empty(len(order), dtype=np.int64)
    positions[order] = np.arange(len(order))
    values = np.full(len(order), np.nan)
    original = positions[: len(times)]
    values[original] = frame["value"].to_numpy(dtype=float)
    stamps = pd.DatetimeIndex(all_times.view("datetime64[ns]")).astype(frame["timestamp"].dtype)
    return pd.DataFrame({"timestamp": stamps, "value": values}), original


def on_causal_grid(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Like `on_regular_grid`, but decided causally: the step comes from the first
    GRID_SAMPLE points and each gap is filled from its own two ends (at most MAX_GAP_STEPS
    rows), so a row's place on the grid never depends on the rows after it."""
    return fill_gaps(frame, grid_step(frame["timestamp"]))


def check_frame(frame: pd.DataFrame, minimum: int = MIN_FIT_POINTS) -> None:
    """Check a frame has the columns, sorted unique times and enough points to learn from."""
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise DataError(
            f"A series needs 'timestamp' and 'value' columns; missing {sorted(missing)}."
        )
    times = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    if not (np.diff(times) > 0).all():
        raise DataError(
            "Timestamps must be sorted and unique; read the data with detection.tidy.prepare, "
            "which sorts them and merges repeats."
        )
    present = int(frame["value"].notna().sum())
    if present < minimum:
        raise DataError(
            f"Only {plural(present, 'point')} with a value: this detector needs at least {minimum}."
        )


def check_window(window: int, frame: pd.DataFrame, what: str = "window") -> None:
    """A rolling window must be shorter than the series it rolls over."""
    if window > len(frame):
        raise ParameterError(
            f"The {what} ({window} points) is longer than the series ({len(frame)} points); "
            f"choose a {what} of at most {max(len(frame) // 2, 2)}."
        )
