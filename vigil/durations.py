"""How long a detection run should take, and what to tell someone waiting for it.

Pure functions of plain numbers: no clock, no files. `expected_seconds` always answers (from
past runs of the same detector and mode when there are any, else from a prior per detector)
with a positive number of seconds; `time_left_words` never shows a negative time: once a run
is past its estimate it says so instead of counting below zero.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

#: Seconds per point of a batch run on one core, from runs on weekly-seasonal series of ten
#: thousand points: the starting guess until this server has timed runs of its own. Automatic
#: varies most with the series (a tenth of a second to 23 s for 10,320 points): its prior
#: leans long, as finishing early disappoints nobody.
PRIOR_SECONDS_PER_POINT = {
    "auto": 1e-3,
    "ensemble": 3e-4,
    "stl": 2.5e-4,
    "iforest": 3e-4,
    "zscore": 5e-6,
}
#: For a detector the priors above do not name.
FALLBACK_SECONDS_PER_POINT = 1e-3
#: Online scoring updates cheap running state; a saved model only scores.
MODE_FACTOR = {"batch": 1.0, "online": 0.5, "model": 0.3}
#: The most recent runs an estimate is taken from (older ones may predate faster code).
RECENT_RUNS = 20
#: No run is expected to be quicker than this: loading and storing take time too.
MINIMUM_SECONDS = 1.0


@dataclass(frozen=True)
class Timing:
    """One finished run: how many points it scored and how long that took."""

    rows: int
    seconds: float


def seconds_per_point(detector: str, mode: str, past: Iterable[Timing] = ()) -> float:
    """The median seconds per point of the most recent `RECENT_RUNS` usable timings in `past`
    (oldest first; runs of no points or of no measurable time are skipped), else the prior of
    `detector` in `mode` ("batch", "online" or "model")."""
    rates = [t.seconds / t.rows for t in past if t.rows > 0 and t.seconds > 0]
    if rates:
        return statistics.median(rates[-RECENT_RUNS:])
    prior = PRIOR_SECONDS_PER_POINT.get(detector, FALLBACK_SECONDS_PER_POINT)
    return prior * MODE_FACTOR.get(mode, 1.0)


def expected_seconds(detector: str, mode: str, rows: int, past: Iterable[Timing] = ()) -> float:
    """How long a run of `detector` in `mode` on `rows` points should take, at least
    `MINIMUM_SECONDS`."""
    return max(MINIMUM_SECONDS, seconds_per_point(detector, mode, past) * max(rows, 0))


def time_left_words(expected: float, elapsed: float) -> str:
    """What to say `elapsed` seconds into a run expected to take `expected` seconds: "about
    20 s left", "about 3 min left", "almost done", then "taking longer than usual…"."""
    left = expected - elapsed
    if left <= 0:
        return "taking longer than usual…"
    if left < 2:
        return "almost done"
    if left < 90:
        return f"about {math.ceil(left)} s left"
    return f"about {math.ceil(left / 60)} min left"
