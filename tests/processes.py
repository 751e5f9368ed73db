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


def wait_while_busy(done, busy, *, idle: float, limit: float = 600, every: float = 0.2) -> bool:
    """Whether `done()` came true, waiting for as long as `busy()` says the work is still under
    way (up to `limit` seconds in all), and at most `idle` seconds while it says it is not.

    A deadline that follows the work's own progress: slow work on a busy machine gets the time
    it takes, while a job that never started or has ended without the outcome fails quickly.
    """
    started = time.monotonic()
    last_busy = started
    while True:
        if done():
            return True
        now = time.monotonic()
        if busy():
            last_busy = now
        if now - last_busy > idle or now - started > limit:
            return False
        time.sleep(every)
