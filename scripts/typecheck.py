"""Type-check the `vigil` package with mypy, as it installs.

    python scripts/typecheck.py [mypy options]

mypy reads a package from one folder, so the package is laid out as it installs
(`scripts/package_tree.py`) in a temporary folder of links to the checkout's files, and mypy
checks `vigil` there with the settings of pyproject.toml's `[tool.mypy]`. The paths it reports
are turned back into the checkout's (`detection/zscore.py:12`, not `vigil/detection/...`), so
an editor or a terminal opens the right file. The cache stays in `.mypy_cache/` of the checkout.
Exits with mypy's own status.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.package_tree import ROOT, checkout_path, lay_out

# a reported place: a path of the laid-out tree at the start of a line, before ":"
PLACE = re.compile(r"^(vigil/[^:\s]+\.pyi?)(?=:)")


def main(options: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-mypy-") as tree:
        lay_out(Path(tree))
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *options,
            "-p",
            "vigil",
        ]
        # run from the tree: mypy finds `vigil` in its working folder and names files from it
        run = subprocess.Popen(command, cwd=tree, stdout=subprocess.PIPE, text=True)
        assert run.stdout is not None
        for line in run.stdout:
            line = line.replace(tree + "/", "")
            sys.stdout.write(PLACE.sub(lambda found: checkout_path(found[1]), line))
        return run.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
