"""Files in a directory or an object store (a real S3 server, moto's, on 127.0.0.1): data
sets, models and results that every web server and worker sees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.hostile import ACCEPTED
from tests.services import s3_in_this_process, s3_server
from vigil.detection import make_detector
from vigil.detection.errors import DataError
from vigil.detection.models import train
from vigil.detection.schema import Schema
from vigil.detection.synthetic import seasonal_series
from vigil.storage.database import Database
from vigil.storage.files import FileStore
from vigil.stores.datasets import DatasetStore
from vigil.stores.models import ModelStore
from vigil.stores.results import ResultStore, RunSettings


@pytest.fixture(params=["directory", "s3"])
def files_url(request, tmp_path):
    if request.param == "directory":
        yield str(tmp_path / "files")
        return
    with s3_server() as aws, s3_in_this_process(aws):
        yield "s3://vigil-files/team"


def test_files_are_written_whole_read_listed_and_removed(files_url):
    files = FileStore(files_url)
    files.put("a/one.txt", b"first")
    files.put("a/one.txt", b"second")  # written again, whole
    files.put("a/two.txt", b"")
    frame = pd.DataFrame(
        {"t": pd.date_range("2024-01-01", periods=3, freq="h"), "v": [1.0, 2.0, 3.5]}
    )
    files.put_parquet("b/frame.parquet", frame)

    other = FileStore(files_url)  # as another server sees them
    assert other.get("a/one.txt") == b"second"
    assert other.keys("a") == ["one.txt", "two.txt"]
    pd.testing.assert_frame_equal(other.get_parquet("b/frame.parquet"), frame)
    other.delete("a")
    assert not files.exists("a/one.txt")
    assert files.keys("a") == []
    with pytest.raises(FileNotFoundError):
        files.get("a/one.txt")


def test_data_sets_models_and_results_are_shared_through_the_files_and_the_database(
    files_url, database
):
    """One server stores them; another, with only the same file store and database, uses
    them, columns chosen again included."""
    here = DatasetStore(FileStore(files_url), database, max_bytes=5_000_000, max_rows=200_000)
    info, _ = here.add(ACCEPTED["long_format"][1], "hosts.csv")
    frame = seasonal_series(n=2000, seed=3)
    detector = make_detector("zscore")
    model_id = ModelStore(FileStore(files_url), b"k" * 32).save(
        detector, train(detector, frame, series="cpu", dataset=info.id)
    )
    run = RunSettings(info.id, "hosts.csv", "web1", "zscore", {}, {})
    scored = detector.score(frame)
    ResultStore(FileStore(files_url)).save(run, scored, 0.5)

    there = DatasetStore(
        FileStore(files_url), Database(database.url), max_bytes=5_000_000, max_rows=200_000
    )
    assert [i.name for i in there.list()] == ["hosts.csv"]
    assert len(there.series(info.id, "web1")) == 20
    there.reprepare(info.id, Schema("timestamp", ("cpu",), None))
    assert here.info(info.id).report.series == ("cpu",)
    assert len(here.tidy(info.id)) == 20
    loaded, model_info = ModelStore(FileStore(files_url), b"k" * 32).load(model_id)
    assert model_info.series == "cpu"
    np.testing.assert_allclose(loaded.score(frame)["severity"], scored["severity"])
    with pytest.raises(DataError, match="different model key"):
        ModelStore(FileStore(files_url), b"another key, long enough to sign").load(model_id)
    result, settings = ResultStore(FileStore(files_url)).load(run.key)
    assert settings["series"] == "web1"
    assert len(result) == len(frame)


def test_an_object_store_whose_package_is_missing_is_a_clear_message():
    with pytest.raises(ValueError, match="need a package that is not installed"):
        FileStore("gs://a-bucket/vigil")
