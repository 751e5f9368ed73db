"""Sustained live ingest with scoring, against ingest alone, on this machine.

Starts `vigil run` (no demo) on a fresh data directory, and has client threads post batches
of 1,000 points (minute steps, a daily season, a spike now and then) to several series for a
while. Measures points accepted a second; how long after its acceptance each point was scored,
and was first seen by a poller reading the store as the Live page's charts do, twice a second;
and the server's memory. The baseline is the same run with scoring off
(`VIGIL_LIVE_SCORING=false`).

    python tests/benchmarks/live_ingest.py --seconds 60            # throughput and latency
    python tests/benchmarks/live_ingest.py --seconds 600 --only-scoring   # memory soak
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from vigil.client.api import ApiError, points_body, post_points  # noqa: E402
from vigil.live.store import LiveStore  # noqa: E402
from vigil.storage.database import query_frame, sqlite_url  # noqa: E402
from vigil.storage.opening import open_database  # noqa: E402

TOKEN = "bench-token"
BATCH = 1000
#: How often the Live page asks for new points (pages/live.py CHART_REFRESH_MS).
REFRESH = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data_dir: Path, port: int, scoring: bool, **variables: str) -> subprocess.Popen:
    """`vigil run` on `data_dir` (no demo, TOKEN taken), once it answers; `variables` are
    further settings of its environment."""
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_PORT": str(port),
        "VIGIL_DEMO": "false",
        "VIGIL_API_TOKENS": TOKEN,
        "VIGIL_LIVE_SCORING": str(scoring).lower(),
        **variables,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            post_points(f"http://127.0.0.1:{port}", TOKEN, "warmup", b'{"points": []}')
            return process
        except ApiError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("vigil run did not start")


def bodies(series: int, batches: int, seed: int) -> list[list[bytes]]:
    """Per series, its request bodies in time order."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(series):
        n = batches * BATCH
        times = pd.date_range("2020-01-01", periods=n, freq="1min")
        minutes = np.arange(n)
        values = 50 + 10 * np.sin(2 * np.pi * minutes / 1440) + rng.normal(0, 1, n)
        values[rng.choice(n, size=max(1, n // 5000), replace=False)] += 15
        out.append(
            [points_body(times[i : i + BATCH], values[i : i + BATCH]) for i in range(0, n, BATCH)]
        )
    return out


def rss_where(keep: Callable[[dict[str, str]], bool]) -> float:
    """Resident memory, in MB, of the processes whose /proc status fields (`Pid`, `PPid`,
    `Name`, ...) `keep` takes."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        fields = {name: value.strip() for name, value in fields.items()}
        if keep(fields):
            total += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the scoring process), in MB."""
    return rss_where(lambda fields: pid in (int(fields["Pid"]), int(fields["PPid"])))


def run(scoring: bool, seconds: float, series: int, rate: float | None) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-live-"))
    port = free_port()
    server = serve(data_dir, port, scoring)
    url = f"http://127.0.0.1:{port}"
    # enough bodies for the whole run: at the rate asked, or 40,000 points/s per series
    per_second = 40 if rate is None else rate / series / BATCH
    per_series = bodies(series, int(seconds * per_second * 1.1) + 10, seed=1)
    accepted = [0] * series
    stop = threading.Event()

    interval = 0 if rate is None else series * BATCH / rate

    def client(s: int) -> None:
        due = time.monotonic()
        for body in per_series[s]:
            if stop.is_set():
                return
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            due += interval
            answer = post_points(url, TOKEN, f"bench_{s}", body)
            accepted[s] += answer["accepted"]

    on_chart: list[np.ndarray] = []
    watched = threading.Event()  # set once every point is scored

    def watch(s: int) -> None:
        """Poll like the Live page: every REFRESH seconds, the series' newly scored points."""
        store = LiveStore(open_database(sqlite_url(data_dir / "vigil.sqlite")))
        last = None
        while not watched.is_set():
            polled = time.time()
            new = store.scores(f"bench_{s}", since=last, limit=50_000)
            waiting = new["scored"].isna().to_numpy()
            if waiting.any():
                new = new.iloc[: int(waiting.argmax())]
            if len(new):
                on_chart.append(polled - new["received"].to_numpy(dtype=float))
                last = new["timestamp"].iloc[-1]
            time.sleep(max(0.0, REFRESH - (time.time() - polled)))

    memory: list[tuple[float, float]] = []
    threads = [threading.Thread(target=client, args=(s,)) for s in range(series)]
    watchers = [threading.Thread(target=watch, args=(s,)) for s in range(series if scoring else 0)]
    started = time.monotonic()
    for thread in threads + watchers:
        thread.start()
    while time.monotonic() - started < seconds:
        time.sleep(1)
        memory.append((time.monotonic() - started, rss_mb(server.pid)))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(accepted)
    result = {"points": total, "seconds": elapsed, "rate": total / elapsed, "memory": memory}
    if scoring:
        # let the worker finish what is left, then read the latencies
        database = open_database(sqlite_url(data_dir / "vigil.sqlite"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with database.read() as connection:
                waiting = connection.execute(
                    text("SELECT COUNT(*) FROM points WHERE scored IS NULL")
                ).scalar()
            if not waiting:
                break
            time.sleep(0.5)
        drained = time.monotonic() - started - elapsed
        time.sleep(2 * REFRESH)  # the pollers' last look
        watched.set()
        for thread in watchers:
            thread.join()
        with database.read() as connection:  # millions of rows: straight from the driver
            lag = query_frame(
                connection,
                "SELECT scored - received AS lag FROM points WHERE series IN "
                "(SELECT id FROM series WHERE name LIKE 'bench_%')",
            )["lag"].to_numpy(dtype=float)
        shown = np.concatenate(on_chart) if on_chart else np.array([np.nan])
        result |= {
            "shown_p50": float(np.nanpercentile(shown, 50)),
            "shown_p99": float(np.nanpercentile(shown, 99)),
            "shown_max": float(np.nanmax(shown)),
            "latency_p50": float(np.nanpercentile(lag, 50)),
            "latency_p99": float(np.nanpercentile(lag, 99)),
            "latency_max": float(np.nanmax(lag)),
            "drained_after": drained,
        }
    server.terminate()
    server.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--series", type=int, default=4)
    parser.add_argument("--rate", type=float, default=20_000, help="points a second to send")
    parser.add_argument("--only-scoring", action="store_true", help="skip the baselines")
    args = parser.parse_args()
    baseline = None if args.only_scoring else run(False, args.seconds, args.series, None)
    most = None if args.only_scoring else run(True, args.seconds, args.series, None)
    ours = run(True, args.seconds, args.series, args.rate)
    first = np.mean([m for t, m in ours["memory"] if t <= 60])
    last = np.mean([m for t, m in ours["memory"][-60:]])
    print("| measure | baseline | Vigil | ratio |\n| --- | --- | --- | --- |")
    if baseline is not None and most is not None:
        print(
            f"| most points accepted a second, {args.series} series, batches of {BATCH:,} | "
            f"ingest alone {baseline['rate']:,.0f} | with scoring {most['rate']:,.0f} | "
            f"{baseline['rate'] / most['rate']:.2f}x |"
        )
        scored_rate = most["points"] / (most["seconds"] + most["drained_after"])
        print(f"| most points scored a second | | {scored_rate:,.0f} | |")
    print(
        f"| sent at {args.rate:,.0f} points a second for {args.seconds:.0f} s: accepted a "
        f"second | | {ours['rate']:,.0f} | |"
    )
    print(
        f"| ... accepted → scored, p50 / p99 / max | | {ours['latency_p50']:.2f} / "
        f"{ours['latency_p99']:.2f} / {ours['latency_max']:.2f} s | |"
    )
    print(
        f"| ... accepted → on the Live page (polled every {REFRESH:g} s), p50 / p99 / max | | "
        f"{ours['shown_p50']:.2f} / {ours['shown_p99']:.2f} / {ours['shown_max']:.2f} s | |"
    )
    print(f"| ... server memory, first minute / last minute | | {first:.0f} / {last:.0f} MB | |")
    minutes = [
        np.mean([m for t, m in ours["memory"] if minute * 60 < t <= (minute + 1) * 60])
        for minute in range(int(args.seconds // 60))
    ]
    print("\nServer memory by minute (MB): " + ", ".join(f"{m:.0f}" for m in minutes))


if __name__ == "__main__":
    main()
