"""`vigil detect` on a file exported with day-first dates, as a user runs it."""

from __future__ import annotations

import pandas as pd

from tests.unit.test_cli import vigil


def test_detect_reads_day_first_dates_and_takes_another_date_format_when_asked(tmp_path):
    source = tmp_path / "wetter.csv"
    times = pd.date_range("2024-02-01", periods=10 * 24, freq="h")  # no day above 12
    lines = ["Zeit;Wert", *(f"{t:%d.%m.%Y %H:%M};{20 + i % 7},5" for i, t in enumerate(times))]
    lines[40] = "31.02.2024 12:00;21,5"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))

    found = vigil("detect", str(source), "-d", "zscore", "-o", str(tmp_path / "a.csv"))
    asked = vigil(
        "detect",
        str(source),
        "-d",
        "zscore",
        "--date-format",
        "month-first",
        "-o",
        str(tmp_path / "b.csv"),
    )

    assert found.returncode == 0, found.stderr
    assert "read 01.02.2024 00:00 as 1 Feb 2024" in found.stderr
    assert "1 row had a timestamp that could not be read (first: '31.02.2024 12:00'" in (
        found.stderr
    )
    day_first = pd.read_csv(tmp_path / "a.csv", parse_dates=["timestamp"])["timestamp"]
    assert (day_first.min(), day_first.max()) == (
        pd.Timestamp("2024-02-01 00:00"),
        pd.Timestamp("2024-02-10 23:00"),
    )
    assert asked.returncode == 0, asked.stderr
    month_first = pd.read_csv(tmp_path / "b.csv", parse_dates=["timestamp"])["timestamp"]
    assert month_first.min() == pd.Timestamp("2024-01-02 00:00")
