"""Labels on live series (`host`, `service`, `env`, ...), Prometheus-style, as the ingest API
takes them: `{"labels": {"env": "prod"}, "points": [...]}`.

`read_labels` either returns labels that keep every limit below or raises `LabelError`
listing each one broken; nothing is half taken. Labels sent with points replace the series'
labels; a request without `labels` leaves them as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

#: Most labels a series has.
MAX_LABELS = 20
#: Longest label name and value, in characters.
MAX_NAME = 100
MAX_VALUE = 200
#: Label names as Prometheus allows them; those starting with `__` are kept for Vigil.
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Labels = dict[str, str]


class LabelError(ValueError):
    """Labels that cannot be kept; `reasons` says each problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def read_labels(raw: object) -> Labels:
    """The labels of a decoded JSON object of names to text values, checked and sorted by
    name; LabelError with every problem otherwise."""
    if not isinstance(raw, dict):
        raise LabelError(['"labels" must be an object of label names to text values.'])
    reasons = []
    if len(raw) > MAX_LABELS:
        reasons.append(f"At most {MAX_LABELS} labels a series, not {len(raw)}.")
    for name, value in raw.items():
        shown = _short(name)
        if len(name) > MAX_NAME:
            reasons.append(f"label {shown}: a name is at most {MAX_NAME} characters long.")
        elif not LABEL_NAME.fullmatch(name):
            reasons.append(
                f"label {shown}: a name is letters, digits and underscores, not starting "
                "with a digit."
            )
        elif name.startswith("__"):
            reasons.append(f"label {shown}: names starting with __ are kept for Vigil.")
        if not isinstance(value, str):
            reasons.append(f"label {shown}: its value must be text, not {_short(value)}.")
        elif len(value) > MAX_VALUE:
            reasons.append(
                f"label {shown}: a value is at most {MAX_VALUE} characters long, not "
                f"{len(value):,}."
            )
        elif not value.isprintable():
            reasons.append(f"label {shown}: its value has a control character.")
    if reasons:
        raise LabelError(reasons)
    return dict(sorted(raw.items()))


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as the database keeps them: JSON, sorted by name."""
    return json.dumps(dict(sorted(labels.items())), ensure_ascii=False, separators=(",", ":"))


def labels_of(text: str | None) -> Labels:
    """Labels as the database keeps them, read back (none for NULL or unreadable text)."""
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _short(raw: object) -> str:
    text = json.dumps(raw, ensure_ascii=False) if not isinstance(raw, str) else repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."
