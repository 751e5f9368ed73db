"""Serve Vigil with its demo data on a spare port and save a screenshot of the Analyze page.

python scripts/readme_screenshot.py docs/analyze.png
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(**settings: str) -> Iterator[str]:
    """`vigil run` on a spare port with a fresh data directory (and any VIGIL_ settings
    given, as NAME=value), until the block ends; yields its address."""
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": tempfile.mkdtemp(prefix="vigil-shot-"),
        "VIGIL_PORT": str(port),
        **{f"VIGIL_{name}": value for name, value in settings.items()},
    }
    server = subprocess.Popen([sys.executable, "-m", "vigil.cli", "run"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/analyze.png")
    output.parent.mkdir(parents=True, exist_ok=True)
    with serving() as url:
        subprocess.run(
            [
                sys.executable,
                str(HERE / "screenshot.py"),
                f"{url}/analyze?series=requests_per_min",
                str(output),
                "--wait",
                "analyze-count",
                "--height",
                "1250",
            ],
            check=True,
        )
    print(f"saved {output}")


if __name__ == "__main__":
    main()
