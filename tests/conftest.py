"""Shared fixtures. The app under test is built from the run's settings (`tests.settings`),
handed to it: it keeps its data in a fresh temporary directory. This process's environment is
neither read for settings nor written: the servers tests start are handed theirs
(`tests.settings.server_environment`)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pandas as pd
import pytest

from scripts.chromium import QUIET_FLAGS
from tests.settings import API_TOKEN, SETTINGS
from vigil.settings import Settings

__all__ = ["API_TOKEN"]  # tests import it from here as well as from tests.settings

CHROMIUM_FLAGS = (*QUIET_FLAGS, "--window-size=1400,1800")  # dash_duo adds headless itself
BROWSER_MISSING = shutil.which("chromedriver") is None or not (
    shutil.which("chromium") or shutil.which("google-chrome")
)


#: Longest wait for one answer from chromedriver: a browser that stops answering fails its
#: test instead of holding the whole run (Selenium waits forever by default).
DRIVER_COMMAND_SECONDS = 120


def pytest_setup_options():
    """Chromium flags for dash_duo: no network chatter in a closed sandbox; every command to
    the browser answers within DRIVER_COMMAND_SECONDS."""
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.remote.remote_connection import RemoteConnection

    RemoteConnection.set_timeout(DRIVER_COMMAND_SECONDS)

    options = Options()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return options


def pytest_collection_modifyitems(config, items):
    if not BROWSER_MISSING:
        return
    skip = pytest.mark.skip(
        reason="browser tests need Debian's chromium and chromium-driver (make browser)"
    )
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The run's settings (`tests.settings.SETTINGS`): a fresh temporary data directory, the
    demo data set, the ingest tokens `test-token` and `second-token`, the rest Vigil's
    defaults (none read from the environment)."""
    return SETTINGS


@pytest.fixture(scope="session", autouse=True)
def process_services(settings):
    """This process's Services (what code outside a request uses, `vigil.services.current`)
    are the run's settings' from the start: never ones built from the environment, which
    would be the developer's own data directory."""
    from vigil.services import Services, use

    use(Services(settings))


@pytest.fixture(scope="session")
def dash_app(settings):
    """The Vigil app, built from the run's settings, once for the whole run: Dash hands the
    pages' callbacks (registered with `dash.callback` as each page module is imported) to the
    first app a process builds, so a second app in this process would answer none of them.
    A test that needs other settings changes the app's for a while (`app_settings`) or starts
    a `vigil` process of its own. Importing the pages needs the app to exist. Building it
    makes its Services this process's (`vigil.services.use`)."""
    from vigil.app import create_app

    return create_app(settings)


@pytest.fixture
def data_dir(settings) -> Path:
    """The data directory of the run's app."""
    return settings.data_dir


@pytest.fixture
def store(tmp_path, database):
    from vigil.storage.files import FileStore
    from vigil.stores.datasets import DatasetStore

    return DatasetStore(FileStore(tmp_path), database, max_bytes=5_000_000, max_rows=200_000)


@pytest.fixture
def spiky_frame() -> pd.DataFrame:
    """Two days of hourly-seasonal minute data with a 6-sigma spike at row 1500."""
    from vigil.detection.synthetic import seasonal_series

    return seasonal_series(n=2880, spike_at=1500)


@pytest.fixture(scope="session")
def postgres_server_url():
    """A Postgres server for the session (skipped where Postgres is not installed)."""
    from tests.services import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url, request) -> str:
    """A fresh, empty Postgres database for one test."""
    from tests.services import new_database

    return new_database(postgres_server_url, f"test_{next(_databases)}")


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    """An empty database's URL: once a SQLite file, once a Postgres database."""
    from vigil.storage.database import sqlite_url

    if request.param == "sqlite":
        return sqlite_url(tmp_path / "vigil.sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def database(database_url):
    """Vigil's database, migrated, once in a SQLite file and once in Postgres."""
    from vigil.storage.opening import close_database, open_database

    opened = open_database(database_url)
    yield opened
    close_database(opened)


def app_database(data_dir: Path):
    """The database an app with this data directory keeps its state in, by default."""
    from vigil.storage.database import sqlite_url
    from vigil.storage.opening import open_database

    return open_database(sqlite_url(Path(data_dir) / "vigil.sqlite"))


@pytest.fixture
def app_settings(dash_app, monkeypatch):
    """Changes the app's settings for one test: `app_settings(smtp_host="127.0.0.1")` hands
    the app, for its requests and for work outside them, Services built from its settings
    with those changes (values as the settings hold them); undone after the test."""
    import vigil.services
    from vigil.services import EXTENSION, Services, current

    def change(**changes):
        changed = Services(current().settings.model_copy(update=changes))
        monkeypatch.setitem(dash_app.server.extensions, EXTENSION, changed)
        monkeypatch.setattr(vigil.services, "_process", changed)
        return changed

    return change
