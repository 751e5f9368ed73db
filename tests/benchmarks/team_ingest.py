"""Live ingest throughput with 1, 2 and 4 gunicorn web workers against Postgres.

Starts a throwaway Postgres on 127.0.0.1 (durable: fsync on, as in production) and, for each
number of workers, `vigil run --workers N` on a fresh database with scoring elsewhere (off
here, so the web tier alone is measured). Client threads post batches of 1,000 points to
several series as fast as the server answers, for a while. The baseline is one worker in the
same run; the same load against the default SQLite file is shown beside it.

    python tests/benchmarks/team_ingest.py --seconds 30
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.live_ingest import BATCH, TOKEN, bodies, free_port  # noqa: E402
from tests.services import new_database, postgres_server  # noqa: E402
from vigil.client.api import ApiError, post_points  # noqa: E402
from vigil.storage.database import sqlite_url  # noqa: E402


def serve(database_url: str, workers: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": tempfile.mkdtemp(prefix="vigil-bench-team-"),
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_PORT": str(port),
        "VIGIL_DEMO": "false",
        "VIGIL_API_TOKENS": TOKEN,
        "VIGIL_LIVE_SCORING": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
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


def measure(database_url: str, workers: int, seconds: float, clients: int) -> float:
    """Points accepted a second."""
    port = free_port()
    server = serve(database_url, workers, port)
    url = f"http://127.0.0.1:{port}"
    per_client = bodies(clients, int(seconds * 60 / clients) + 20, seed=workers)
    accepted = [0] * clients
    stop = threading.Event()

    def client(c: int) -> None:
        for body in per_client[c]:
            if stop.is_set():
                return
            accepted[c] += post_points(url, TOKEN, f"team_{c}", body)["accepted"]

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    os.killpg(server.pid, 15)
    server.wait(30)
    return sum(accepted) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    rates = {}
    with postgres_server(durable=True) as server:
        for workers in (1, 2, 4):
            database = new_database(server, f"bench_{workers}")
            rates[workers] = measure(database, workers, args.seconds, args.clients)
    sqlite = {
        workers: measure(
            sqlite_url(Path(tempfile.mkdtemp()) / "vigil.sqlite"),
            workers,
            args.seconds,
            args.clients,
        )
        for workers in (1, 2, 4)
    }
    print(
        f"Points accepted a second, {args.clients} clients posting batches of {BATCH:,} "
        f"for {args.seconds:.0f} s, on {os.cpu_count()} cores:\n"
    )
    print("| web workers | Postgres | ratio to 1 worker | SQLite (same load) |")
    print("| --- | --- | --- | --- |")
    for workers, rate in rates.items():
        print(f"| {workers} | {rate:,.0f} | {rate / rates[1]:.2f}x | {sqlite[workers]:,.0f} |")


if __name__ == "__main__":
    main()
