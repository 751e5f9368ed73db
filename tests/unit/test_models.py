"""Saved models: train once, detect on new data; refuse files that are not this Vigil's own."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import os
import pickle
import stat
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.settings import make_settings
from vigil.detection import DETECTORS, make_detector
from vigil.detection.errors import DataError
from vigil.detection.models import (
    FORMAT_VERSION,
    _signature,
    apply_model,
    model_bytes,
    read_model,
    read_model_info,
    train,
)
from vigil.detection.synthetic import labelled_series
from vigil.storage.files import FileStore
from vigil.stores.models import ModelStore, model_key

KEY = b"k" * 32
QUICK = {"iforest": {"n_estimators": 30}}


@pytest.fixture(scope="module")
def weeks() -> tuple[pd.DataFrame, pd.DataFrame]:
    series = labelled_series("spike", seed=2, days=21)[["timestamp", "value"]]
    return series.iloc[:1344].reset_index(drop=True), series.iloc[1344:].reset_index(drop=True)


def rewrite(data: bytes, **changes: bytes) -> bytes:
    """The same archive with some members replaced (as an editor would leave it)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members |= changes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_saved_model_scores_new_data_exactly_as_the_fitted_detector(name, weeks):
    old, new = weeks
    detector = make_detector(name, QUICK.get(name))
    info = train(detector, old, series="cpu", dataset="abc")

    loaded, loaded_info = read_model(model_bytes(detector, info, KEY), KEY)

    assert loaded_info == info
    assert loaded_info.training_rows == 1344
    assert loaded_info.libraries["scikit-learn"]
    pd.testing.assert_frame_equal(apply_model(loaded, loaded_info, new), detector.score(new))


def test_the_trained_season_finds_spikes_in_a_new_week(weeks):
    old, new = weeks
    truth = labelled_series("spike", seed=2, days=21)["label"].iloc[1344:].to_numpy()
    detector = make_detector("ensemble")
    info = train(detector, old, series="cpu", dataset="abc")
    scored = apply_model(detector, info, new)
    flagged = scored["is_anomaly"].to_numpy()
    assert flagged[truth == 1].all()
    assert flagged.sum() <= truth.sum() + 1


@pytest.fixture
def saved(weeks) -> bytes:
    detector = make_detector("stl")
    return model_bytes(detector, train(detector, weeks[0], series="cpu", dataset="abc"), KEY)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: rewrite(data, **{"meta.json": b'{"format": "vigil-model"}'}),
        lambda data: rewrite(data, **{"model.pickle": pickle.dumps(make_detector("zscore"))}),
        lambda data: data[:-40] + bytes(40),
    ],
    ids=["meta edited", "model swapped", "bytes damaged"],
)
def test_a_changed_file_is_refused(saved, damage):
    with pytest.raises(DataError, match=r"changed after it was saved|not a Vigil model"):
        read_model(damage(saved), KEY)


def test_a_file_signed_with_another_key_is_refused(saved):
    with pytest.raises(DataError, match="another Vigil installation"):
        read_model(saved, b"another key")


