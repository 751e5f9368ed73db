"""Data sets kept on disk: content-hash ids, re-use, restarts, failures that touch nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.hostile import ACCEPTED, REFUSED
from vigil.detection.errors import DataError
from vigil.detection.schema import Schema
from vigil.storage.database import Database
from vigil.storage.files import FileStore
from vigil.stores.datasets import DRAFT_SECONDS, DatasetStore, NeedsColumns


def test_a_stored_file_survives_a_restart(store, tmp_path):
    info, reused = store.add(*reversed(ACCEPTED["long_format"]))
    assert not reused

    reopened = DatasetStore(
        FileStore(tmp_path), Database(store.database.url), max_bytes=5_000_000, max_rows=200_000
    )

    assert [i.id for i in reopened.list()] == [info.id]
    assert reopened.info(info.id).report.series == ("web0", "web1", "web2")
    assert len(reopened.series(info.id, "web1")) == 20


def test_uploading_the_same_file_twice_reuses_it(store):
    first, _ = store.add(ACCEPTED["gzip"][1], "a.csv.gz")
    second, reused = store.add(ACCEPTED["gzip"][1], "renamed.csv.gz")
    assert reused
    assert second.id == first.id
    assert len(store.list()) == 1


def test_a_refused_upload_leaves_earlier_data_sets_untouched(store):
    kept, _ = store.add(ACCEPTED["gzip"][1], "a.csv.gz")
    before = (store.root / kept.id / "data.parquet").read_bytes()
    for filename, data, _ in REFUSED.values():
        with pytest.raises(DataError):
            store.add(data, filename)
    assert [i.id for i in store.list()] == [kept.id]
    assert (store.root / kept.id / "data.parquet").read_bytes() == before
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


def test_choosing_other_columns_reprepares_the_stored_file(store):
    info, _ = store.add(ACCEPTED["long_format"][1], "long.csv")
    updated = store.reprepare(info.id, Schema("timestamp", ("cpu",), None))
    assert updated.report.series == ("cpu",)
    assert store.info(info.id).schema.series_column is None
    assert len(store.tidy(info.id)) == 60 // 3  # repeats per timestamp merged into one point


def test_a_bad_column_choice_keeps_the_previous_one(store):
    info, _ = store.add(ACCEPTED["long_format"][1], "long.csv")
    with pytest.raises(DataError):
        store.reprepare(info.id, Schema("host", ("cpu",), None))
    assert store.info(info.id).schema == info.schema


def test_ids_that_could_escape_the_data_dir_are_refused(store):
    with pytest.raises(DataError, match="not valid"):
        store.info("../../etc/passwd")
    assert not store.exists("../secret")


def test_the_demo_data_set_is_built_in(store):
    info = store.add_demo()
    assert info.report.series == ("requests_per_min", "latency_ms", "temperature_c")
    assert info.report.finding("missing").count == 25
    assert info.report.finding("gaps").count == 1
    assert store.add_demo().id == info.id


def test_the_same_file_uploaded_twice_at_once_is_stored_once(store):
    from concurrent.futures import ThreadPoolExecutor

    data = ACCEPTED["long_format"][1]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: store.add(data, "twice.csv")[0].id, range(4)))
    assert len(set(results)) == 1
    assert [info.id for info in store.list()] == results[:1]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


def test_choosing_columns_again_makes_a_new_version_and_keeps_the_one_before(store):
    info, _ = store.add(ACCEPTED["long_format"][1], "long.csv")
    folder = store.root / info.id
    store.reprepare(info.id, Schema("timestamp", ("cpu",), None))
    assert (folder / "data.parquet").is_file()  # a reader that still holds it can finish
    assert (folder / "data-v2.parquet").is_file()

    store.reprepare(info.id, Schema("timestamp", ("cpu",), "host"))

    assert not (folder / "data.parquet").exists()
    assert (folder / "data-v3.parquet").is_file()
    assert store.info(info.id).report.series == ("web0", "web1", "web2")
    assert len(store.series(info.id, "web2")) == 20


def test_data_sets_stored_before_the_database_kept_them_are_adopted(store, tmp_path):
    info, _ = store.add(ACCEPTED["gzip"][1], "older.csv.gz")
    with store.database.write() as connection:  # as a data directory from before
        connection.execute(text("DELETE FROM datasets"))
    assert store.list() == []
    (store.root / ".0123456789abcdef-half").mkdir()  # an upload that died midway

    assert store.adopt_folders() == 1
    assert store.adopt_folders() == 0
    assert [i.id for i in store.list()] == [info.id]
    assert store.info(info.id).name == "older.csv.gz"
    assert len(store.tidy(info.id)) > 0


def epoch_file_without_a_time_name() -> bytes:
    """Unix seconds in a column whose name says nothing of time: no guess finds it."""
    lines = ["stamp,reading", *(f"{1_700_000_000 + 60 * i},{i % 5}.5" for i in range(50))]
    return ("\n".join(lines) + "\n").encode()


def test_a_file_whose_columns_cannot_be_guessed_waits_for_the_user_to_choose(store):
    with pytest.raises(NeedsColumns) as unsure:
        store.add(epoch_file_without_a_time_name(), "meter.csv")
    assert "No timestamp column" in str(unsure.value)
    assert store.list() == []
    name, raw = store.draft(unsure.value.draft_id)
    assert name == "meter.csv"
    assert list(raw.frame.columns) == ["stamp", "reading"]

    info = store.add_draft(unsure.value.draft_id, Schema("stamp", ("reading",)))

    assert [i.id for i in store.list()] == [info.id]
    assert info.report.lines == 50
    assert len(store.series(info.id, "reading")) == 50
    with pytest.raises(DataError, match="no longer on the server"):
        store.draft(unsure.value.draft_id)


def test_a_draft_left_for_days_is_removed_when_another_file_needs_columns(store):
    monday = 1_800_000_000.0
    with pytest.raises(NeedsColumns) as left:
        store.add(epoch_file_without_a_time_name(), "meter.csv", now=monday)
    later_file = epoch_file_without_a_time_name().replace(b"reading", b"level")
    with pytest.raises(NeedsColumns) as recent:
        store.add(later_file, "tank.csv", now=monday + DRAFT_SECONDS - 60)

    third_file = epoch_file_without_a_time_name().replace(b"reading", b"flow")
    with pytest.raises(NeedsColumns):
        store.add(third_file, "pipe.csv", now=monday + DRAFT_SECONDS + 60)

    with pytest.raises(DataError, match="no longer on the server"):
        store.draft(left.value.draft_id)
    assert store.draft(recent.value.draft_id)[0] == "tank.csv"  # still there to finish


def test_a_column_called_value_takes_the_files_name(store):
    lines = ["timestamp,value", *(f"2024-01-01 {h:02d}:00,{h}" for h in range(24))]
    info, _ = store.add(("\n".join(lines) + "\n").encode(), "pump-7.csv")
    assert info.report.series == ("pump-7",)
