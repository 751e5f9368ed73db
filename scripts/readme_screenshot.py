"""Serve Vigil with its demo data on a spare port and save a screenshot of the Analyze page.

python scripts/readme_screenshot.py docs/analyze.png
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/analyze.png")
    output.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": tempfile.mkdtemp(prefix="vigil-shot-"),
        "VIGIL_PORT": str(port),
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
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"saved {output}")


if __name__ == "__main__":
    main()
