"""Saved models on the server: the signing key and the store the Analyze page uses."""

from __future__ import annotations

import hashlib
import re

from vigil.detection.base import Detector
from vigil.detection.errors import DataError
from vigil.detection.models import ModelInfo, model_bytes, read_model, read_model_info, train
from vigil.keys import MIN_KEY_BYTES, kept_key
from vigil.settings import Settings
from vigil.storage.files import FileStore
from vigil.stores.datasets import DatasetStore

_ID = re.compile(r"^[0-9a-f]{16}$")


def model_id_of(data: bytes) -> str:
    """A model file's id: the first 16 hex digits of its SHA-256 (alert rules name it)."""
    return hashlib.sha256(data).hexdigest()[:16]


def model_key(config: Settings) -> bytes:
    """`VIGIL_MODEL_KEY`, or a random key kept in the data directory (made on first use,
    readable by its owner only)."""
    if config.model_key is not None:
        return config.model_key.get_secret_value().encode()
    return kept_key(config.data_dir, "model.key")


class ModelStore:
    """Signed `.vigil` files, `models/<id>.vigil` in the file store."""

    def __init__(self, files: FileStore, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:  # settings refuse such keys: this is the last guard
            raise DataError(f"A model key needs at least {MIN_KEY_BYTES} bytes.")
        self.files = files
        self.key = key

    @staticmethod
    def _key(model_id: str) -> str:
        if not _ID.match(model_id or ""):
            raise DataError("That model id is not valid.")
        return f"models/{model_id}.vigil"

    def save(self, detector: Detector, info: ModelInfo) -> str:
        data = model_bytes(detector, info, self.key)
        model_id = model_id_of(data)
        self.files.put(self._key(model_id), data)
        return model_id

    def file(self, model_id: str) -> bytes:
        """A model's `.vigil` file, checked to be whole and signed by this installation."""
        try:
            data = self.files.get(self._key(model_id))
        except FileNotFoundError:
            raise DataError("That model is no longer on the server; save it again.") from None
        read_model_info(data, self.key)
        return data

    def load(self, model_id: str) -> tuple[Detector, ModelInfo]:
        return read_model(self.file(model_id), self.key)

    def list(self) -> list[tuple[str, ModelInfo]]:
        """Every model that loads, newest first (a file that fails its checks is left out)."""
        found = []
        for name in self.files.keys("models"):
            model_id, suffix = name.rsplit(".", 1) if "." in name else (name, "")
            if suffix != "vigil" or not _ID.match(model_id):
                continue
            try:
                data = self.files.get(self._key(model_id))
                found.append((model_id, read_model_info(data, self.key)))
            except (DataError, FileNotFoundError):
                continue
        return sorted(found, key=lambda item: item[1].created, reverse=True)


def train_on_dataset(
    models: ModelStore, datasets: DatasetStore, dataset_id: str, series: str, detector: Detector
) -> tuple[str, ModelInfo]:
    """Fit `detector` on a stored series and keep it as a model."""
    frame = datasets.series(dataset_id, series)
    info = train(detector, frame, series=series, dataset=dataset_id)
    return models.save(detector, info), info
