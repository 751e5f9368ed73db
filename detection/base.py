"""What every detector shares: the parameter protocol and input checks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Self

import pandas as pd

from detection.errors import DataError, ParameterError
from detection.params import Param, coerce_params

MIN_FIT_POINTS = 10


class Detector(ABC):
    """Base of the detectors: `fit(frame)` learns, `score(frame)` returns a ScoredFrame.

    Subclasses set `name`, `label`, `summary` and `PARAMS`, and take their parameters as
    keyword-only arguments of `__init__`, stored unchanged; checks wait for `fit`.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]]

    @classmethod
    def from_params(cls, given: Mapping[str, object] | None = None) -> Self:
        """Build from loosely typed values (a form, the command line), checking each one."""
        return cls(**coerce_params(cls.PARAMS, given or {}))

    def get_params(self) -> dict[str, object]:
        return {spec.name: getattr(self, spec.name) for spec in self.PARAMS}

    def _check_params(self) -> None:
        coerce_params(self.PARAMS, self.get_params())

    @abstractmethod
    def fit(self, frame: pd.DataFrame) -> Self:
        """Learn from a `timestamp`/`value` frame; return self."""

    @abstractmethod
    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score each row of a `timestamp`/`value` frame; return a ScoredFrame."""

    def fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.fit(frame).score(frame)


def check_frame(frame: pd.DataFrame, minimum: int = MIN_FIT_POINTS) -> pd.Series:
    """The frame's values, after checking it has the columns and enough points to learn from."""
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise DataError(
            f"A series needs 'timestamp' and 'value' columns; missing {sorted(missing)}."
        )
    values = frame["value"].astype(float)
    present = int(values.notna().sum())
    if present < minimum:
        raise DataError(
            f"Only {present} point{'s' if present != 1 else ''} with a value: "
            f"this detector needs at least {minimum}."
        )
    return values


def check_window(window: int, frame: pd.DataFrame, what: str = "window") -> None:
    """A rolling window must be shorter than the series it rolls over."""
    if window > len(frame):
        raise ParameterError(
            f"The {what} ({window} points) is longer than the series ({len(frame)} points); "
            f"choose a {what} of at most {max(len(frame) // 2, 2)}."
        )
