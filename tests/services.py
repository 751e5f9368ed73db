"""Real services for the tests of Vigil as a shared service, started on 127.0.0.1 for a test
session and stopped after it (skipped, saying why, where they are not installed)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.alerts.smtp_server import free_port


@contextmanager
def redis_server(directory) -> Iterator[str]:
    """A redis-server on a free port, keeping nothing on disk; its URL."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make services installs Debian's)")
    import redis

    port = free_port()
    options = {"port": port, "bind": "127.0.0.1", "save": "", "appendonly": "no", "dir": directory}
    server = subprocess.Popen(
        [
            "redis-server",
            *[part for key, value in options.items() for part in (f"--{key}", str(value))],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def postgres_bin() -> str | None:
    """Where Debian's (or any) Postgres server programs are, if installed."""
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(versions[-1]) if versions else None


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """A throwaway Postgres cluster on a free port, trusting local connections; the URL of
    its `postgres` database. Root cannot run Postgres, so as root it runs as the `postgres`
    user Debian's package makes. Unless `durable`, it skips flushing to disk, as tests can."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("Postgres is not installed (make services installs Debian's postgresql)")
    as_user: list[str] = []
    directory = tempfile.mkdtemp(prefix="vigil-pg-")
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(directory, "postgres")
    data = os.path.join(directory, "data")
    port = free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True)

    run(
        f"{bin_dir}/initdb", "-D", data, "-U", "vigil", "--auth=trust", "--no-sync",
        "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    fast = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
    server = subprocess.Popen(
        [
            *as_user, f"{bin_dir}/postgres", "-D", data, "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={directory}",
            "-c", "max_connections=200", *fast,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"postgresql://vigil@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(directory, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh, empty database on the Postgres at `server_url`; its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def s3_server(bucket: str = "vigil-files") -> Iterator[dict[str, str]]:
    """moto's S3 server on a free port with one bucket; the AWS_* variables that point boto
    at it, for the environment of the processes a test starts (`server_environment(...) |
    aws`). This process's environment is left as it is (see `s3_in_this_process`)."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    aws = {
        "AWS_ACCESS_KEY_ID": "vigil-test",
        "AWS_SECRET_ACCESS_KEY": "vigil-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    try:
        boto3.client(
            "s3",
            endpoint_url=aws["AWS_ENDPOINT_URL"],
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            region_name=aws["AWS_DEFAULT_REGION"],
        ).create_bucket(Bucket=bucket)
        yield aws
    finally:
        server.stop()


@contextmanager
def s3_in_this_process(aws: dict[str, str]) -> Iterator[None]:
    """This process's environment has the AWS_* variables `aws` (from `s3_server`) for the
    length of the block, and is as it was after.

    Kept in the environment because that is the only way in: Vigil's files in an object store
    are reached through fsspec and s3fs, which take the credentials and the endpoint from
    boto's own configuration (AWS_* variables, or ~/.aws), as a server's operator sets them;
    Vigil's settings name only the URL (VIGIL_FILES_URL) and `FileStore` takes nothing else.
    So a `FileStore` in the test process (a test of the files, or one that reads what a
    server stored) reaches the test's S3 server through these variables, and only while they
    are set."""
    saved = {name: os.environ.get(name) for name in aws}
    os.environ.update(aws)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def celery_workers(redis_url: str) -> int:
    """How many Celery workers listening on this Redis answer a ping."""
    from celery import Celery

    return len(Celery("probe", broker=redis_url).control.ping(timeout=1))
