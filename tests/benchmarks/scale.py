"""Vigil at scale on this machine: 1,000 live series at a point every 10 s each, plus one
series receiving 20,000 points a second, for `--minutes` (an hour for the soak).

Starts Vigil on a fresh data directory: `vigil run` alone (SQLite, scoring in its own
process), or with `--team` Postgres, Redis, one Celery worker (`vigil worker`) and `vigil
run --workers 2`. Sender threads post each slow series' point on time (labelled with host,
service and env, as a collector would) and the fast series' points in batches of 1,000,
twenty a second, stamped with the time they are sent. Measures:

- how long after acceptance each point was scored, p50 / p99 / max: the slow series' every
  point, one in a hundred of the fast series';
- the memory of every Vigil process (web, scoring, workers) every five seconds, and at the
  end that of Postgres and Redis besides;
- under the same load at the end, the Overview with every series, opened to drawn in
  headless Chromium, and its reply; the baseline is the same page once the load has stopped.

    python tests/benchmarks/scale.py --minutes 60            # the soak (SQLite)
    python tests/benchmarks/scale.py --minutes 10 --team     # Postgres, Celery, 2 web workers
    python tests/benchmarks/scale.py --minutes 10 --bulk     # the slow series as a collector

Writes tests/benchmarks/latest_scale.md (latest_scale_team.md with --team).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.live_charts import browser, open_overview  # noqa: E402
from tests.benchmarks.live_ingest import TOKEN, free_port, rss_where  # noqa: E402
from tests.services import new_database, postgres_server, redis_server  # noqa: E402
from vigil.client.api import ApiError, post_points  # noqa: E402
from vigil.storage.database import query_frame, sqlite_url  # noqa: E402
from vigil.storage.opening import open_database  # noqa: E402

SLOW_SERIES = 1_000
SLOW_EVERY = 10.0
FAST_RATE = 20_000
BATCH = 1_000
SENDERS = 8
FAST = "firehose"


def session_rss_mb(session: int) -> float:
    """Resident memory of every process in a session (a server and all it started), MB."""

    def in_session(fields: dict[str, str]) -> bool:
        try:
            return os.getsid(int(fields["Pid"])) == session
        except OSError:  # gone meanwhile
            return False

    return rss_where(in_session)


def named_rss_mb(*names: str) -> float:
    """Resident memory of every process whose command is one of `names` (Postgres, Redis)."""
    return rss_where(lambda fields: fields.get("Name", "") in names)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", *command],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            post_points(url, TOKEN, "warmup", b'{"points": []}')
            return
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextlib.contextmanager
def vigil(team: bool, scoring: bool = True) -> Iterator[tuple[str, str, list[subprocess.Popen]]]:
    """Vigil serving on a free port: its URL, its database URL and its processes."""
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-scale-"))
    port = free_port()
    env = {
        "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_PORT": str(port),
        "VIGIL_DEMO": "false",
        "VIGIL_API_TOKENS": TOKEN,
        "VIGIL_AUTH": "off",
        "VIGIL_LIVE_SCORING": str(scoring).lower(),
    }
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        if team:
            redis_url = stack.enter_context(redis_server(str(data_dir)))
            server_url = stack.enter_context(postgres_server(durable=True))
            database_url = new_database(server_url, "vigil_scale")
            env |= {"VIGIL_DATABASE_URL": database_url, "VIGIL_REDIS_URL": redis_url}
            processes = [
                start(["worker", "--concurrency", "2"], env),
                start(["run", "--workers", "2"], env),
            ]
        else:
            database_url = sqlite_url(data_dir / "vigil.sqlite")
            processes = [start(["run"], env)]
        try:
            wait_for(url)
            yield url, database_url, processes
        finally:
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 15)
            for process in processes:
                process.wait(60)


def slow_body(at: float, value: float) -> bytes:
    stamp = pd.Timestamp(at, unit="s").strftime("%Y-%m-%dT%H:%M:%S.%f")
    return json.dumps({"points": [{"timestamp": stamp, "value": value}]}).encode()


#: The fast series' points are this far apart (s): BATCH of them span a sender's 50 ms.
FAST_STEP = 1 / FAST_RATE


def fast_stamps(until: float, after: float | None) -> np.ndarray:
    """BATCH times (s), FAST_STEP apart, up to `until`; all later than `after` (the last one
    sent), so that a sender running behind its schedule sends new points, not corrections of
    points it already sent."""
    first = until - (BATCH - 1) * FAST_STEP
    if after is not None:
        first = max(first, after + FAST_STEP)
    return first + np.arange(BATCH) * FAST_STEP


def fast_body(stamps: np.ndarray, rng: np.random.Generator) -> bytes:
    """Points at `stamps` (s), around 100 with a spike now and then."""
    stamps = pd.to_datetime(stamps, unit="s").strftime("%Y-%m-%dT%H:%M:%S.%f")
    values = 100 + rng.normal(0, 1, BATCH)
    if rng.random() < 0.01:
        values[rng.integers(BATCH)] += 40
    points = [{"timestamp": s, "value": float(v)} for s, v in zip(stamps, values, strict=True)]
    return json.dumps({"points": points}).encode()


class Connection:
    """One kept-alive HTTP connection to Vigil's ingest API, as a collector holds one."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connection: http.client.HTTPConnection | None = None

    def post(self, series: str | None, body: bytes) -> int:
        """Points accepted (of `series`, or with None of the many series in the body);
        ApiError when the server refuses or cannot be reached."""
        path = (
            "/api/v1/series"
            if series is None
            else f"/api/v1/series/{urllib.parse.quote(series, safe='')}/points"
        )
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept connection the server closed: open another, once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request("POST", path, body, headers)
                response = self.connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise ApiError(f"cannot reach Vigil: {error}") from None
                continue
            if response.status >= 400:
                raise ApiError(answer.decode(errors="replace"), status=response.status)
            return int(json.loads(answer)["accepted"])
        raise AssertionError("unreachable")


