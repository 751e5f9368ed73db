"""Which series: a name pattern and label matchers, as a filter box, the overview and alert
rules write them.

`Selector.parse("api-* env=prod service=~web|api")` reads what a person types: a word with a
`=`, `!=`, `=~` or `!~` is a label matcher (Alertmanager's and Prometheus' four, a regular
expression anchored at both ends for the last two), any other word is a name pattern: shell
style (`api-*`, `db-?`) when it has a wildcard, else a part of the name (case aside). A
series is selected when its name matches every pattern and its labels every matcher; a label
it does not have reads as empty, as in Prometheus. Parsing never raises but `SelectorError`,
whose message says what to fix.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The matchers' operators, longest first so that `!=` is not read as `!` and `=`.
OPERATORS = ("=~", "!~", "!=", "=")
#: Label names as Prometheus allows them.
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The longest selector text taken (a filter box, a rule's field).
MAX_TEXT = 1_000
WILDCARDS = frozenset("*?[")


class SelectorError(ValueError):
    """A selector that cannot be read; the message says which part and why."""


@dataclass(frozen=True)
class Matcher:
    """One label matcher: `label` `op` `value`."""

    label: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(have) is not None
        return found if self.op == "=~" else not found

    @property
    def written(self) -> str:
        """The matcher as a rule writes it: `env=prod`, `service=~web|api`."""
        return f"{self.label}{self.op}{self.value}"

    def __str__(self) -> str:
        """The matcher as a filter box takes it (its value quoted when it must be)."""
        return f"{self.label}{self.op}{_quoted(self.value)}"


@dataclass(frozen=True)
class Selector:
    """Name patterns and label matchers, all of which a selected series meets."""

    patterns: tuple[str, ...] = ()
    matchers: tuple[Matcher, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Selector:
        """What a person typed: words that are label matchers or name patterns."""
        text = (text or "").strip()
        if len(text) > MAX_TEXT:
            raise SelectorError(f"A filter is at most {MAX_TEXT:,} characters long.")
        try:
            words = shlex.split(text)
        except ValueError:
            raise SelectorError("A quote is not closed: close it or remove it.") from None
        patterns, matchers = [], []
        for word in words:
            found = _matcher(word)
            if found is None:
                patterns.append(word)
            else:
                matchers.append(found)
        return cls(tuple(patterns), tuple(matchers))

    def selects(self, name: str, labels: Mapping[str, str] | None = None) -> bool:
        labels = labels or {}
        return all(name_matches(name, p) for p in self.patterns) and all(
            m.matches(labels) for m in self.matchers
        )

    def __bool__(self) -> bool:
        return bool(self.patterns or self.matchers)

    def __str__(self) -> str:
        return " ".join([*(_quoted(p) for p in self.patterns), *map(str, self.matchers)])


def name_matches(name: str, pattern: str) -> bool:
    """A name pattern as a filter reads it: shell style when it has a wildcard (the case as
    written), else a part of the name, the case aside."""
    if WILDCARDS & set(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern.casefold() in name.casefold()


def matcher(label: str, op: str, value: str) -> Matcher:
    """A label matcher, checked: a label name as Prometheus allows, a known operator, a
    regular expression that compiles."""
    if not LABEL_NAME.fullmatch(label):
        raise SelectorError(
            f"{label!r} is not a label name: use letters, digits and underscores, "
            "not starting with a digit."
        )
    if op not in OPERATORS:
        raise SelectorError(f"{op!r} is not a matcher: use one of {', '.join(OPERATORS)}.")
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as error:
            raise SelectorError(
                f"{label}{op}{value}: not a regular expression ({error})."
            ) from None
    return Matcher(label, op, value, pattern)


_MATCHER = re.compile(r"([^=!~]+)(=~|!~|!=|=)(.*)\Z", re.DOTALL)


def _matcher(word: str) -> Matcher | None:
    """The matcher a word is (None when it is a name pattern)."""
    found = _MATCHER.match(word)
    if found is None:
        return None
    return matcher(found.group(1), found.group(2), found.group(3))


def parse_matcher(word: str) -> Matcher:
    """A label matcher as written (`env=prod`, `service=~web|api`); SelectorError when the
    word is not one or cannot be read."""
    found = _matcher(word.strip())
    if found is None:
        raise SelectorError(
            f"{word!r} is not a label matcher: write label=value, label!=value, "
            "label=~regex or label!~regex."
        )
    return found


def _quoted(text: str) -> str:
    return shlex.quote(text) if text else '""'
