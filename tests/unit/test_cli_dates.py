"""`vigil detect` on a file exported with day-first dates or local times, as a user runs it."""

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
        pd.Timestamp("2024-02-01 00:00", tz="UTC"),
        pd.Timestamp("2024-02-10 23:00", tz="UTC"),
    )
    assert asked.returncode == 0, asked.stderr
    month_first = pd.read_csv(tmp_path / "b.csv", parse_dates=["timestamp"])["timestamp"]
    assert month_first.min() == pd.Timestamp("2024-01-02 00:00", tz="UTC")


def berlin_logger_file(path) -> None:
    """Hourly local Berlin times across the autumn change, written without a zone."""
    instants = pd.date_range("2024-10-26 00:00", periods=72, freq="h", tz="UTC")
    wall = instants.tz_convert("Europe/Berlin")
    lines = ["time,value", *(f"{t:%Y-%m-%d %H:%M},{10 + i % 5}" for i, t in enumerate(wall))]
    path.write_text("\n".join(lines) + "\n")


def test_detect_reads_times_in_the_zone_asked_and_writes_them_in_utc_with_z(tmp_path):
    source = tmp_path / "berlin.csv"
    berlin_logger_file(source)

    done = vigil(
        "detect",
        str(source),
        "-d",
        "zscore",
        "--timezone",
        "Europe/Berlin",
        "-o",
        str(tmp_path / "scored.csv"),
    )
    plain = vigil("detect", str(source), "-d", "zscore", "-o", str(tmp_path / "plain.csv"))

    assert done.returncode == 0, done.stderr
    written = (tmp_path / "scored.csv").read_text().splitlines()
    assert written[1].startswith("2024-10-26T00:00:00Z,")  # 02:00 CEST, in UTC with its Z
    times = pd.read_csv(tmp_path / "scored.csv", parse_dates=["timestamp"])["timestamp"]
    assert list(times) == list(pd.date_range("2024-10-26", periods=72, freq="h", tz="UTC"))
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "plain.csv").read_text().splitlines()[1].startswith("2024-10-26T02:00:00Z")


def test_an_unknown_time_zone_is_refused_with_a_clear_message(tmp_path):
    source = tmp_path / "berlin.csv"
    berlin_logger_file(source)

    done = vigil("detect", str(source), "--timezone", "Europe/Berlln", "-o", str(tmp_path / "x"))

    assert done.returncode == 2
    assert "'Europe/Berlln' is not a time zone Vigil knows" in done.stderr
    assert "--timezone" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()
