"""Every store of one Vigil, built from its settings: one `Services` object per app.

`create_app` builds it from the settings it is handed and keeps it on the Flask app. A request
finds its own app's; code that runs outside a request (a background run, a Celery task, a
test) finds the one this process last set up with `use`, or one built from the environment
when there is none yet. Each store is built the first time it is asked for, then kept.
"""

from __future__ import annotations

import threading
from functools import cached_property

from flask import current_app, has_app_context
from pydantic import ValidationError

from vigil.alerts.outbox import Outbox
from vigil.settings import Settings, load_settings, settings_problems
from vigil.storage.database import Database
from vigil.storage.files import FileStore
from vigil.storage.opening import open_database
from vigil.stores.datasets import DatasetStore
from vigil.stores.marks import FeedbackStore
from vigil.stores.models import ModelStore, model_key
from vigil.stores.results import ResultStore
from vigil.stores.tokens import TokenStore

#: The Flask extension key the app's Services are kept under.
EXTENSION = "vigil"


class Services:
    """The stores of one Vigil, from `settings`; each built once, when first used (the
    database is opened, checked and upgraded once per process, see `open_database`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def database(self) -> Database:
        """The database in the settings, upgraded to the current schema."""
        return open_database(self.settings.database_url)

    @cached_property
    def files(self) -> FileStore:
        """Where data sets, models and results are kept: a directory or an object store."""
        return FileStore(self.settings.files_url)

    @cached_property
    def dataset_store(self) -> DatasetStore:
        config = self.settings
        store = DatasetStore(
            self.files,
            self.database(),
            max_bytes=config.max_upload_bytes,
            max_rows=config.max_rows,
        )
        store.adopt_folders()
        return store

    @cached_property
    def result_store(self) -> ResultStore:
        return ResultStore(self.files)

    @cached_property
    def model_store(self) -> ModelStore:
        return ModelStore(self.files, model_key(self.settings))

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        return FeedbackStore(self.database())

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.database())

    @cached_property
    def token_store(self) -> TokenStore:
        return TokenStore(self.database())


_process: Services | None = None
_setting_up = threading.Lock()


def use(services: Services) -> Services:
    """Make `services` this process's, for code that runs outside a request."""
    global _process
    _process = services
    return services


def current() -> Services:
    """The Services of the app serving this request, else this process's (see `use`), else
    ones built from the environment's settings (and made this process's)."""
    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if found is not None:
            return found
    if _process is None:
        with _setting_up:
            if _process is None:
                use(Services(settings_from_environment()))
    assert _process is not None
    return _process


def settings_from_environment() -> Settings:
    """The settings in the environment. Settings that are not valid (a key too short) end the
    process with one line each naming the variable, not a traceback: it cannot serve without
    them."""
    try:
        return load_settings()
    except ValidationError as error:
        raise SystemExit(
            "\n".join(f"vigil: error: {line}" for line in settings_problems(error))
        ) from None


def settings() -> Settings:
    return current().settings


def database() -> Database:
    return current().database()


def files() -> FileStore:
    return current().files


def dataset_store() -> DatasetStore:
    return current().dataset_store


def result_store() -> ResultStore:
    return current().result_store


def model_store() -> ModelStore:
    return current().model_store


def feedback_store() -> FeedbackStore:
    return current().feedback_store


def outbox() -> Outbox:
    return current().outbox


def token_store() -> TokenStore:
    return current().token_store
