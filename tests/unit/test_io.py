"""Reading files: hostile files get a clear message; fixable ones are fixed, and say so."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import ACCEPTED, REFUSED
from vigil.detection.errors import DataError
from vigil.detection.io import read_table
from vigil.detection.schema import Schema, infer_schema
from vigil.detection.tidy import MIN_POINTS, prepare

LIMITS = {"max_bytes": 2_000_000, "max_rows": 100_000}


def load(filename: str, data: bytes):
    raw = read_table(data, filename, **LIMITS)
    return prepare(raw, infer_schema(raw))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_file_gets_a_readable_message(case):
    filename, data, fragment = REFUSED[case]
    with pytest.raises(DataError) as caught:
        load(filename, data)
    message = str(caught.value)
    assert fragment in message
    assert "Traceback" not in message
    assert len(message) < 400


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_fixable_file_is_read_into_tidy_sorted_series(case):
    filename, data = ACCEPTED[case]
    tidy, report = load(filename, data)
    assert list(tidy.columns) == ["series", "timestamp", "value"]
    for _, group in tidy.groupby("series"):
        assert group["timestamp"].is_monotonic_increasing
        assert group["timestamp"].is_unique
    assert report.rows == len(tidy)


def kinds(report) -> set[str]:
    return {finding.kind for finding in report.findings}


def test_duplicate_timestamps_are_merged_by_mean_and_reported():
    data = b"timestamp,value\n" + b"".join(
        f"2024-01-01 {h:02d}:00,{h}\n".encode() for h in range(20)
    )
    data += b"2024-01-01 03:00,5\n"
    tidy, report = load("d.csv", data)
    assert tidy.loc[tidy["timestamp"] == pd.Timestamp("2024-01-01 03:00"), "value"].item() == 4.0
    finding = report.finding("duplicates")
    assert finding.count == 1
    assert "mean" in finding.message


def test_unsorted_rows_are_sorted_and_reported():
    _, report = load(*ACCEPTED["unsorted"])
    assert "unsorted" in kinds(report)


def test_latin1_file_decodes_and_says_so():
    tidy, report = load(*ACCEPTED["latin1"])
    assert tidy["series"].iloc[0] == "température"
    assert "encoding" in kinds(report)


def test_semicolons_with_decimal_commas_read_as_numbers():
    tidy, _ = load(*ACCEPTED["semicolons_and_decimal_commas"])
    assert tidy["value"].iloc[1] == pytest.approx(1.25)


def test_mixed_time_zones_are_converted_to_utc():
    tidy, report = load(*ACCEPTED["mixed_time_zones"])
    assert tidy["timestamp"].iloc[0] == pd.Timestamp("2023-12-31 23:00")
    assert report.finding("time_zones").level == "warning"


@pytest.mark.parametrize("case", ["epoch_seconds", "epoch_milliseconds"])
def test_epoch_timestamps_are_recognised(case):
    tidy, report = load(*ACCEPTED[case])
    assert tidy["timestamp"].iloc[0] == pd.Timestamp("2023-11-14 22:13:20")
    assert report.step == pd.Timedelta(minutes=1)


def test_text_cells_in_a_number_column_become_missing_and_are_counted():
    tidy, report = load(*ACCEPTED["nan_and_text_cells"])
    assert report.finding("non_numeric").count == 1
    assert report.finding("missing").count == 3
    assert tidy["value"].isna().sum() == 3


def test_rows_with_unreadable_timestamps_are_dropped_and_counted():
    tidy, report = load(*ACCEPTED["unparseable_timestamps"])
    assert report.finding("unparseable_timestamps").count == 2
    assert len(tidy) == 20


def test_long_file_is_split_by_its_series_column():
    raw = read_table(ACCEPTED["long_format"][1], "long.csv", **LIMITS)
    schema = infer_schema(raw)
    assert schema.series_column == "host"
    tidy, report = prepare(raw, schema)
    assert report.series == ("web0", "web1", "web2")
    assert len(tidy) == 60


def test_wide_file_gives_one_series_per_numeric_column():
    data = b"when,cpu,mem,host\n" + b"".join(
        f"2024-01-0{1 + d} 00:00,{d},{d * 2},a\n".encode() for d in range(9)
    )
    data += b"2024-01-10 00:00,1,2,a\n"
    raw = read_table(data, "wide.csv", **LIMITS)
    schema = infer_schema(raw)
    assert schema == Schema("when", ("cpu", "mem"), None)


def test_gaps_and_the_step_are_reported():
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=48, freq="15min"), "value": 1.0}
    )
    frame = frame.drop(index=range(10, 20))
    _, report = load("g.csv", frame.to_csv(index=False).encode())
    assert report.frequency == "every 15 minutes"
    gap = report.finding("gaps")
    assert gap.count == 1
    assert "10 missing steps" in gap.message


def test_a_file_over_the_limit_is_refused_before_parsing():
    with pytest.raises(DataError, match=r"over the 2\.0 MB limit"):
        read_table(b"x" * 3_000_000, "big.csv", **LIMITS)


def test_a_gzip_bomb_is_refused():
    bomb = gzip.compress(b"0" * 5_000_000)
    with pytest.raises(DataError, match="unpacks to over"):
        read_table(bomb, "bomb.csv.gz", **LIMITS)


def test_too_many_rows_are_refused_with_the_setting_named():
    data = b"timestamp,value\n" + b"2024-01-01,1\n" * 200
    with pytest.raises(DataError, match="VIGIL_MAX_ROWS"):
        read_table(data, "rows.csv", max_bytes=2_000_000, max_rows=100)


def test_a_chosen_column_that_does_not_exist_is_named():
    raw = read_table(ACCEPTED["gzip"][1], "data.csv.gz", **LIMITS)
    with pytest.raises(DataError, match="'nope'"):
        prepare(raw, Schema("timestamp", ("nope",)))


def reads_or_explains(filename: str, data: bytes) -> None:
    """Either tidy, sorted series with enough points, or our own error with a message."""
    try:
        tidy, report = load(filename, data)
    except DataError as error:
        assert str(error).strip()  # noqa: PT017 - a property test: either outcome is allowed
        return
    assert list(tidy.columns) == ["series", "timestamp", "value"]
    assert report.rows == len(tidy) >= MIN_POINTS
    assert not tidy.duplicated(["series", "timestamp"]).any()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_frame_or_our_own_error(data):
    reads_or_explains("fuzz.csv", data)


csv_cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.integers(-(10**12), 10**13).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.datetimes().map(lambda d: d.isoformat()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(csv_cell, min_size=1, max_size=4), min_size=0, max_size=30),
    st.sampled_from([",", ";", "\t"]),
)
def test_any_table_of_text_gives_a_frame_or_our_own_error(rows, sep):
    text = "\n".join(
        sep.join(cell.replace(sep, " ").replace("\n", " ") for cell in row) for row in rows
    )
    reads_or_explains("fuzz.csv", text.encode("utf-8"))


def test_a_label_column_is_not_offered_as_a_series():
    data = b"timestamp,value,is_anomaly\n" + b"".join(
        f"2024-01-01 {h:02d}:00,{h},{int(h == 7)}\n".encode() for h in range(20)
    )
    raw = read_table(data, "labelled.csv", **LIMITS)
    assert infer_schema(raw).value_columns == ("value",)
