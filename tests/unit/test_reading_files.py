"""Files as analysts export them: day-first dates, Windows-1252 text, a bad date or two.

Each file is built here, byte for byte, as a spreadsheet or a logger would write it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.detection.io import read_table
from vigil.detection.schema import Schema, infer_schema
from vigil.detection.tidy import prepare

LIMITS = {"max_bytes": 5_000_000, "max_rows": 200_000}


def load(filename: str, data: bytes, schema: Schema | None = None):
    raw = read_table(data, filename, **LIMITS)
    return prepare(raw, schema or infer_schema(raw))


def comma(number: float) -> str:
    return f"{number:.1f}".replace(".", ",")


def european_hourly(start: str, end: str, *, date: str = "%d.%m.%Y %H:%M") -> bytes:
    """A semicolon file with day-first dates and decimal commas, one row an hour."""
    times = pd.date_range(start, end, freq="h")
    values = 20 + np.sin(np.arange(len(times)) / 5)
    rows = zip(times, values, strict=True)
    lines = ["Zeit;Wert", *(f"{t.strftime(date)};{comma(v)}" for t, v in rows)]
    return ("\n".join(lines) + "\n").encode()


def test_day_first_dates_are_read_with_one_format_throughout():
    data = european_hourly("2024-02-01 00:00", "2024-02-20 23:00")

    tidy, report = load("wetter.csv", data)

    assert report.start == pd.Timestamp("2024-02-01 00:00")
    assert report.end == pd.Timestamp("2024-02-20 23:00")
    assert len(tidy) == 20 * 24
    assert report.finding("gaps") is None
    assert report.finding("unsorted") is None
    shown = report.finding("time_format")
    assert "read 01.02.2024 00:00 as 1 Feb 2024" in shown.message
    assert "DD.MM.YYYY" in shown.message


def test_undecided_dates_follow_the_files_european_conventions_and_say_so():
    data = european_hourly("2024-02-01 00:00", "2024-02-10 23:00")  # no day above 12

    _, report = load("wetter.csv", data)

    assert report.start == pd.Timestamp("2024-02-01 00:00")
    assert report.finding("gaps") is None
    shown = report.finding("time_format")
    assert shown.level == "warning"
    assert "No day is above 12" in shown.message
    assert "semicolons" in shown.message
    assert "decimal commas" in shown.message


def test_undecided_slash_dates_in_a_plain_csv_are_read_month_first():
    times = pd.date_range("2024-01-01", periods=12 * 24, freq="h")
    lines = ["time,value", *(f"{t:%m/%d/%Y %H:%M},{i}" for i, t in enumerate(times))]
    _, report = load("us.csv", ("\n".join(lines) + "\n").encode())

    assert report.end == pd.Timestamp("2024-01-12 23:00")
    assert "month-first" in report.finding("time_format").message


def test_a_chosen_date_format_overrides_the_guess():
    data = european_hourly("2024-02-01 00:00", "2024-02-10 23:00")
    raw = read_table(data, "wetter.csv", **LIMITS)
    guessed = infer_schema(raw)
    chosen = Schema(guessed.time_column, guessed.value_columns, None, "%m.%d.%Y %H:%M")

    _, report = prepare(raw, chosen)

    assert report.start == pd.Timestamp("2024-01-02 00:00")
    assert "read 01.02.2024 00:00 as 2 Jan 2024" in report.finding("time_format").message


def logger_export(rows: int = 3000, bad_row: int = 100) -> bytes:
    """A Windows-1252 logger export: German headers, decimal commas, one impossible date."""
    rng = np.random.default_rng(7)
    times = pd.date_range("2024-01-01", periods=rows, freq="15min")
    lines = ["Zeitstempel;Temperatur °C"]
    for i, t in enumerate(times):
        stamp = "31.02.2024 12:00" if i == bad_row else f"{t:%d.%m.%Y %H:%M}"
        lines.append(f"{stamp};{comma(20 + rng.normal())}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def test_one_impossible_date_drops_one_row_not_the_file():
    data = logger_export()
    assert "°".encode("cp1252") in data
    assert "°".encode() not in data

    tidy, report = load("logger.csv", data)

    assert len(tidy) == 2999
    assert report.series == ("Temperatur °C",)
    dropped = report.finding("unparseable_timestamps")
    assert dropped.count == 1
    assert "'31.02.2024 12:00'" in dropped.message
    assert "line 102" in dropped.message
    assert "Windows-1252" in report.finding("encoding").message


def test_a_column_of_decimal_comma_numbers_is_never_taken_for_times():
    raw = read_table(logger_export(), "logger.csv", **LIMITS)
    assert infer_schema(raw).time_column == "Zeitstempel"


@pytest.mark.parametrize(
    ("header", "encoding"),
    [
        ("Zeitstempel;Temperatur °C", "cp1252"),
        ("Zeit;Größe €", "cp1252"),
        ("Время;Температура", "cp1251"),
        ("時刻;温度", "shift_jis"),
    ],
)
def test_headers_keep_their_letters_whatever_the_encoding(header, encoding):
    body = "".join(f"0{d}.01.2024 00:00;{d},5\r\n" for d in range(1, 10))
    body += "".join(f"{d}.01.2024 00:00;{d},5\r\n" for d in range(10, 29))
    data = (header + "\r\n" + body).encode(encoding)

    raw = read_table(data, "export.csv", **LIMITS)

    assert list(raw.frame.columns) == header.split(";")
