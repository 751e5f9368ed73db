"""The app's stores, built from settings once per process."""

from __future__ import annotations

from functools import cache

from pydantic import ValidationError

from vigil.alerts.outbox import Outbox
from vigil.datasets import DatasetStore
from vigil.feedback import FeedbackStore
from vigil.models import ModelStore, model_key
from vigil.results import ResultStore
from vigil.settings import Settings, load_settings, settings_problems
from vigil.storage.database import Database
from vigil.storage.files import FileStore
from vigil.storage.opening import open_database
from vigil.tokens import TokenStore


@cache
def settings() -> Settings:
    """This process's settings. Settings that are not valid (a key too short) end the process
    with one line each naming the variable, not a traceback: it cannot serve without them."""
    try:
        return load_settings()
    except ValidationError as error:
        raise SystemExit(
            "\n".join(f"vigil: error: {line}" for line in settings_problems(error))
        ) from None


def database() -> Database:
    """The database in the settings, upgraded to the current schema (once per process)."""
    return open_database(settings().database_url)


@cache
def files() -> FileStore:
    """Where data sets, models and results are kept: a directory or an object store."""
    return FileStore(settings().files_url)


@cache
def dataset_store() -> DatasetStore:
    config = settings()
    store = DatasetStore(
        files(), database(), max_bytes=config.max_upload_bytes, max_rows=config.max_rows
    )
    store.adopt_folders()
    return store


@cache
def result_store() -> ResultStore:
    return ResultStore(files())


@cache
def model_store() -> ModelStore:
    config = settings()
    return ModelStore(files(), model_key(config))


@cache
def feedback_store() -> FeedbackStore:
    return FeedbackStore(database())


@cache
def outbox() -> Outbox:
    return Outbox(database())


@cache
def token_store() -> TokenStore:
    return TokenStore(database())
