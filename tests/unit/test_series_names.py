"""One rule for series names, wherever they come from; names read from a file are made safe
and the quality card says so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigil.detection.io import read_table
from vigil.detection.names import cleaned_names, name_problem
from vigil.detection.schema import infer_schema
from vigil.detection.tidy import prepare

#: What `str.splitlines` splits on, control characters, and text-direction controls.
REFUSED = [
    "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
    "\x00", "\x7f", "\x9b", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",
]  # fmt: skip


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_a_name_with_a_line_break_control_or_direction_character_is_refused(character):
    assert "no line break" in name_problem(f"cpu{character}host")
    assert "no line break" in name_problem(f"cpu{character}")  # at its end too


@pytest.mark.parametrize("name", ["cpu", "host1/cpu", "Zürich Δ 温度", "a·b", "x" * 100, "👩‍💻"])
def test_ordinary_names_in_any_script_are_accepted(name):
    assert name_problem(name) is None


def test_names_from_a_file_are_made_safe_and_never_merged():
    assert cleaned_names(["a\u2028b", "a b", "c\u202e", "c"]) == (
        ["a b (2)", "a b", "c (2)", "c"],
        2,
    )


def test_a_files_series_names_are_made_safe_and_the_quality_card_says_so():
    rows = "".join(
        f"2026-01-01T00:{minute:02d}:00,{name},{minute}\n"
        for minute in range(30)
        for name in ("eu\u2028west", "us")
    )
    raw = read_table(
        f"time,host,value\n{rows}".encode(), "hosts.csv", max_bytes=10**6, max_rows=10**4
    )
    schema = replace(infer_schema(raw), series_column="host", value_columns=("value",))

    _, report = prepare(raw, schema)

    assert set(report.series) == {"eu west", "us"}
    assert report.finding("series_names").message == (
        "1 series name held a line break, control or text-direction character; each such "
        "character was replaced by a space."
    )
