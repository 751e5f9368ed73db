"""Every store of one Vigil, built from its settings: one `Services` object per app.

`create_app` builds it from the settings it is handed and keeps it on the Flask app. A request
finds its own app's; code that runs outside a request (a background run, a Celery task, a
test) finds the one this process last set up with `use`, or one built from the environment
when there is none yet. Each store is built the first time it is asked for, then kept.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from pydantic import ValidationError

from vigil.settings import Settings, load_settings, settings_problems

# The stores are imported where they are built: a command that needs one store (`vigil
# tokens`) does not load the others' libraries (the detectors, pandas).
if TYPE_CHECKING:
    from vigil.alerts.outbox import Outbox
    from vigil.alerts.rules import RuleStore
    from vigil.live.states import ScorerStates
    from vigil.live.store import LiveStore
    from vigil.storage.database import Database
    from vigil.storage.files import FileStore
    from vigil.stores.datasets import DatasetStore
    from vigil.stores.mail_settings import MailSettings
    from vigil.stores.marks import FeedbackStore
    from vigil.stores.models import ModelStore
    from vigil.stores.results import ResultStore
    from vigil.stores.tokens import TokenStore
    from vigil.stores.users import UserStore

#: The Flask extension key the app's Services are kept under.
EXTENSION = "vigil"


class Services:
    """The stores of one Vigil, from `settings`; each built once, when first used (the
    database is opened, checked and upgraded once per process, see `open_database`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def database(self) -> Database:
        """The database in the settings, upgraded to the current schema."""
        from vigil.storage.opening import open_database

        return open_database(self.settings.database_url)

    @cached_property
    def files(self) -> FileStore:
        """Where data sets, models and results are kept: a directory or an object store."""
        from vigil.storage.files import FileStore

        return FileStore(self.settings.files_url)

    @cached_property
    def dataset_store(self) -> DatasetStore:
        from vigil.stores.datasets import DatasetStore

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
        from vigil.stores.results import ResultStore

        return ResultStore(self.files)

    @cached_property
    def model_store(self) -> ModelStore:
        from vigil.stores.models import ModelStore, model_key

        return ModelStore(self.files, model_key(self.settings))

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        from vigil.stores.marks import FeedbackStore

        return FeedbackStore(self.database())

    @cached_property
    def outbox(self) -> Outbox:
        from vigil.alerts.outbox import Outbox

        return Outbox(self.database())

    @cached_property
    def token_store(self) -> TokenStore:
        from vigil.stores.tokens import TokenStore

        return TokenStore(self.database())

    @cached_property
    def user_store(self) -> UserStore:
        from vigil.stores.users import UserStore

        return UserStore(self.settings.users_path)

    @cached_property
    def rule_store(self) -> RuleStore:
        from vigil.alerts.rules import RuleStore

        return RuleStore(self.database())

    @cached_property
    def live_store(self) -> LiveStore:
        from vigil.live.store import LiveStore

        return LiveStore(self.database())

    @cached_property
    def scorer_states(self) -> ScorerStates:
        """Where live scoring's workers keep their scorers between slices (Celery)."""
        from vigil.live.states import ScorerStates
        from vigil.stores.models import model_key

        return ScorerStates(self.database(), model_key(self.settings))

    @cached_property
    def webhook_key(self) -> bytes:
        """The key that signs webhook calls: `VIGIL_WEBHOOK_SECRET`, or a random key kept in
        the data directory (made on first use, readable by its owner only)."""
        from vigil.keys import kept_key, key_of_secret

        secret = self.settings.webhook_secret
        if secret is not None:
            return key_of_secret(secret.get_secret_value())
        return kept_key(self.settings.data_dir, "webhook.key")

    @cached_property
    def mail_settings(self) -> MailSettings:
        from vigil.stores.mail_settings import MailSettings

        return MailSettings(self.database())

    def mail(self) -> Settings:
        """The settings with the email server admins saved on the Admin page in place of the
        environment's (read now: an admin may change them at any time)."""
        from vigil.stores.mail_settings import effective

        return effective(self.settings, self.mail_settings)


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


def user_store() -> UserStore:
    return current().user_store


def rule_store() -> RuleStore:
    return current().rule_store


def live_store() -> LiveStore:
    return current().live_store
