"""Files built to cost the server far more than their size are refused before they unpack.

Memory is measured with tracemalloc, which sees Python's and NumPy's allocations: a refused
file must cost about what its text takes, never what its parsed cells would.
"""

from __future__ import annotations

import gzip
import io
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from vigil.detection import io as reading
from vigil.detection.errors import DataError
from vigil.detection.io import MAX_COLUMNS, read_table
from vigil.detection.schema import infer_schema

MB = 1_000_000


def peak_while(action) -> tuple[int, BaseException | None]:
    """The most memory traced while `action` runs, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        action()
    except Exception as error:  # the refusal is checked by the caller
        raised = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def test_a_gzipped_csv_of_millions_of_tiny_rows_is_refused_before_parsing():
    unpacked = b"value\n" + b"1\n" * 5_000_000  # 10 MB of text, 5 million rows
    bomb = gzip.compress(unpacked, compresslevel=9)
    assert len(bomb) < 50_000

    peak, raised = peak_while(
        lambda: read_table(bomb, "bomb.csv.gz", max_bytes=20 * MB, max_rows=1_000)
    )

    assert isinstance(raised, DataError)
    assert "VIGIL_MAX_ROWS" in str(raised)
    assert "1,000" in str(raised)
    # The unpacked text is held once (and joined once); 5 million parsed numbers are not.
    assert peak < 2.5 * len(unpacked)


def test_a_gzip_file_is_unpacked_only_up_to_the_limit():
    bomb = gzip.compress(b"0" * 50 * MB, compresslevel=9)

    peak, raised = peak_while(
        lambda: read_table(bomb, "bomb.csv.gz", max_bytes=2 * MB, max_rows=10)
    )

    assert isinstance(raised, DataError)
    assert "unpacks to over 2.0 MB" in str(raised)
    assert "VIGIL_MAX_UPLOAD_MB" in str(raised)
    assert peak < 8 * MB


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_a_parquet_file_with_too_many_rows_is_refused_from_its_metadata():
    times = pd.date_range("2024-01-01", periods=2_000_000, freq="s")
    bomb = _parquet(pd.DataFrame({"timestamp": times, "value": np.zeros(len(times))}))

    peak, raised = peak_while(
        lambda: read_table(bomb, "bomb.parquet", max_bytes=20 * MB, max_rows=1_000)
    )

    assert isinstance(raised, DataError)
    assert "2,000,000 rows" in str(raised)
    assert "VIGIL_MAX_ROWS" in str(raised)
    assert peak < 2 * MB  # not one of its 2 million times was read


def test_a_parquet_file_that_unpacks_past_the_limit_is_refused_from_its_metadata():
    text = pd.Series([f"{i:08d}" * 100 for i in range(20_000)])  # 16 MB of text unpacked
    bomb = _parquet(pd.DataFrame({"timestamp": pd.date_range("2024", periods=20_000), "t": text}))

    peak, raised = peak_while(
        lambda: read_table(bomb, "wide.parquet", max_bytes=len(bomb) + 1, max_rows=100_000)
    )

    assert isinstance(raised, DataError)
    assert "once unpacked" in str(raised)
    assert peak < 2 * MB


def test_a_csv_with_too_many_columns_is_refused_naming_the_limit():
    columns = 20_000
    header = "timestamp," + ",".join(f"c{i}" for i in range(columns))
    row = "2024-01-01 00:00," + ",".join("1" for _ in range(columns))
    data = gzip.compress(f"{header}\n{row}\n{row}\n".encode())

    peak, raised = peak_while(
        lambda: read_table(data, "wide.csv.gz", max_bytes=5 * MB, max_rows=100)
    )

    assert isinstance(raised, DataError)
    assert "20,001 columns" in str(raised)
    assert f"{MAX_COLUMNS:,}" in str(raised)
    assert peak < 2 * MB


def test_a_parquet_file_with_too_many_columns_is_refused_from_its_metadata():
    frame = pd.DataFrame(
        np.zeros((2, MAX_COLUMNS + 1)), columns=[f"c{i}" for i in range(MAX_COLUMNS + 1)]
    )
    with pytest.raises(DataError, match=f"{MAX_COLUMNS + 1:,} columns"):
        read_table(_parquet(frame), "wide.parquet", max_bytes=50 * MB, max_rows=100)


def test_a_file_with_too_many_cells_is_refused_naming_the_limit(monkeypatch):
    monkeypatch.setattr(reading, "MAX_CELLS", 1_000)
    header = "timestamp," + ",".join(f"c{i}" for i in range(20))
    rows = "".join(f"2024-01-01 {h % 24:02d}:00," + ",".join("1" * 20) + "\n" for h in range(100))
    with pytest.raises(DataError, match=r"2,100 cells .* at most 1,000"):
        read_table(f"{header}\n{rows}".encode(), "cells.csv", max_bytes=MB, max_rows=1_000)


def test_a_file_just_under_the_limits_is_read():
    rows = "".join(f"2024-01-01 {h:02d}:00,{h}\n" for h in range(24))
    raw = read_table(f"timestamp,value\n{rows}".encode(), "day.csv", max_bytes=MB, max_rows=24)
    assert len(raw.frame) == 24


class CountedName(str):
    """A column name that counts how often it is hashed or compared."""

    operations = 0

    def __hash__(self) -> int:
        CountedName.operations += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        CountedName.operations += 1
        return str.__eq__(self, other)


def name_operations_to_infer(columns: int) -> int:
    from vigil.detection.io import RawTable

    names = [CountedName("timestamp"), *(CountedName(f"v{i}") for i in range(columns))]
    cells = {"timestamp": pd.date_range("2024-01-01", periods=5, freq="h")}
    cells |= {f"v{i}": np.arange(5.0) for i in range(columns)}
    frame = pd.DataFrame(cells)
    frame.columns = pd.Index(names, dtype=object)
    CountedName.operations = 0
    schema = infer_schema(RawTable(frame))
    assert len(schema.value_columns) == columns
    return CountedName.operations


def test_schema_inference_work_grows_with_the_columns_not_their_square():
    small, large = name_operations_to_infer(1_000), name_operations_to_infer(4_000)
    assert large < 5 * small, (small, large)
