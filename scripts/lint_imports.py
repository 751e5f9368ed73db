"""Check the import contracts of pyproject.toml on the `vigil` package as it installs.

    python scripts/lint_imports.py

In a checkout, `vigil.detection` lives in `detection/`, `vigil.pages` in `pages/` and so on
(pyproject's `package-dir`); import-linter only reads a package from one folder. So the
package is laid out as it installs, in a temporary folder of links to the checkout's files,
and import-linter reads it there. Exits with import-linter's own status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_dirs() -> dict[str, Path]:
    """Each package under `vigil` and the checkout folder it comes from, outermost first."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in sorted(mapping.items())}


def lay_out(target: Path) -> None:
    """Links in `target` that make the installed tree: `vigil/` holds links to the files of
    `vigil/`, and one link per mapped package (`vigil/detection` to `detection/`, ...)."""
    for name, folder in package_dirs().items():
        place = target.joinpath(*name.split("."))
        if name == "vigil":
            place.mkdir(parents=True)
            for entry in folder.iterdir():
                if entry.name != "__pycache__":
                    (place / entry.name).symlink_to(entry)
        else:
            place.symlink_to(folder, target_is_directory=True)


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
