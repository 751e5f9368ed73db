"""Read an uploaded file (CSV, gzipped CSV or Parquet) into a raw table.

Reading is the first of three steps: `io.read_table` gets the cells, `schema.infer_schema`
guesses what the columns mean, `tidy.prepare` turns them into sorted series and a report.
Every failure a user can cause raises `DataError` with a message fit to show them.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from vigil.detection.errors import DataError
from vigil.detection.quality import Finding, plural

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".txt", ".tsv")
_DELIMITERS = (",", ";", "\t", "|")
WESTERN = "cp1252"
_ENCODING_NAMES = {WESTERN: "Windows-1252", "latin-1": "Latin-1"}
_WESTERN_MESS = 0.12  # charset-normalizer's "chaos": Cyrillic or Chinese read as cp1252 score more
#: Most columns read from one file: a wider file is refused before its cells are parsed.
MAX_COLUMNS = 10_000
#: Most cells (rows times columns) read from one file, about 400 MB of numbers once parsed.
MAX_CELLS = 50_000_000


@dataclass
class RawTable:
    """A file read as a table, before any column is interpreted, and the character that
    separated its columns (a hint, with its decimal marks, of how it writes dates). `name`,
    when set, names the series of a column called `value` (a file's name says more)."""

    frame: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    delimiter: str = ","
    name: str = ""


# --------------------------------------------------------------------------- reading


def read_table(
    source: bytes | Path,
    filename: str,
    *,
    max_bytes: int,
    max_rows: int,
    max_unpacked_bytes: int | None = None,
) -> RawTable:
    """Read a `.csv`, `.csv.gz` or `.parquet` file into a raw table.

    Every limit is checked before the cells are parsed, so a small file that would unpack
    or parse into something huge is refused having cost little: the file's size
    (`max_bytes`), what a gzip file unpacks to or a Parquet file's metadata says its data
    takes (`max_unpacked_bytes`, `max_bytes` unless given; gzip is unpacked as a stream that
    stops at the limit), its rows (`max_rows`, counted from its lines or its metadata), its
    columns (`MAX_COLUMNS`) and its cells (`MAX_CELLS`)."""
    name = filename.lower()
    if not name.endswith(SUPPORTED_SUFFIXES):
        raise DataError(
            f"'{filename}' is not a supported file: upload a .csv, .csv.gz or .parquet file."
        )
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > max_bytes:
        raise DataError(
            f"'{filename}' is {_megabytes(size)}, over the {_megabytes(max_bytes)} limit."
        )
    data = source.read_bytes() if isinstance(source, Path) else source
    limits = _Limits(filename, max_rows, max_unpacked_bytes or max_bytes)
    if name.endswith(".parquet"):
        raw = _read_parquet(data, limits)
    else:
        if name.endswith(".gz"):
            data = _gunzip(data, limits)
        raw = _read_csv(data, filename, limits)
    if len(raw.frame.columns) == 0:
        raise DataError(f"'{filename}' is empty: it has no header and no rows.")
    if len(raw.frame) == 0:
        columns = ", ".join(map(str, raw.frame.columns[:8]))
        raise DataError(f"'{filename}' has a header ({columns}) but no data rows.")
    limits.check(len(raw.frame), len(raw.frame.columns))
    raw.frame.columns = _unique_names(raw.frame.columns)
    return raw


@dataclass(frozen=True)
class _Limits:
    """How much of a file Vigil reads, and the messages that say which limit a file is over."""

    filename: str
    max_rows: int
    max_unpacked_bytes: int

    def check(self, rows: int, columns: int) -> None:
        """Refuse a table of `rows` rows and `columns` columns over the limits."""
        if columns > MAX_COLUMNS:
            raise DataError(
                f"'{self.filename}' has {columns:,} columns; Vigil reads at most "
                f"{MAX_COLUMNS:,}. Keep the time column and the series you want to watch."
            )
        if rows > self.max_rows:
            raise DataError(
                f"'{self.filename}' has {rows:,} rows; Vigil reads at most "
                f"{self.max_rows:,} per file (VIGIL_MAX_ROWS). Split the file or aggregate it "
                "to a coarser step."
            )
        if rows * columns > MAX_CELLS:
            raise DataError(
                f"'{self.filename}' has {rows * columns:,} cells ({rows:,} rows by "
                f"{columns:,} columns); Vigil reads at most {MAX_CELLS:,} per file. "
                "Split the file or leave out columns you do not watch."
            )

    def unpacked(self, size: int, what: str) -> None:
        if size > self.max_unpacked_bytes:
            raise DataError(
                f"'{self.filename}' {what} over {_megabytes(self.max_unpacked_bytes)}, the "
                "limit for unpacked files (VIGIL_MAX_UPLOAD_MB)."
            )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _unique_names(columns: pd.Index) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for position, column in enumerate(columns):
        text = str(column).strip() or f"column {position + 1}"
        count = seen.get(text, 0)
        seen[text] = count + 1
        names.append(text if count == 0 else f"{text} ({count + 1})")
    return names


def _read_parquet(data: bytes, limits: _Limits) -> RawTable:
    """Check the rows, columns and unpacked size the file's metadata states before any of
    its data is read."""
    filename = limits.filename
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        limits.check(meta.num_rows, meta.num_columns)
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        limits.unpacked(unpacked, f"holds {_megabytes(unpacked)} of data once unpacked,")
        frame = parquet.read().to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError) as error:
        raise DataError(f"'{filename}' could not be read as Parquet ({error}).") from None
    return RawTable(frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex)))


_GUNZIP_CHUNK = 1 << 20


