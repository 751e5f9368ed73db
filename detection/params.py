"""Parameter descriptions: what a detector accepts, so forms and the CLI can be built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import SupportsFloat, SupportsIndex

from vigil.detection.errors import ParameterError

#: Most points a window or a season may span. A week of 10-second points is 60,480; online
#: scoring reads a few spans before each point, so this keeps its memory and time bounded.
MAX_SPAN = 100_000
#: scikit-learn seeds its generators with 32-bit numbers.
MAX_SEED = 2**32 - 1

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One detector parameter: its type, default, bounds and the words shown beside it."""

    name: str
    kind: type  # int, float, bool or str
    default: object
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    step: float | None = None

    def coerce(self, raw: object) -> object:
        """Turn a form or command-line value into this parameter's type, or explain why not."""
        if raw is None or raw == "":
            return self.default
        try:
            value = self._convert(raw)
        except (TypeError, ValueError, OverflowError):
            raise ParameterError(
                f"{self.label} must be {self._kind_words()}, not {_given(raw)}."
            ) from None
        if self.choices and value not in self.choices:
            options = ", ".join(self.choices)
            raise ParameterError(f"{self.label} must be one of {options}, not {value!r}.")
        # bounds are for numbers (int, float and bool kinds)
        if isinstance(value, int | float) and self.minimum is not None and value < self.minimum:
            raise ParameterError(
                f"{self.label} must be at least {_shown(self.minimum)}, not {_shown(value)}."
            )
        if isinstance(value, int | float) and self.maximum is not None and value > self.maximum:
            raise ParameterError(
                f"{self.label} must be at most {_shown(self.maximum)}, not {_shown(value)}."
            )
        return value

    def _convert(self, raw: object) -> bool | int | float | str:
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(raw)
        if self.kind is int:
            number = _number(raw)
            if not number.is_integer():
                raise ValueError(raw)
            return int(number)
        if self.kind is float:
            number = _number(raw)
            if number != number:  # NaN
                raise ValueError(raw)
            return number
        return str(raw)

    def _kind_words(self) -> str:
        return {int: "a whole number", float: "a number", bool: "yes or no"}.get(self.kind, "text")


def _number(raw: object) -> float:
    """`float(raw)`; a TypeError, as float() raises, for what is neither text nor a number."""
    if not isinstance(raw, str | bytes | SupportsFloat | SupportsIndex):
        raise TypeError(raw)
    return float(raw)


def _shown(value: object) -> str:
    """A number as a message says it: 100,000 and 0.999; an integer of 5,000 digits short."""
    if isinstance(value, int):
        if abs(value) < 10**15:
            return f"{value:,}"
        if value.bit_length() < 1000:
            return f"{float(value):g}"
        return "a number of over 300 digits"
    return str(value)


def _given(raw: object) -> str:
    """What was given, short enough for a message."""
    text = _shown(raw) if isinstance(raw, int) else repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def coerce_params(specs: tuple[Param, ...], given: Mapping[str, object]) -> dict[str, object]:
    """Validate `given` against `specs`; unknown names are an error, missing ones take defaults."""
    known = {spec.name: spec for spec in specs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(known) or "none"
        raise ParameterError(f"Unknown parameter {unknown[0]!r}; this detector takes: {names}.")
    return {name: spec.coerce(given.get(name)) for name, spec in known.items()}


def severity_threshold(help: str) -> Param:
    """The `threshold` parameter of a detector that flags at a severity (0.9 by default)."""
    return Param(
        "threshold",
        float,
        0.9,
        "Flag at severity",
        help,
        minimum=0.05,
        maximum=0.999,
        step=0.01,
    )
