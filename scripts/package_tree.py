"""The `vigil` package laid out as it installs, for tools that read a package from one folder.

In a checkout, `vigil.detection` lives in `detection/`, `vigil.pages` in `pages/` and so on
(pyproject's `package-dir`). import-linter and mypy only read a package from one folder, so
`lay_out` builds the installed tree in a folder of links to the checkout's files, and
`checkout_path` names a file of that tree by its place in the checkout.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]


@cache
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


def checkout_path(installed: str) -> str:
    """The checkout's path, relative to its root, of a path in the laid-out tree:
    `vigil/detection/zscore.py` is `detection/zscore.py`, `vigil/cli/run.py` stays."""
    parts = PurePosixPath(installed).parts
    # the innermost package that holds the file decides its folder
    for name, folder in sorted(package_dirs().items(), key=lambda item: -item[0].count(".")):
        package = tuple(name.split("."))
        if parts[: len(package)] == package:
            inside = PurePosixPath(*parts[len(package) :]) if parts[len(package) :] else None
            base = PurePosixPath(folder.relative_to(ROOT).as_posix())
            return str(base / inside) if inside else str(base)
    return installed