def _gunzip(data: bytes, limits: _Limits) -> bytes:
    """The file unpacked, a chunk at a time, refused as soon as it passes the limit."""
    chunks, size = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_GUNZIP_CHUNK):
                size += len(chunk)
                limits.unpacked(size, "unpacks to")
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error):
        raise DataError(f"'{limits.filename}' is not a valid gzip file.") from None
    return b"".join(chunks)


def _decode(data: bytes) -> tuple[bytes, Finding]:
    """Bytes that are not UTF-8, re-encoded as UTF-8, and a note of what they were."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise DataError(
                "The file starts like UTF-16 text but is not: it looks binary."
            ) from None
    else:
        encoding = guess_encoding(data[:200_000])
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            encoding, text = "latin-1", data.decode("latin-1")
    shown = _ENCODING_NAMES.get(encoding, encoding)
    note = Finding("encoding", 0, f"The file is not UTF-8; read it as {shown}.", "info")
    return text.encode("utf-8"), note


def guess_encoding(data: bytes) -> str:
    """The encoding of text that is not UTF-8: Windows-1252 when it reads as clean Western
    text (a lone `°` or `€` is too little for a detector, which then takes East Asian
    codecs), else what charset-normalizer finds, else latin-1 (which reads any bytes)."""
    western = from_bytes(data, cp_isolation=[WESTERN], threshold=_WESTERN_MESS)
    if western.best() is not None:
        return WESTERN
    best = from_bytes(data).best()
    return best.encoding if best is not None else "latin-1"


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text[:65_536].splitlines()[:30] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        if not counts or min(counts) == 0:
            continue
        typical = max(set(counts), key=counts.count)
        consistent = counts.count(typical) >= 0.9 * len(counts)
        if consistent and typical > best_count:
            best, best_count = delimiter, typical
    return best


def _read_csv(data: bytes, filename: str, limits: _Limits) -> RawTable:
    if not data or data.isspace():
        raise DataError(f"'{filename}' is empty.")
    findings: list[Finding] = []
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and b"\x00" in data[:8192]:
        raise DataError(f"'{filename}' looks like a binary file, not a CSV text file.")
    if utf16:
        data, note = _decode(data)
        findings.append(note)
    delimiter = _sniff_delimiter(data[:65_536].decode("utf-8", errors="replace"))
    if delimiter != ",":
        shown = {"\t": "tabs", ";": "semicolons", "|": "pipes"}[delimiter]
        findings.append(Finding("delimiter", 0, f"Columns are separated by {shown}.", "info"))
    _check_shape(data, delimiter, limits)
    try:
        frame = _read_with_pyarrow(data, delimiter)
    except (pa.ArrowException, ValueError):
        if not _is_utf8(data):
            data, note = _decode(data)
            findings.append(note)
            try:
                return RawTable(_read_with_pyarrow(data, delimiter), findings, delimiter)
            except (pa.ArrowException, ValueError):
                pass
        frame, skipped = _read_csv_skipping_bad_lines(data, delimiter, filename)
        if skipped:
            findings.append(
                Finding(
                    "malformed_lines",
                    skipped,
                    f"{plural(skipped, 'line')} had the wrong number of fields; skipped.",
                )
            )
    return RawTable(frame, findings, delimiter)


def _check_shape(data: bytes, delimiter: str, limits: _Limits) -> None:
    """Refuse a file whose header has too many columns, or whose lines are too many, before
    parsing: the lines after the header bound its rows from above (a quoted cell may hold a
    line break, so a file near the row limit may be refused though it is just under)."""
    header = data[: data.find(b"\n") if b"\n" in data else len(data)]
    columns = header.count(delimiter.encode()) + 1
    breaks = max(data.count(b"\n"), data.count(b"\r"))
    last = data.rstrip(b"\r\n")
    lines = breaks + 1 if last and len(last) == len(data) else breaks
    rows = max(lines - 1, 0)
    limits.check(rows, columns)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _holds_bytes(frame: pd.DataFrame) -> bool:
    """pyarrow hands back raw bytes for cells that are not valid UTF-8."""
    if any(isinstance(name, bytes) for name in frame.columns):
        return True
    return any(
        frame[column].map(lambda cell: isinstance(cell, bytes)).any()
        for column in frame.columns
        if frame[column].dtype == object
    )


def _read_with_pyarrow(data: bytes, delimiter: str) -> pd.DataFrame:
    """Parse UTF-8 CSV bytes with pyarrow's reader (which checks the UTF-8 of text cells)."""
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(strings_can_be_null=True)  # "n/a", "NULL"... in text too
    table = pacsv.read_csv(io.BytesIO(data), parse_options=parse, convert_options=convert)
    table = table.rename_columns(_unique_names(pd.Index(table.column_names)))
    zoned = [
        field.name
        for field in table.schema
        if pa.types.is_timestamp(field.type) and field.type.tz is not None
    ]
    if zoned:
        # Keep the text, so each row's own UTC offset can be seen and reported.
        as_text = pacsv.ConvertOptions(
            column_types=dict.fromkeys(zoned, pa.string()), strings_can_be_null=True
        )
        text = pacsv.read_csv(io.BytesIO(data), parse_options=parse, convert_options=as_text)
        text = text.rename_columns(table.column_names)
        for name in zoned:
            table = table.set_column(table.schema.get_field_index(name), name, text[name])
    frame: pd.DataFrame = table.to_pandas()
    if _holds_bytes(frame):
        raise ValueError("the file is not UTF-8")
    return frame


def _read_csv_skipping_bad_lines(
    data: bytes, delimiter: str, filename: str
) -> tuple[pd.DataFrame, int]:
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, engine="c", on_bad_lines="skip", low_memory=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise DataError(f"'{filename}' could not be read as CSV ({error}).") from None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return frame, max(0, lines - 1 - len(frame))
