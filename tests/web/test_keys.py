"""Signing keys: too short (empty included) is refused at start with one line naming the
variable, and nothing signed with an empty key is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import time

import pytest

from tests.alerts.smtp_server import free_port
from tests.settings import server_environment
from tests.unit.test_cli import vigil
from vigil.detection import make_detector
from vigil.detection.errors import DataError
from vigil.detection.models import model_bytes, train
from vigil.detection.synthetic import seasonal_series
from vigil.keys import kept_key
from vigil.links import PURPOSE, read_token
from vigil.storage.files import FileStore
from vigil.stores.models import ModelStore, model_id_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("setting", ["model_key", "secret_key"])
@pytest.mark.parametrize("key", ["", "31 bytes, one short of enough.."])
def test_vigil_run_refuses_a_short_key_with_one_line_naming_it(tmp_path, setting, key):
    variable = f"VIGIL_{setting.upper()}"
    done = vigil("run", data_dir=tmp_path, demo=False, port=free_port(), **{setting: key})

    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("vigil: error:")]
    assert errors == [
        f"vigil: error: {variable} is {len(key)} bytes long; a key needs at least 32 (make one "
        "with: python -c 'import secrets; print(secrets.token_hex(32))'), or leave it unset "
        "to have one made in the data directory"
    ]
    assert "Traceback" not in done.stderr


def test_the_app_refuses_an_empty_secret_key_with_one_line(tmp_path):
    """As gunicorn or any WSGI server would build it: building the app ends the process."""
    done = subprocess.run(
        [sys.executable, "-c", "from vigil.app import create_app; create_app()"],
        capture_output=True,
        text=True,
        timeout=300,
        env=server_environment(data_dir=tmp_path, secret_key=""),
    )

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "vigil: error: VIGIL_SECRET_KEY is 0 bytes long; a key needs at least 32 (make one "
        "with: python -c 'import secrets; print(secrets.token_hex(32))'), or leave it unset "
        "to have one made in the data directory"
    )


def _forged_mark_token() -> str:
    """A "not an anomaly" token signed as an installation with an empty key would sign it."""
    payload = {"d": "feedfacefeedface", "s": "cpu", "t": "2024-01-01T00:00:00", "v": 1.0}
    payload["e"] = 2**40  # whenever it is checked, not expired
    body = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    key = hmac.new(b"", PURPOSE, hashlib.sha256).digest()
    return f"{body}.{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()}"


def test_a_mark_link_signed_with_an_empty_key_is_not_accepted():
    with pytest.raises(DataError, match="not valid"):
        read_token(b"", _forged_mark_token(), time.time())


def test_a_model_file_signed_with_an_empty_key_is_not_loaded(tmp_path):
    detector = make_detector("zscore")
    info = train(detector, seasonal_series(n=300), series="value", dataset="abc")
    forged = model_bytes(detector, info, b"")
    files = FileStore(tmp_path)
    files.put(f"models/{model_id_of(forged)}.vigil", forged)

    with pytest.raises(DataError, match="at least 32 bytes"):
        ModelStore(files, b"").load(model_id_of(forged))


def test_made_keys_are_long_enough_and_an_emptied_key_file_is_refused(tmp_path):
    key = kept_key(tmp_path, "model.key")
    assert len(key) >= 32
    assert kept_key(tmp_path, "model.key") == key
    assert stat.S_IMODE(os.stat(tmp_path / "model.key").st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["model.key"]  # nothing left aside

    (tmp_path / "model.key").write_text("")
    with pytest.raises(DataError, match="delete the file to have a new one made"):
        kept_key(tmp_path, "model.key")
