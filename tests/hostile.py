"""A corpus of hostile files: what a user might upload, and what Vigil must say about it."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd


def _rows(n: int = 30, start: str = "2024-01-01", freq: str = "h") -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq=freq),
            "value": rng.normal(10, 1, n).round(3),
        }
    )


def _csv(frame: pd.DataFrame, **kwargs) -> bytes:
    return frame.to_csv(index=False, **kwargs).encode("utf-8")


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


DIRTY_CELLS = {3: "oops", 5: "", 7: "n/a"}

# name -> (filename, bytes, a fragment of the message the user must get)
REFUSED: dict[str, tuple[str, bytes, str]] = {
    "empty": ("empty.csv", b"", "is empty"),
    "blank_lines": ("blank.csv", b"\n\n  \n", "is empty"),
    "header_only": ("header.csv", b"timestamp,value\n", "no data rows"),
    "binary": ("photo.csv", bytes(range(256)) * 40, "binary"),
    "no_timestamp": ("nots.csv", b"a,b\n1,2\n3,4\n5,6\n", "No timestamp column"),
    "no_numeric": (
        "words.csv",
        b"timestamp,name\n" + b"".join(f"2024-01-01 {h:02d}:00,x{h}\n".encode() for h in range(20)),
        "No numeric column",
    ),
    "all_nan_column": (
        "allnan.csv",
        b"timestamp,value\n" + b"".join(f"2024-01-01 {h:02d}:00,\n".encode() for h in range(20)),
        "no values",
    ),
    "one_row": ("one.csv", b"timestamp,value\n2024-01-01 00:00,1.5\n", "at least"),
    "wrong_type": ("notes.docx", b"PK\x03\x04", "not a supported file"),
    "broken_gzip": ("data.csv.gz", b"not gzip at all", "not a valid gzip"),
    "broken_parquet": ("data.parquet", b"PAR1 nonsense", "could not be read as Parquet"),
    "broken_utf16": ("u16.csv", b"\xfe\xff\x00\x00\x00", "looks binary"),
}

ACCEPTED: dict[str, tuple[str, bytes]] = {
    "latin1": (
        "latin1.csv",
        (
            "timestamp,température\n" + "".join(f"2024-01-01 {h:02d}:00,{h}.5\n" for h in range(20))
        ).encode("latin-1"),
    ),
    "semicolons_and_decimal_commas": (
        "euro.csv",
        b"timestamp;value\n"
        + b"".join(f"2024-01-01 {h:02d}:00;{h},25\n".encode() for h in range(20)),
    ),
    "tabs": ("tabs.tsv", _csv(_rows(), sep="\t")),
    "duplicates": ("dups.csv", _csv(pd.concat([_rows(), _rows().iloc[:5]]))),
    "unsorted": ("unsorted.csv", _csv(_rows().iloc[::-1])),
    "mixed_time_zones": (
        "zones.csv",
        b"timestamp,value\n"
        + b"".join(f"2024-01-01T{h:02d}:00:00+01:00,{h}\n".encode() for h in range(0, 20, 2))
        + b"".join(f"2024-01-01T{h:02d}:00:00+00:00,{h}\n".encode() for h in range(1, 20, 2)),
    ),
    "epoch_seconds": (
        "epoch.csv",
        b"time,value\n"
        + b"".join(f"{1_700_000_000 + 60 * i},{i % 7}\n".encode() for i in range(30)),
    ),
    "epoch_milliseconds": (
        "epoch_ms.csv",
        b"ts,value\n"
        + b"".join(f"{1_700_000_000_000 + 60_000 * i},{i % 7}\n".encode() for i in range(30)),
    ),
    "nan_and_text_cells": (
        "dirty.csv",
        b"timestamp,value\n"
        + b"".join(f"2024-01-01 {h:02d}:00,{DIRTY_CELLS.get(h, h)}\n".encode() for h in range(20)),
    ),
    "unparseable_timestamps": (
        "badtimes.csv",
        b"timestamp,value\n"
        + b"".join(f"2024-01-01 {h:02d}:00,{h}\n".encode() for h in range(20))
        + b"yesterday,3\nsoon,4\n",
    ),
    "gzip": ("data.csv.gz", gzip.compress(_csv(_rows()))),
    "parquet": ("data.parquet", _parquet(_rows())),
    "long_format": (
        "long.csv",
        b"timestamp,host,cpu\n"
        + b"".join(
            f"2024-01-01 {h:02d}:00,web{i},{h * i}\n".encode() for h in range(20) for i in range(3)
        ),
    ),
    "bom": ("bom.csv", b"\xef\xbb\xbf" + _csv(_rows())),
    "utf16": ("excel.csv", _rows().to_csv(index=False, sep="\t").encode("utf-16")),
}
