"""Check the import contracts of pyproject.toml on the `vigil` package as it installs.

    python scripts/lint_imports.py

import-linter only reads a package from one folder, so the package is laid out as it installs
(`scripts/package_tree.py`), in a temporary folder of links to the checkout's files, and
import-linter reads it there. Exits with import-linter's own status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.package_tree import ROOT, lay_out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-imports-") as tree:
        lay_out(Path(tree))
        # run from the tree: import-linter puts its working folder first on the path
        env = {**os.environ, "PYTHONPATH": tree}
        linter = Path(sys.executable).with_name("lint-imports")
        command = [str(linter), "--no-cache", "--config", str(ROOT / "pyproject.toml")]
        return subprocess.run(command, cwd=tree, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