class Load:
    """The senders: every slow series a point every SLOW_EVERY s, the fast one BATCH points
    twenty times a second. Counts what was accepted and what was refused."""

    def __init__(self, url: str, bulk: bool = False) -> None:
        self.url = url
        self.bulk = bulk
        self.stop = threading.Event()
        self.accepted = [0] * (SENDERS + 1)
        self.failures = [0] * (SENDERS + 1)
        self.late = [0.0] * (SENDERS + 1)  # the most a sender fell behind its schedule, s
        self.connections = [Connection(url) for _ in range(SENDERS + 1)]
        slow = self._collector if bulk else self._slow
        self.threads = [
            threading.Thread(target=slow, args=(s,), daemon=True)
            for s in range(1 if bulk else SENDERS)
        ] + [threading.Thread(target=self._fast, daemon=True)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _post(self, slot: int, series: str, body: bytes) -> None:
        try:
            self.accepted[slot] += self.connections[slot].post(series, body)
        except ApiError:
            self.failures[slot] += 1

    def _slow(self, sender: int) -> None:
        rng = np.random.default_rng(sender)
        mine = list(range(sender, SLOW_SERIES, SENDERS))
        began = time.time()
        rounds = 0
        while not self.stop.is_set():
            for series in mine:
                due = began + rounds * SLOW_EVERY + series * SLOW_EVERY / SLOW_SERIES
                wait = due - time.time()
                if wait > 0 and self.stop.wait(wait):
                    return
                self.late[sender] = max(self.late[sender], -wait)
                value = 20 + rng.normal(0, 1) + (12 if rng.random() < 0.002 else 0)
                host = f"host-{series:04d}"
                self._post(sender, f"{host}.latency", slow_body(time.time(), value))
            rounds += 1

    def _collector(self, sender: int) -> None:
        """Every slow series' point in one request every SLOW_EVERY s, as a collector
        scraping them all sends them."""
        rng = np.random.default_rng(sender)
        due = time.time()
        while not self.stop.is_set():
            wait = due - time.time()
            if wait > 0 and self.stop.wait(wait):
                return
            self.late[sender] = max(self.late[sender], -wait)
            stamp = pd.Timestamp(time.time(), unit="s").strftime("%Y-%m-%dT%H:%M:%S.%f")
            values = 20 + rng.normal(0, 1, SLOW_SERIES)
            values[rng.random(SLOW_SERIES) < 0.002] += 12
            body = {
                "series": [
                    {"name": f"host-{s:04d}.latency", "points": [{"timestamp": stamp, "value": v}]}
                    for s, v in enumerate(values.tolist())
                ]
            }
            self._post(sender, None, json.dumps(body).encode())
            due += SLOW_EVERY

    def _fast(self) -> None:
        rng = np.random.default_rng(99)
        due = time.time()
        last: float | None = None
        while not self.stop.is_set():
            wait = due - time.time()
            if wait > 0 and self.stop.wait(wait):
                return
            self.late[SENDERS] = max(self.late[SENDERS], -wait)
            stamps = fast_stamps(time.time(), last)
            last = float(stamps[-1])
            self._post(SENDERS, FAST, fast_body(stamps, rng))
            due += BATCH / FAST_RATE


def label_slow_series(url: str) -> None:
    """Give each slow series its labels, in one request of many series."""
    body = {
        "series": [
            {
                "name": f"host-{series:04d}.latency",
                "labels": {
                    "host": f"host-{series:04d}",
                    "service": f"svc{series % 20}",
                    "env": ["prod", "staging"][series % 2],
                },
                "points": [],
            }
            for series in range(SLOW_SERIES)
        ]
    }
    Connection(url).post(None, json.dumps(body).encode())


def lags(database_url: str, since: float) -> dict[str, np.ndarray]:
    """Seconds from acceptance to scoring: every slow series' point, one in a hundred of the
    fast series' (by id), received after `since`; NaN for points never scored."""
    database = open_database(database_url)
    with database.read() as connection:
        fast = query_frame(
            connection,
            "SELECT p.scored - p.received AS lag FROM points p JOIN series s ON s.id = p.series "
            "WHERE s.name = :fast AND p.received >= :since AND p.id % 100 = 0",
            {"fast": FAST, "since": since},
        )["lag"].to_numpy(dtype=float)
        slow = query_frame(
            connection,
            "SELECT p.scored - p.received AS lag FROM points p JOIN series s ON s.id = p.series "
            "WHERE s.name <> :fast AND p.received >= :since",
            {"fast": FAST, "since": since},
        )["lag"].to_numpy(dtype=float)
    database.dispose()
    return {"slow": slow, "fast": fast}


def spread(values: np.ndarray) -> str:
    scored = values[~np.isnan(values)]
    if not len(scored):
        return "none scored"
    p50, p99 = np.percentile(scored, [50, 99])
    unscored = len(values) - len(scored)
    tail = f", {unscored:,} not scored" if unscored else ""
    return f"{p50:.2f} / {p99:.2f} / {scored.max():.2f} s{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--team", action="store_true", help="Postgres, Celery, 2 web workers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-scoring", action="store_true", help="ingest alone")
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="the slow series' points in one request every 10 s, as a collector sends them",
    )
    args = parser.parse_args()
    memory: list[tuple[float, float]] = []
    with vigil(args.team, not args.no_scoring) as (url, database_url, processes):
        label_slow_series(url)
        load = Load(url, bulk=args.bulk)
        began = time.time()
        load.start()
        while time.time() - began < args.minutes * 60:
            time.sleep(5)
            total = sum(session_rss_mb(process.pid) for process in processes)
            memory.append((time.time() - began, total))
            dead = [process for process in processes if process.poll() is not None]
            if dead:
                raise RuntimeError("a Vigil process stopped during the run")
        driver = browser()
        try:
            loaded = min(open_overview(driver, f"{url}/overview") for _ in range(args.repeat))
            load.finish()
            sent_for = time.time() - began
            time.sleep(20)  # what was accepted last gets scored
            idle = min(open_overview(driver, f"{url}/overview") for _ in range(args.repeat))
        finally:
            driver.quit()
        others = named_rss_mb("postgres", "redis-server") if args.team else 0.0
        found = lags(database_url, began + 60)  # after the first minute's warm-up
    minutes = np.array([t for t, _ in memory]) / 60
    mb = np.array([m for _, m in memory])
    first = mb[minutes <= 5].mean()
    last = mb[minutes >= minutes.max() - 5].mean()
    setup = "Postgres, Redis, 1 Celery worker, 2 web workers" if args.team else "SQLite, vigil run"
    setup += (
        "; the slow series sent together, one request every 10 s"
        if args.bulk
        else "; each series its own request"
    )
    rows = [
        "| measure | baseline | Vigil | ratio |",
        "| --- | --- | --- | --- |",
        f"| points accepted a second (sent: {SLOW_SERIES / SLOW_EVERY + FAST_RATE:,.0f}) | | "
        f"{sum(load.accepted) / sent_for:,.0f} | |",
        f"| accepted → scored, {SLOW_SERIES:,} series at a point every {SLOW_EVERY:g} s, "
        f"p50 / p99 / max | | {spread(found['slow'])} | |",
        f"| ... one series at {FAST_RATE:,} points a second (1 point in 100) | | "
        f"{spread(found['fast'])} | |",
        f"| memory of every Vigil process, first 5 / last 5 minutes / most | | "
        f"{first:.0f} / {last:.0f} / {mb.max():.0f} MB | |",
        f"| Overview with {SLOW_SERIES + 1:,} series: opened to drawn, under load "
        f"| idle {idle[0]:.2f} s | {loaded[0]:.2f} s | {loaded[0] / idle[0]:.2f}x |",
        f"| ... its reply | idle {idle[1] / 1000:.0f} KB | {loaded[1] / 1000:.0f} KB | |",
    ]
    if args.team:
        rows.append(f"| Postgres and Redis memory at the end | | {others:.0f} MB | |")
    failures = sum(load.failures)
    tens = [
        mb[(minutes > m) & (minutes <= m + 10)].mean()
        for m in range(0, int(np.ceil(minutes.max())), 10)
    ]
    note = (
        f"\n\n{setup}; {args.minutes:g} minutes; {failures:,} requests refused; senders at "
        f"most {max(load.late):.1f} s behind their schedule; best of {args.repeat} for the "
        f"pages; the load generator runs on the same {os.cpu_count()} cores; "
        f"{pd.Timestamp.now():%Y-%m-%d}.\n\nMemory by ten minutes (MB): "
        + ", ".join(f"{m:.0f}" for m in tens)
        + "\n"
    )
    table = "\n".join(rows)
    print(table + note)
    name = "latest_scale_team.md" if args.team else "latest_scale.md"
    (ROOT / "tests" / "benchmarks" / name).write_text(table + note)


if __name__ == "__main__":
    main()
