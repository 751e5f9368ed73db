"""The settings the tests hand to what they test, made from the values given: nothing is read
from this process's environment to make them, and nothing is written to it (a VIGIL_*
variable in the developer's shell, or a `.env` file where pytest runs, reaches no test).

`SETTINGS` are the run's: the app conftest builds (`dash_app`) keeps its data in a fresh
temporary directory, loads the demo data set and takes the two ingest tokens. A test that
needs other settings makes its own with `make_settings`, or changes the app's for one test
with conftest's `app_settings`. A test that starts a `vigil` process hands it its settings
in the environment `server_environment` makes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import PydanticBaseSettingsSource

from vigil.settings import Settings

API_TOKEN = "test-token"
#: The ingest tokens of the run's app: the first is the one most tests send.
API_TOKENS = (API_TOKEN, "second-token")


class _Given(Settings):
    """Settings from the values given and the defaults alone: no environment variable, no
    `.env` file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[Settings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(data_dir: Path | str, **values: object) -> Settings:
    """Settings with this data directory and these values (by field name), the defaults for
    the rest, checked as Vigil checks its own: nothing comes from the environment. The data
    directory is always given, so that no test writes to the user's own."""
    given = _Given(data_dir=data_dir, **values)
    return Settings.model_construct(**given.model_dump())  # a plain Settings, checked


#: The run's settings: the app of the session (conftest's `dash_app`) is built from them.
SETTINGS = make_settings(
    Path(tempfile.mkdtemp(prefix="vigil-test-")), demo=True, api_tokens=",".join(API_TOKENS)
)


def variables(**values: object) -> dict[str, str]:
    """The VIGIL_* environment variables that say these settings (by field name; None says
    nothing): what a `vigil` process reads them from."""
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise TypeError(f"not a setting: {', '.join(unknown)}")
    return {
        f"VIGIL_{name.upper()}": _text(value) for name, value in values.items() if value is not None
    }


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def server_environment(**values: object) -> dict[str, str]:
    """The environment of a `vigil` process (and the gunicorn and Celery workers it starts) a
    test starts: this process's (PATH, HOME, ...) without any VIGIL_* variable, and the
    variables that say `values` (settings by field name: `data_dir=path, demo=False`). The
    server has the settings the test hands it and no other: none from the developer's shell,
    none the test process happens to have."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("VIGIL_")}
    return inherited | variables(**values)
