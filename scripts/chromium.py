"""Chromium flags for every headless browser Vigil's tests and tools start."""

from __future__ import annotations

#: No network chatter, updates or first-run screens in a closed sandbox.
QUIET_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: Headless on a server: no display, no GPU, no sandbox (root in a container).
HEADLESS_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")


def chromium_flags(width: int = 1400, height: int = 1100) -> tuple[str, ...]:
    """Every flag for a headless Chromium with a window of the given size."""
    return (*HEADLESS_FLAGS, *QUIET_FLAGS, f"--window-size={width},{height}")
