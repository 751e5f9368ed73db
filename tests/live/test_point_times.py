"""A point's time is read the same whether it comes alone or among many: the few-point path
(`datetime.fromisoformat`) and pandas agree on every plain ISO 8601 time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from vigil.live.points import FEW, NOT_A_TIME, read_batch

OFFSETS = st.sampled_from(["", "Z", "+00:00", "+05:30", "-08:00", "+14:00", "-12:00"])


@st.composite
def plain_times(draw) -> str:
    moment = draw(st.datetimes(min_value=datetime(1969, 12, 30), max_value=datetime(2200, 1, 2)))
    shape = draw(st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "micro"]))
    if shape == "micro":
        written = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[: 20 + draw(st.integers(1, 6))]
    else:
        written = moment.strftime(shape)
    return written + ("" if shape == "%Y-%m-%d" else draw(OFFSETS))


@given(st.lists(plain_times(), min_size=1, max_size=FEW))
def test_a_few_plain_times_are_read_as_pandas_reads_them(written):
    alone = read_batch({"points": [{"timestamp": w, "value": 1.0} for w in written]})
    padding = ["2026-01-01T00:00:00.123456789"] * (FEW + 1)  # not plain: pandas reads all
    among = read_batch({"points": [{"timestamp": w, "value": 1.0} for w in [*written, *padding]]})

    (pad,) = read_batch({"points": [{"timestamp": padding[0], "value": 1.0}]}).timestamps
    assert alone.timestamps.tolist() == [t for t in among.timestamps.tolist() if t != pad]
    assert alone.rejected == among.rejected


def test_a_lone_point_in_any_zone_is_stored_in_utc():
    local = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    batch = read_batch({"points": [{"timestamp": local.isoformat(), "value": 1.0}]})
    (stamp,) = batch.timestamps.tolist()
    assert datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=stamp // 1000) == datetime(
        2026, 12, 1, 9, 30, tzinfo=UTC
    )
    late = read_batch({"points": [{"timestamp": "2199-12-31T23:30:00-05:00", "value": 1.0}]})
    assert late.rejected == 1
    assert NOT_A_TIME not in late.timestamps
