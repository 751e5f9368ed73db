"""Saved models on the server: the signing key and the store the Analyze page uses."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from detection.base import Detector
from detection.errors import DataError
from detection.models import ModelInfo, model_bytes, read_model, read_model_info, train
from vigil.datasets import DatasetStore
from vigil.keys import kept_key
from vigil.settings import Settings

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
    """Signed `.vigil` files under `root/models/<id>.vigil`."""

    def __init__(self, root: Path, key: bytes) -> None:
        self.root = Path(root) / "models"
        self.key = key

    def path(self, model_id: str) -> Path:
        if not _ID.match(model_id or ""):
            raise DataError("That model id is not valid.")
        return self.root / f"{model_id}.vigil"

    def save(self, detector: Detector, info: ModelInfo) -> str:
        data = model_bytes(detector, info, self.key)
        model_id = model_id_of(data)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".{model_id}.part"
        staging.write_bytes(data)
        staging.replace(self.path(model_id))
        return model_id

    def load(self, model_id: str) -> tuple[Detector, ModelInfo]:
        path = self.path(model_id)
        if not path.is_file():
            raise DataError("That model is no longer on the server; save it again.")
        return read_model(path, self.key)

    def list(self) -> list[tuple[str, ModelInfo]]:
        """Every model that loads, newest first (a file that fails its checks is left out)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob("*.vigil"):
            try:
                found.append((path.stem, read_model_info(path, self.key)))
            except DataError:
                continue
        return sorted(found, key=lambda item: item[1].created, reverse=True)


def train_on_dataset(
    models: ModelStore, datasets: DatasetStore, dataset_id: str, series: str, detector: Detector
) -> tuple[str, ModelInfo]:
    """Fit `detector` on a stored series and keep it as a model."""
    frame = datasets.series(dataset_id, series)
    info = train(detector, frame, series=series, dataset=dataset_id)
    return models.save(detector, info), info
