"""Writing many rows in one statement, per dialect: the only place Vigil's SQL differs
between SQLite and Postgres.

SQLite runs a statement a row, in process, through the driver's `executemany`; Postgres takes
whole columns as arrays and writes them in one round trip. Both run in the caller's
transaction, so what they write is seen all at once or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, text

from vigil.storage.database import execute_many

_INSERT_POINTS = (
    "INSERT INTO points (series, ts, value, received) VALUES (:series, :ts, :value, :received)"
)
_INSERT_POINTS_PG = (
    "INSERT INTO points (series, ts, value, received) "
    "SELECT :series, p.ts, p.value, :received "
    "FROM unnest(CAST(:ts AS bigint[]), CAST(:value AS double precision[])) "
    "WITH ORDINALITY AS p(ts, value, n) ORDER BY p.n"
)
_UPDATE_SCORES = (
    "UPDATE points SET score = :score, severity = :severity, is_anomaly = :is_anomaly, "
    "expected = :expected, lower = :lower, upper = :upper, explanation = :explanation, "
    "episode = :episode, onset = :onset, scored = :scored WHERE id = :id"
)
_UPDATE_SCORES_PG = (
    "UPDATE points SET score = s.score, severity = s.severity, is_anomaly = s.is_anomaly, "
    "expected = s.expected, lower = s.lower, upper = s.upper, explanation = s.explanation, "
    "episode = s.episode, onset = s.onset, "
    "scored = :scored FROM unnest(CAST(:id AS bigint[]), CAST(:score AS double precision[]), "
    "CAST(:severity AS double precision[]), CAST(:is_anomaly AS integer[]), "
    "CAST(:expected AS double precision[]), CAST(:lower AS double precision[]), "
    "CAST(:upper AS double precision[]), CAST(:explanation AS text[]), "
    "CAST(:episode AS bigint[]), CAST(:onset AS integer[])) "
    "AS s(id, score, severity, is_anomaly, expected, lower, upper, explanation, episode, onset) "
    "WHERE points.id = s.id"
)


def insert_points(
    connection: Connection,
    series_id: int,
    times: list[int],
    values: list[float],
    received: float,
) -> None:
    """Insert points of series `series_id`: `times` (ns) and `values`, all received at
    `received` (seconds since the epoch)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(_INSERT_POINTS_PG),
            {"series": series_id, "ts": times, "value": values, "received": received},
        )
        return
    execute_many(
        connection,
        _INSERT_POINTS,
        {
            "series": [series_id] * len(times),
            "ts": times,
            "value": values,
            "received": [received] * len(times),
        },
    )


def update_scores(
    connection: Connection, columns: Mapping[str, Sequence[object]], scored_at: float
) -> None:
    """Store the scores in `columns` (equal-length lists named as the points' score columns,
    and `id`, the point each row is for), all scored at `scored_at`."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_UPDATE_SCORES_PG), {**columns, "scored": scored_at})
        return
    execute_many(
        connection, _UPDATE_SCORES, {**columns, "scored": [scored_at] * len(columns["id"])}
    )
