"""Scored frames as files: CSV safe to open in a spreadsheet, and Parquet."""

from __future__ import annotations

import io

import pandas as pd

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]) or safe[column].dtype == object:
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_STARTS).fillna(False)
            safe[column] = text.where(~risky, "'" + text)
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return (
        neutralise_formulas(frame)
        .to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        .encode("utf-8")
    )


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet, without its `attrs` (run notes such as when online scoring's
    learning ended, which Parquet's metadata cannot hold)."""
    plain = frame.copy(deep=False)
    plain.attrs = {}
    buffer = io.BytesIO()
    plain.to_parquet(buffer, index=False)
    return buffer.getvalue()
