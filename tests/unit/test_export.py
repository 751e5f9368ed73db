"""Downloads: CSV that a spreadsheet opens safely, Parquet that round-trips."""

from __future__ import annotations

import io

import pandas as pd

from vigil.detection import run_detection
from vigil.detection.synthetic import seasonal_series
from vigil.usecases.export import to_csv_bytes, to_parquet_bytes


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
