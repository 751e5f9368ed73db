"""Saved models: a fitted detector in a versioned, signed file, applied to new data later.

A `.vigil` file is a zip archive holding `meta.json` (what the model is and what it was
trained on), `model.pickle` (the fitted detector) and `signature` (HMAC-SHA256 of both, each
preceded by its length, with a key only this installation knows). The signature is checked
before anything is unpickled, so a file someone else made or changed is refused, never run.
Sizes come first: members larger than a model can be are refused from the zip's directory,
and the signature is computed while the members unpack a chunk at a time, so a forged file
costs at most one chunk of memory. Files of format version 1 (meta and model joined by a NUL
byte before signing) still load.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import pickle
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as packages
from pathlib import Path
from typing import Any

import pandas as pd

from vigil.detection import DETECTORS
from vigil.detection.base import Detector
from vigil.detection.errors import DataError
from vigil.detection.quality import describe_step
from vigil.detection.tidy import infer_step

FORMAT = "vigil-model"
FORMAT_VERSION = 2
#: Files written before signatures took lengths; they load as long as they check out.
LEGACY_FORMAT_VERSION = 1
#: Libraries whose objects live inside a model; a different version could unpickle wrongly.
PINNED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "statsmodels")
MAX_MODEL_BYTES = 200_000_000
#: The most each member may unpack to, by the zip's directory (and so when read).
MAX_MEMBER_BYTES = {"meta.json": 1_000_000, "model.pickle": MAX_MODEL_BYTES, "signature": 1_000}
_CHUNK = 1 << 20


def library_versions() -> dict[str, str]:
    return {name: packages.version(name) for name in ("vigil", *PINNED_LIBRARIES)}


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model is, and what it learned from."""

    detector: str
    params: dict[str, Any]
    series: str
    dataset: str
    created: str
    step: str | None
    training_rows: int
    training_start: str
    training_end: str
    libraries: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.series} · {DETECTORS[self.detector].label}"

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
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
    """The signature of a version 2 file: each part preceded by its length, so no byte can
    move from one part to the other."""
    return _signer(key, meta, len(payload), [payload]).hexdigest()


def _signer(key: bytes, meta: bytes, payload_size: int, payload: Iterable[bytes]) -> hmac.HMAC:
    signer = hmac.new(key, b"vigil-model/2", hashlib.sha256)
    signer.update(len(meta).to_bytes(8, "big") + meta + payload_size.to_bytes(8, "big"))
    for chunk in payload:
        signer.update(chunk)
    return signer


def _legacy_signer(key: bytes, meta: bytes, payload: Iterable[bytes]) -> hmac.HMAC:
    signer = hmac.new(key, meta + b"\0", hashlib.sha256)
    for chunk in payload:
        signer.update(chunk)
    return signer


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
    with _opened(data) as archive:
        info = _checked(archive, key)
        payload = _member(archive, "model.pickle")
    detector = _ModelUnpickler(io.BytesIO(payload)).load()  # signed here: its own file
    if not isinstance(detector, Detector) or detector.name != info.detector:
        raise DataError("This model file does not hold the detector it describes.")
    return detector, info


class _ModelUnpickler(pickle.Unpickler):
    """Loads models saved before Vigil's modules moved under `vigil.` (`detection.zscore`
    is now `vigil.detection.zscore`)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "detection" or module.startswith("detection."):
            module = f"vigil.{module}"
        return super().find_class(module, name)


def read_model_info(data: bytes | Path, key: bytes) -> ModelInfo:
    """What a `.vigil` file holds, checked like `read_model` but without loading the model."""
    with _opened(data) as archive:
        return _checked(archive, key)


_NOT_A_MODEL = "This is not a Vigil model file (.vigil)."
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    OSError,
    EOFError,
    zlib.error,
    NotImplementedError,  # a compression zipfile does not know
    RuntimeError,  # an encrypted member
    ValueError,
)


@contextmanager
def _opened(data: bytes | Path) -> Iterator[zipfile.ZipFile]:
    """The archive, once its size and its members' sizes (from its directory) fit a model."""
    if isinstance(data, Path):
        if data.stat().st_size > MAX_MODEL_BYTES:
            raise DataError(f"'{data.name}' is too large to be a Vigil model.")
        data = data.read_bytes()
    if len(data) > MAX_MODEL_BYTES:
        raise DataError("This file is too large to be a Vigil model.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sorted(m.filename for m in members) != sorted(MAX_MEMBER_BYTES):
                raise DataError(_NOT_A_MODEL)
            for member in members:
                if member.file_size > MAX_MEMBER_BYTES[member.filename]:
                    raise DataError(
                        f"This model file's {member.filename} unpacks to "
                        f"{member.file_size:,} bytes, more than a Vigil model holds; it was "
                        "not loaded."
                    )
            yield archive
    except _READ_ERRORS:
        raise DataError(_NOT_A_MODEL) from None


def _chunks(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """A member unpacked a chunk at a time, never past the size its directory entry gives
    (zipfile stops there, and checks the CRC at the end)."""
    with archive.open(name) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    return b"".join(_chunks(archive, name))


def _checked(archive: zipfile.ZipFile, key: bytes) -> ModelInfo:
    """The file's description, once its signature is found to be this installation's.
    Signing streams the model through HMAC, so a forged one is never held whole."""
    meta = _member(archive, "meta.json")
    signature = _member(archive, "signature").strip()
    payload_size = archive.getinfo("model.pickle").file_size
    version = _signed_version(archive, key, meta, payload_size, signature)
    try:
        described = json.loads(meta)
        if not isinstance(described, dict) or described.get("format") != FORMAT:
            raise DataError(_NOT_A_MODEL)
    except (ValueError, UnicodeDecodeError):
        raise DataError(_NOT_A_MODEL) from None
    if described.get("format_version") != version:
        raise DataError(
            f"This model file has format version {described.get('format_version')}; this "
            f"Vigil reads versions {LEGACY_FORMAT_VERSION} and {FORMAT_VERSION}. "
            "Train the model again."
        )
    try:
        info = ModelInfo.from_dict(described)
    except (KeyError, TypeError):
        raise DataError(_NOT_A_MODEL) from None
    here = library_versions()
    for name in PINNED_LIBRARIES:
        saved = str(info.libraries.get(name, "?"))
        if _minor(saved) != _minor(here[name]):
            raise DataError(
                f"This model was saved with {name} {saved}; this Vigil runs {here[name]}. "
                "Train the model again."
            )
    return info


def _signed_version(
    archive: zipfile.ZipFile, key: bytes, meta: bytes, payload_size: int, signature: bytes
) -> int:
    """The format version whose signature the file carries, or a refusal. Signatures are
    compared as bytes, so any bytes at all (not only ASCII hex) are simply a mismatch."""
    current = _signer(key, meta, payload_size, [])
    legacy = _legacy_signer(key, meta, []) if b"\0" not in meta else None
    for chunk in _chunks(archive, "model.pickle"):
        current.update(chunk)
        if legacy is not None:
            legacy.update(chunk)
    if hmac.compare_digest(signature, current.hexdigest().encode()):
        return FORMAT_VERSION
    if legacy is not None and hmac.compare_digest(signature, legacy.hexdigest().encode()):
        return LEGACY_FORMAT_VERSION
    raise DataError(
        "This model file was changed after it was saved, or saved by another Vigil "
        "installation with a different model key; it was not loaded."
    )


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
