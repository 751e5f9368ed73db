"""Vigil's own processes in tests: `vigil run`, `vigil worker`, started and stopped as a
service manager would, and waiting for what they should bring about."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def start_vigil(env: dict, *args: str) -> subprocess.Popen:
    """`vigil ARGS` in a session of its own (so its children stop with it), quiet."""
    return subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, how: int = signal.SIGTERM) -> None:
    """Signal the process and its children, and wait for it to end."""
    if process.poll() is None:
        os.killpg(process.pid, how)
    process.wait(60)


def wait_until(condition, timeout: float, every: float = 0.2) -> bool:
    """Whether `condition()` came true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