class Payload:
    """Unpickling this would create a file: the loader must never get that far."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_someone_else_made_is_never_unpickled(saved, tmp_path):
    trap = tmp_path / "ran"
    evil = rewrite(saved, **{"model.pickle": pickle.dumps(Payload(str(trap)))})
    with pytest.raises(DataError, match="changed after it was saved"):
        read_model(evil, KEY)
    assert not trap.exists()


def test_a_model_from_another_version_says_which(weeks):
    detector = make_detector("zscore")
    info = train(detector, weeks[0], series="cpu", dataset="abc")
    older = dataclasses.replace(info, libraries={**info.libraries, "scikit-learn": "1.2.2"})
    with pytest.raises(DataError, match=r"saved with scikit-learn 1\.2\.2"):
        read_model(model_bytes(detector, older, KEY), KEY)

    newer = model_bytes(detector, info, KEY)
    meta = read_model_info(newer, KEY).to_dict() | {"format_version": FORMAT_VERSION + 1}
    payload = pickle.dumps(detector)
    text = json.dumps(meta).encode()
    forged = rewrite(
        newer,
        **{"meta.json": text, "signature": _signature(KEY, text, payload).encode()},
        **{"model.pickle": payload},
    )
    with pytest.raises(DataError, match=f"format version {FORMAT_VERSION + 1}"):
        read_model(forged, KEY)


def test_data_at_another_step_is_refused(weeks):
    old, new = weeks
    detector = make_detector("stl")
    info = train(detector, old, series="cpu", dataset="abc")
    hourly = new.iloc[::4].reset_index(drop=True)
    with pytest.raises(
        DataError, match="a point every 15 minutes; this series has a point every hour"
    ):
        apply_model(detector, info, hourly)


def test_not_a_model_at_all():
    with pytest.raises(DataError, match="not a Vigil model file"):
        read_model(b"timestamp,value\n", KEY)


def test_the_store_keeps_models_under_a_key_made_once(tmp_path, weeks):
    config = make_settings(tmp_path)
    key = model_key(config)
    assert model_key(config) == key
    assert stat.S_IMODE(os.stat(tmp_path / "model.key").st_mode) == 0o600

    store = ModelStore(FileStore(tmp_path), key)
    detector = make_detector("auto")
    model_id = store.save(detector, train(detector, weeks[0], series="cpu", dataset="abc"))
    (tmp_path / "models" / "0123456789abcdef.vigil").write_bytes(b"junk")

    assert [found for found, _ in store.list()] == [model_id]
    loaded, info = store.load(model_id)
    assert info.series == "cpu"
    assert np.isfinite(loaded.score(weeks[1])["severity"]).all()


# --------------------------------------------------------------------------- hostile files


def test_a_zip_bomb_is_refused_from_the_zip_directory_before_it_unpacks(saved):
    """300 MB of zeros in about 300 KB: more than a model can hold, so not one byte of it
    is unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(saved)) as original:
            archive.writestr("meta.json", original.read("meta.json"))
            archive.writestr("signature", original.read("signature"))
        with archive.open("model.pickle", "w") as member:
            for _ in range(300):
                member.write(bytes(1_000_000))
    bomb = buffer.getvalue()
    assert len(bomb) < 1_000_000

    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="more than a Vigil model holds"):
            read_model(bomb, KEY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_forged_model_under_the_size_limit_is_refused_without_being_held_whole(saved):
    forged = rewrite(saved, **{"model.pickle": bytes(40_000_000)})

    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="changed after it was saved"):
            read_model(forged, KEY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000 + len(forged)  # the file itself, and a chunk or so


@pytest.mark.parametrize("signature", ["é" * 64, "\u202e" + "0" * 63, "not hex at all"], ids=repr)
def test_a_signature_that_is_not_ascii_hex_is_a_plain_refusal(saved, signature):
    with pytest.raises(DataError, match="changed after it was saved"):
        read_model(rewrite(saved, signature=signature.encode()), KEY)


def _legacy_file(detector, info, payload: bytes | None = None) -> bytes:
    """A model file as Vigil wrote it before signatures took lengths (format version 1)."""
    meta = json.dumps(info.to_dict() | {"format_version": 1}, indent=1, default=str).encode()
    if payload is None:
        payload = pickle.dumps(detector, protocol=pickle.HIGHEST_PROTOCOL)
    signature = hmac.new(KEY, meta + b"\0" + payload, hashlib.sha256).hexdigest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", meta)
        archive.writestr("model.pickle", payload)
        archive.writestr("signature", signature)
    return buffer.getvalue()


def test_a_model_saved_before_signatures_took_lengths_still_loads(weeks):
    detector = make_detector("zscore")
    info = train(detector, weeks[0], series="cpu", dataset="abc")

    loaded, loaded_info = read_model(_legacy_file(detector, info), KEY)

    assert loaded_info == info
    pd.testing.assert_frame_equal(loaded.score(weeks[1]), detector.score(weeks[1]))


@pytest.mark.parametrize("name", ["zscore", "auto"])
def test_a_model_saved_when_detection_was_a_package_of_its_own_still_loads(weeks, name):
    detector = make_detector(name)
    info = train(detector, weeks[0], series="cpu", dataset="abc")
    # pickle protocol 0 names each class as text: "c<module>\n<name>\n"
    payload = pickle.dumps(detector, protocol=0)
    old = payload.replace(b"cvigil.detection.", b"cdetection.")
    assert b"cdetection." in old
    assert b"vigil" not in old

    loaded, _ = read_model(_legacy_file(detector, info, old), KEY)

    pd.testing.assert_frame_equal(loaded.score(weeks[1]), detector.score(weeks[1]))


def _boundary_moved(data: bytes, step: int) -> bytes:
    """The same bytes and signature, with the line between meta and model moved."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        meta, payload = archive.read("meta.json"), archive.read("model.pickle")
    joined = meta + b"\0" + payload
    cut = len(meta) + step
    return rewrite(data, **{"meta.json": joined[:cut], "model.pickle": joined[cut + 1 :]})


@pytest.mark.parametrize("step", [-5, 10])
def test_moving_the_line_between_meta_and_model_is_refused(weeks, step):
    detector = make_detector("zscore")
    info = train(detector, weeks[0], series="cpu", dataset="abc")
    for original in (model_bytes(detector, info, KEY), _legacy_file(detector, info)):
        with pytest.raises(DataError, match=r"changed after it was saved|not a Vigil model"):
            read_model(_boundary_moved(original, step), KEY)


def test_a_member_the_format_does_not_have_is_refused(saved):
    with pytest.raises(DataError, match="not a Vigil model file"):
        read_model(rewrite(saved, **{"extra.bin": b"x"}), KEY)
