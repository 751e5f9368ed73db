"""What `pip install` puts on a user's machine: one import root, `vigil`, with its files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_one_top_level_package_with_its_data_files(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(ROOT), "-w", tmp_path],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("vigil-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"vigil"}
    for needed in (
        "vigil/app.py",
        "vigil/cli/__main__.py",
        "vigil/stores/datasets.py",
        "vigil/usecases/live_series.py",
        "vigil/web/auth.py",
        "vigil/workers/tasks.py",
        "vigil/detection/auto.py",
        "vigil/pages/analyze.py",
        "vigil/live/scoring.py",
        "vigil/storage/migrations/versions/0001_initial.py",
        "vigil/storage/migrations/script.py.mako",
        "vigil/alerts/templates/alert.html",
        "vigil/assets/vigil.css",
    ):
        assert needed in names
    assert not [name for name in names if "__pycache__" in name]
    # every sub-package of vigil/ itself goes in too (a new one must be listed in pyproject)
    for package in (ROOT / "vigil").rglob("__init__.py"):
        assert package.relative_to(ROOT).as_posix() in names
