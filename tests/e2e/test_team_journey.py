"""The analyst's path in Chromium against Vigil run for a team: gunicorn workers, Postgres,
files in an object store (moto's S3 server), and the detection run by a Celery worker through
Redis. The web server and the worker share no directory: only the database, the object store
and Redis."""

from __future__ import annotations

import pytest
import redis
import requests

from tests.alerts.smtp_server import free_port
from tests.e2e.test_analyst_journey import choose_file, click, plotted_anomalies
from tests.e2e.waits import wait_for_job, wait_for_upload
from tests.processes import start_vigil as start
from tests.processes import stop, wait_while_busy
from tests.services import celery_workers, redis_server, s3_in_this_process, s3_server
from tests.settings import server_environment
from vigil.detection.synthetic import seasonal_series
from vigil.storage.files import FileStore

pytestmark = [pytest.mark.e2e, pytest.mark.team]


def serves(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def test_an_upload_is_analysed_by_a_celery_worker(dash_br, tmp_path, postgres_url):
    source = tmp_path / "pump-pressure.csv"
    seasonal_series(n=144 * 8, spike_at=700, step="10min").to_csv(source, index=False)
    port = free_port()
    with redis_server(tmp_path) as redis_url, s3_server() as aws:
        shared = {
            "files_url": "s3://vigil-files/team",
            "database_url": postgres_url,
            "redis_url": redis_url,
            "model_key": "shared by the web server and the worker",
            "port": port,
            "demo": False,
        }
        web_env = server_environment(data_dir=tmp_path / "web", **shared) | aws
        worker_env = server_environment(data_dir=tmp_path / "worker", **shared) | aws
        web = start(web_env, "run", "--workers", "2")
        worker = start(worker_env, "worker")
        try:
            starting = lambda: web.poll() is None and worker.poll() is None  # noqa: E731
            assert wait_while_busy(
                lambda: serves(f"http://127.0.0.1:{port}/"), starting, idle=0, limit=300
            ), "the web server did not start"
            assert wait_while_busy(
                lambda: celery_workers(redis_url) > 0, starting, idle=0, limit=300
            ), "the Celery worker did not start"
            dash_br.server_url = f"http://127.0.0.1:{port}"
            dash_br.wait_for_element("input.vigil-file-input", timeout=30)

            choose_file(dash_br, source)
            wait_for_upload(dash_br, "#data-name", "pump-pressure.csv")
            dash_br.wait_for_contains_text("#data-upload-ok", "is stored")
            click(dash_br, "#data-analyze-link")
            wait_for_job(
                dash_br,
                "#analyze-count",
                "anomal",
                run_button="#analyze-run",
                alive=lambda: worker.poll() is None,
            )
            assert plotted_anomalies(dash_br) >= 1
            dash_br.driver.save_screenshot(str(tmp_path / "team-analyze.png"))

            results = redis.Redis.from_url(redis_url).keys("celery-task-meta-*")
            assert results, "no callback went through a Celery worker"
            with s3_in_this_process(aws):
                stored = FileStore("s3://vigil-files/team")
                assert len(stored.keys("datasets")) == 1
                assert stored.keys("results")  # the worker's result, read by the web server
            assert not (tmp_path / "web" / "datasets").exists()
            assert dash_br.get_logs() == []
        finally:
            for process in (web, worker):
                stop(process)
