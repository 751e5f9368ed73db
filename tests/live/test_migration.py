"""Revision 0006 (live episodes and learning) keeps the points it finds, both ways."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from vigil.storage.database import Database
from vigil.storage.migrations import downgrade, upgrade


@pytest.fixture
def at_0005(database_url):
    """A database at revision 0005 with one series and two points, one flagged."""
    database = Database(database_url)
    upgrade(database, "0005")
    with database.write() as connection:
        series = connection.execute(
            text(
                "INSERT INTO series (name, detector, created) VALUES ('s', 'auto', 0) RETURNING id"
            )
        ).scalar_one()
        for ts, flagged in ((1, 0), (2, 1)):
            connection.execute(
                text(
                    "INSERT INTO points (series, ts, value, received, is_anomaly) "
                    "VALUES (:s, :ts, 1.0, 0, :flagged)"
                ),
                {"s": series, "ts": ts, "flagged": flagged},
            )
    yield database
    database.dispose()


def columns(database: Database, table: str) -> set[str]:
    return {column["name"] for column in inspect(database.engine).get_columns(table)}


def test_0006_adds_episodes_and_learning_and_keeps_the_points(at_0005):
    upgrade(at_0005, "0006")

    assert {"episode", "onset"} <= columns(at_0005, "points")
    assert {"learning_left", "learning_at", "step_seconds"} <= columns(at_0005, "series")
    with at_0005.read() as connection:
        rows = connection.execute(
            text("SELECT ts, is_anomaly, episode, onset FROM points ORDER BY ts")
        ).all()
    # points scored before the revision are not labelled after the fact
    assert [tuple(row) for row in rows] == [(1, 0, None, None), (2, 1, None, None)]


def test_0006_goes_down_in_place_so_deleted_point_ids_are_still_never_given_again(at_0005):
    upgrade(at_0005, "0006")
    downgrade(at_0005, "0005")

    assert "episode" not in columns(at_0005, "points")
    assert "learning_left" not in columns(at_0005, "series")
    insert = text(
        "INSERT INTO points (series, ts, value, received) VALUES (1, :ts, 1.0, 0) RETURNING id"
    )
    with at_0005.write() as connection:
        last = connection.execute(insert, {"ts": 3}).scalar_one()
        connection.execute(text("DELETE FROM points WHERE id = :id"), {"id": last})
        again = connection.execute(insert, {"ts": 3}).scalar_one()
        kept = connection.execute(text("SELECT COUNT(*) FROM points")).scalar_one()
    assert again > last
    assert kept == 3


def test_0011_sums_the_minutes_of_the_points_scored_before_it(database_url):
    """Series from before the minutes were summed get theirs at the upgrade: every minute up
    to that of the latest scored point, from its scored points only."""
    minute = 60_000_000_000
    database = Database(database_url)
    upgrade(database, "0010")
    with database.write() as connection:
        series = connection.execute(
            text(
                "INSERT INTO series (name, detector, created) VALUES ('s', 'auto', 0) RETURNING id"
            )
        ).scalar_one()
        for ts, value, scored in (
            (1, 1.0, 1),
            (2, 5.0, 1),
            (minute + 1, 7.0, 1),
            (2 * minute, 9.0, None),
        ):
            connection.execute(
                text(
                    "INSERT INTO points (series, ts, value, received, scored, severity, expected) "
                    "VALUES (:s, :ts, :value, 0, :scored, 0.2, 3.0)"
                ),
                {"s": series, "ts": ts, "value": value, "scored": scored},
            )
    try:
        upgrade(database, "0011")
        with database.read() as connection:
            rows = connection.execute(
                text(
                    "SELECT bucket, points, first, last, low, high, expected_sum, "
                    "expected_points FROM point_rollups ORDER BY bucket"
                )
            ).all()
            rolled = connection.execute(text("SELECT rolled_until FROM series")).scalar_one()
    finally:
        database.dispose()

    assert rolled == 2  # the minute after the latest scored point
    assert [tuple(row) for row in rows] == [
        (0, 2, 1, 2, 1.0, 5.0, 6.0, 2),
        (1, 1, minute + 1, minute + 1, 7.0, 7.0, 3.0, 1),
    ]
