"""Data sets kept on disk: content-hash ids, re-use, restarts, failures that touch nothing."""

from __future__ import annotations

import pytest

from detection.errors import DataError
from detection.schema import Schema
from tests.hostile import ACCEPTED, REFUSED
from vigil.datasets import DatasetStore


def test_a_stored_file_survives_a_restart(store, tmp_path):
    info, reused = store.add(*reversed(ACCEPTED["long_format"]))
    assert not reused

    reopened = DatasetStore(tmp_path, max_bytes=5_000_000, max_rows=200_000)

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
