"""`vigil --version` and `vigil --help` answer at once: they load no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.settings import SETTINGS, server_environment

HEAVY = ("pandas", "sklearn", "statsmodels", "scipy", "dash", "plotly", "sqlalchemy", "celery")

#: Runs `vigil ARGS` in this process, then prints which heavy libraries it loaded.
PROBE = """
import sys
from vigil.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(",".join(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["nope"]])
def test_the_command_answers_without_loading_heavy_libraries(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        env=server_environment(data_dir=SETTINGS.data_dir),
    )

    assert "Traceback" not in done.stderr
    *said, loaded = done.stdout.splitlines()
    assert loaded == ""
    if args == ["--help"]:
        for command in ("run", "detect", "train", "evaluate", "replay", "db", "users", "tokens"):
            assert any(line.strip().startswith(command + " ") for line in said)
    if args == ["nope"]:
        assert "No such command 'nope'" in done.stderr


def test_every_listed_command_loads_and_has_help():
    from vigil.cli import COMMANDS, main

    for name in COMMANDS:
        command = main.get_command(None, name)
        assert command is not None
        assert command.help


def test_a_data_directory_given_after_the_command_is_the_one_named(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "worker", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=server_environment(),  # no VIGIL_REDIS_URL
    )

    assert done.returncode != 0  # a worker needs Redis
    assert done.stderr.splitlines()[0].startswith(f"vigil: data in {tmp_path},")
