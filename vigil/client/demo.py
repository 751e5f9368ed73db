"""A demo stream: two made-up service metrics, a point a second each, posted to the ingest
API like any client would, with trouble planted now and then so there is something to see."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd

from vigil.client.api import ApiError, points_body, post_points
from vigil.live.points import MAX_POINTS

log = logging.getLogger(__name__)

STEP = pd.Timedelta(seconds=1)
#: History sent at the start, so the detectors have learnt the hourly season at once.
BACKFILL = pd.Timedelta(hours=5)
SERIES = ("demo_checkout_latency_ms", "demo_orders_per_s")
#: A latency spike comes about once in this many seconds.
SPIKE_EVERY_S = 1800
#: Orders fall away for this many seconds once an hour.
OUTAGE_S = 30
#: How long the stream waits for the server to answer at the start, in seconds.
WAIT_FOR_SERVER_S = 120.0


def demo_values(timestamps: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Each demo series at the given (whole-second) times: an hourly rhythm, noise, and
    trouble decided by the time itself, so the same second always gets the same value."""
    seconds = pd.DatetimeIndex(timestamps).as_unit("s").asi8
    hour_phase = 2 * np.pi * (seconds % 3600) / 3600
    latency = 120 + 25 * np.sin(hour_phase) + 4 * _noise(seconds, 1)
    orders = 40 + 12 * np.cos(hour_phase) + 2 * _noise(seconds, 2)
    # Trouble is rare, as it is in real series: planted every few minutes, it becomes what
    # is normal for the series, and a detector that learns from each series' history rightly
    # stops flagging it.
    spike = _uniform(seconds, 3) < 1 / SPIKE_EVERY_S
    latency = np.where(spike, latency + 60 + 40 * _uniform(seconds, 4), latency)
    hour, into = np.divmod(seconds, 3600)
    starts = (_uniform(hour, 5) * (3600 - 2 * OUTAGE_S)).astype(np.int64)
    outage = (into >= starts) & (into < starts + OUTAGE_S)  # once an hour, at any minute
    orders = np.where(outage, orders * 0.2, orders)
    return {SERIES[0]: latency.round(1), SERIES[1]: orders.round(2)}


def _uniform(seconds: np.ndarray, salt: int) -> np.ndarray:
    """A number in [0, 1) per second (splitmix64 of the second), the same every time."""
    with np.errstate(over="ignore"):
        x = seconds.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(float) / 2**53


def _noise(seconds: np.ndarray, salt: int) -> np.ndarray:
    """Roughly standard normal noise per second (Box-Muller on two uniforms)."""
    u1 = np.maximum(_uniform(seconds, 10 * salt), 1e-12)
    u2 = _uniform(seconds, 10 * salt + 1)
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


class DemoStream:
    """Posts the demo series to `url` with `token`: first the last BACKFILL of history, then a
    point a second, until stopped. It sends nothing until the server answers (it may still be
    starting), and gives up with one warning when it has not answered within `wait` seconds."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        backfill: pd.Timedelta = BACKFILL,
        wait: float = WAIT_FOR_SERVER_S,
    ) -> None:
        self.url = url
        self.token = token
        self.backfill = backfill
        self.wait = wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _post(self, times: pd.DatetimeIndex) -> None:
        for name, values in demo_values(times).items():
            for start in range(0, len(times), MAX_POINTS):
                chunk = slice(start, start + MAX_POINTS)
                post_points(self.url, self.token, name, points_body(times[chunk], values[chunk]))

    def _answers(self) -> bool:
        """Whether the server answers HTTP at all (any status will do)."""
        try:
            with urllib.request.urlopen(f"{self.url.rstrip('/')}/api/v1/series", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            return False

    def wait_for_server(self) -> bool:
        """Wait until the server answers, at most `wait` seconds (False if it never did, or
        the stream was stopped)."""
        deadline = time.monotonic() + self.wait
        while not self._stop.is_set():
            if self._answers():
                return True
            if time.monotonic() >= deadline:
                log.warning(
                    "demo stream: %s did not answer within %g s; no demo points are sent.",
                    self.url,
                    self.wait,
                )
                return False
            self._stop.wait(0.2)
        return False

    def run(self) -> None:
        if not self.wait_for_server():
            return
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        sent_until = now - self.backfill
        complained = False
        while not self._stop.is_set():
            now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
            if now > sent_until:
                times = pd.date_range(sent_until + STEP, now, freq=STEP)
                try:
                    self._post(times)
                    sent_until = now
                    complained = False
                except ApiError as error:  # the server is starting or busy: try again
                    if not complained:
                        log.warning("demo stream: %s", error)
                        complained = True
            self._stop.wait(1.0)

    def start(self) -> DemoStream:
        self._thread = threading.Thread(target=self.run, name="vigil-demo-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
