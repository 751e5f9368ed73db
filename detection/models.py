"""Saved models: a fitted detector in a versioned, signed file, applied to new data later.

A `.vigil` file is a zip archive holding `meta.json` (what the model is and what it was
trained on), `model.pickle` (the fitted detector) and `signature` (HMAC-SHA256 of both, with
a key only this installation knows). The signature is checked before anything is unpickled,
so a file someone else made or changed is refused, never run.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as packages
from pathlib import Path

import pandas as pd

from detection import DETECTORS
from detection.base import Detector
from detection.errors import DataError
from detection.quality import describe_step
from detection.tidy import infer_step

FORMAT = "vigil-model"
FORMAT_VERSION = 1
#: Libraries whose objects live inside a model; a different version could unpickle wrongly.
PINNED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "statsmodels")
MAX_MODEL_BYTES = 200_000_000


def library_versions() -> dict[str, str]:
    return {name: packages.version(name) for name in ("vigil", *PINNED_LIBRARIES)}


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model is, and what it learned from."""

    detector: str
    params: dict
    series: str
    dataset: str
    created: str
    step: str | None
    training_rows: int
    training_start: str
    training_end: str
    libraries: dict

    @property
    def label(self) -> str:
        return f"{self.series} · {DETECTORS[self.detector].label}"

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}

    @classmethod
    def from_dict(cls, data: dict) -> ModelInfo:
        fields = cls.__dataclass_fields__
        return cls(**{name: data[name] for name in fields})


def train(detector: Detector, frame: pd.DataFrame, *, series: str, dataset: str) -> ModelInfo:
    """Fit `detector` on `frame` and describe the result."""
    detector.fit(frame)
    step = infer_step(frame["timestamp"])
    return ModelInfo(
        detector=detector.name,
        params=detector.get_params(),
        series=series,
        dataset=dataset,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        step=None if step is None else str(step),
        training_rows=len(frame),
        training_start=str(frame["timestamp"].iloc[0]),
        training_end=str(frame["timestamp"].iloc[-1]),
        libraries=library_versions(),
    )


def _signature(key: bytes, meta: bytes, payload: bytes) -> str:
    return hmac.new(key, meta + b"\0" + payload, hashlib.sha256).hexdigest()


def model_bytes(detector: Detector, info: ModelInfo, key: bytes) -> bytes:
    """The `.vigil` file of a fitted detector."""
    meta = json.dumps(info.to_dict(), indent=1, default=str).encode()
    payload = pickle.dumps(detector, protocol=pickle.HIGHEST_PROTOCOL)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", meta)
        archive.writestr("model.pickle", payload)
        archive.writestr("signature", _signature(key, meta, payload))
    return buffer.getvalue()


def save_model(detector: Detector, info: ModelInfo, path: Path, key: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model_bytes(detector, info, key))


def read_model(data: bytes | Path, key: bytes) -> tuple[Detector, ModelInfo]:
    """Check a `.vigil` file and load its detector, or explain why it cannot be used."""
    info, payload = _checked(data, key)
    detector = pickle.loads(payload)  # signed by this installation: its own file
    if not isinstance(detector, Detector) or detector.name != info.detector:
        raise DataError("This model file does not hold the detector it describes.")
    return detector, info


def read_model_info(data: bytes | Path, key: bytes) -> ModelInfo:
    """What a `.vigil` file holds, checked like `read_model` but without loading the model."""
    return _checked(data, key)[0]


def _checked(data: bytes | Path, key: bytes) -> tuple[ModelInfo, bytes]:
    if isinstance(data, Path):
        if data.stat().st_size > MAX_MODEL_BYTES:
            raise DataError(f"'{data.name}' is too large to be a Vigil model.")
        data = data.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = archive.read("meta.json")
            payload = archive.read("model.pickle")
            signature = archive.read("signature").decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, KeyError, OSError):
        raise DataError("This is not a Vigil model file (.vigil).") from None
    if not hmac.compare_digest(signature, _signature(key, meta, payload)):
        raise DataError(
            "This model file was changed after it was saved, or saved by another Vigil "
            "installation with a different model key; it was not loaded."
        )
    described = json.loads(meta)
    if described.get("format") != FORMAT:
        raise DataError("This is not a Vigil model file (.vigil).")
    if described.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"This model file has format version {described.get('format_version')}; this "
            f"Vigil reads version {FORMAT_VERSION}. Train the model again."
        )
    info = ModelInfo.from_dict(described)
    here = library_versions()
    for name in PINNED_LIBRARIES:
        saved = info.libraries.get(name, "?")
        if _minor(saved) != _minor(here[name]):
            raise DataError(
                f"This model was saved with {name} {saved}; this Vigil runs {here[name]}. "
                "Train the model again."
            )
    return info, payload


def apply_model(detector: Detector, info: ModelInfo, frame: pd.DataFrame) -> pd.DataFrame:
    """Score a new stretch of data with a loaded model, without fitting again."""
    step = infer_step(frame["timestamp"])
    if info.step is not None and step is not None and step != pd.Timedelta(info.step):
        raise DataError(
            f"This model learned '{info.series}' with a point "
            f"{describe_step(pd.Timedelta(info.step))}; this series has a point "
            f"{describe_step(step)}."
        )
    return detector.score(frame)
