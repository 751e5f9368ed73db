"""Long work that says how long is left while it runs.

`run_counting_down` runs the work in a daemon thread and, from the calling thread, reports the
time left about every `every` seconds until the work ends; it returns the work's result or
raises its error. The calling thread stays free, so a process told to stop (a cancelled job)
stops at once: the daemon thread does not hold it up, and nothing after the work (storing its
result) runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from vigil.durations import time_left_words

T = TypeVar("T")


def run_counting_down(
    work: Callable[[], T],
    report: Callable[[str], object],
    *,
    expected: float,
    every: float = 1.0,
) -> T:
    """`work()`, with `report(words)` called at its start and about every `every` seconds
    while it runs, `words` counting down from `expected` seconds (see `time_left_words`)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the caller, who raises it
            outcome["error"] = error

    worker = threading.Thread(target=target, name="vigil-work", daemon=True)
    started = time.perf_counter()
    report(time_left_words(expected, 0.0))
    worker.start()
    while worker.is_alive():
        worker.join(every)
        if worker.is_alive():
            report(time_left_words(expected, time.perf_counter() - started))
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
