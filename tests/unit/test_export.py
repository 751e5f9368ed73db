"""Downloads: CSV that a spreadsheet opens safely, Parquet that round-trips."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from vigil.detection import run_detection
from vigil.detection.synthetic import seasonal_series
from vigil.usecases.export import (
    download_name,
    export_bytes,
    format_of,
    to_csv_bytes,
    to_parquet_bytes,
)


def test_formula_like_text_is_neutralised_in_csv():
    frame = pd.DataFrame(
        {"series": ['=HYPERLINK("x")', "+1", "@SUM(A1)", "plain"], "value": [-1.0, 2.0, 3.0, 4.0]}
    )
    text = to_csv_bytes(frame).decode()
    back = pd.read_csv(io.StringIO(text))
    assert back["series"].tolist() == ['\'=HYPERLINK("x")', "'+1", "'@SUM(A1)", "plain"]
    assert back["value"].tolist() == [-1.0, 2.0, 3.0, 4.0]


def test_scored_frame_round_trips_through_parquet():
    scored = run_detection(seasonal_series(n=600, spike_at=300), "zscore")
    back = pd.read_parquet(io.BytesIO(to_parquet_bytes(scored)))
    pd.testing.assert_frame_equal(back, scored.reset_index(drop=True), check_dtype=False)


def test_the_pages_download_and_the_clis_file_name_the_same_instants():
    """The Analyze page writes times in the reader's zone, `vigil detect` in UTC: read back,
    both files hold the same instants and the same scores, in CSV and in Parquet."""
    scored = run_detection(seasonal_series(n=600, spike_at=300), "zscore")

    cli = pd.read_csv(io.BytesIO(export_bytes(scored, "csv")), parse_dates=["timestamp"])
    page = pd.read_csv(
        io.BytesIO(export_bytes(scored, "csv", zone="America/New_York")),
        parse_dates=["timestamp_utc"],
    )

    assert cli["timestamp"].dt.tz_localize(None).tolist() == scored["timestamp"].tolist()
    assert page["timestamp_utc"].tolist() == cli["timestamp"].tolist()
    assert page["timestamp"].iloc[0].endswith(("-05:00", "-04:00"))
    assert page["score"].tolist() == cli["score"].tolist()
    zoned = pd.read_parquet(io.BytesIO(export_bytes(scored, "parquet", zone="Asia/Kolkata")))
    plain = pd.read_parquet(io.BytesIO(export_bytes(scored, "parquet")))
    assert str(zoned["timestamp"].dt.tz) == "Asia/Kolkata"
    assert (zoned["timestamp"].dt.tz_convert(None) == plain["timestamp"]).all()


def test_a_format_is_named_by_the_file_and_an_unknown_one_is_refused():
    assert format_of(Path("out/scores.parquet")) == "parquet"
    assert format_of(Path("scores.PARQUET")) == "parquet"
    assert format_of(Path("scores.csv")) == "csv"
    with pytest.raises(ValueError, match="csv or parquet, not 'xlsx'"):
        export_bytes(pd.DataFrame({"value": [1.0]}), "xlsx")


def test_a_download_is_named_after_its_series_and_detector_with_nothing_unsafe_in_it():
    run = {"series": "../cpu <1>", "detector": "zscore"}
    assert download_name(run, ".csv") == "vigil-.._cpu__1_-zscore.csv"
    assert len(download_name({"series": "x" * 200, "detector": "stl"}, ".csv")) == 84
