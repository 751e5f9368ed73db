"""Background runs: only analysts start them, at most a few run at once, none is left behind."""

from __future__ import annotations

import contextlib
import time

import diskcache
import psutil
import pytest

from tests.web.test_sign_in import dash_call, sign_in, signed_in_app
from vigil.components.ids import BUSY
from vigil.workers.jobs import BoundedDiskcacheManager

RUN_ANALYSIS = {
    "output": "..analyze-result.data...analyze-status.children..",
    "outputs": [
        {"id": "analyze-result", "property": "data"},
        {"id": "analyze-status", "property": "children"},
    ],
    "inputs": [
        {"id": "analyze-run", "property": "n_clicks", "value": 1},
        {"id": "analyze-series", "property": "value", "value": None},
        {"id": "analyze-detector", "property": "value", "value": "zscore"},
        {"id": "analyze-online", "property": "value", "value": False},
    ],
    "changedPropIds": ["analyze-run.n_clicks"],
    "state": [
        {"id": "analyze-dataset", "property": "value", "value": None},
        [],
        [],
        {"id": "analyze-model", "property": "value", "value": None},
        {"id": "analyze-query", "property": "data", "value": None},
    ],
}


@pytest.mark.slow  # starts and kills whole `vigil run` servers: make test-team runs it
def test_a_viewer_is_refused_a_detection_run_and_an_analyst_starts_one(tmp_path):
    with signed_in_app(tmp_path) as (url, _env):
        viewer, analyst = sign_in(url, "vera"), sign_in(url, "anna")

        refused = dash_call(viewer, url, RUN_ANALYSIS)
        assert refused.status_code == 403
        assert "analyst" in refused.json()["error"]
        # the page choosing its series for a viewer starts nothing, and says nothing is to do
        # (no error in the browser's console for something the viewer did not ask for)
        chosen = {**RUN_ANALYSIS, "changedPropIds": ["analyze-series.value"]}
        chosen["inputs"] = [
            {**item, "value": "cpu"} if item["id"] == "analyze-series" else item
            for item in RUN_ANALYSIS["inputs"]
        ]
        assert dash_call(viewer, url, chosen).status_code == 204

        started = dash_call(analyst, url, RUN_ANALYSIS)
        assert started.status_code == 200
        assert "cacheKey" in started.json()  # a background run began

        page = viewer.get(f"{url}/_dash-layout", timeout=10)
        assert page.ok
        analyze = viewer.get(f"{url}/analyze", timeout=10)
        assert analyze.ok


def _sleeps(result_key, progress_key, args, context):
    time.sleep(600)


def _returns(result_key, progress_key, args, context):
    import diskcache as cache_module

    cache_module.Cache(args).set(result_key, "done")


def _manager(tmp_path, *, max_running=1, abandoned_after=600.0):
    cache = diskcache.Cache(str(tmp_path / "cache"))
    return BoundedDiskcacheManager(cache, max_running=max_running, abandoned_after=abandoned_after)


def _gone(pid: int) -> bool:
    """Whether the process is gone for good: not running, and no zombie left."""
    return not psutil.pid_exists(pid)


@pytest.fixture
def cleanup():
    started = []
    yield started
    for pid in started:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()


def test_a_run_over_the_bound_is_refused_with_a_busy_message(tmp_path, cleanup):
    manager = _manager(tmp_path, max_running=1)
    first = manager.call_job_fn("first", _sleeps, None, {})
    cleanup.append(first)
    assert first
    assert manager.job_running(first)

    refused = manager.call_job_fn("second", _sleeps, None, {})

    assert refused == 0
    assert not manager.job_running(refused)
    side = manager.get_updated_props("second")
    assert side[BUSY]["children"] == "The server is busy: 1 run going. Try again in a moment."
    assert side[BUSY]["is_open"] is True
    assert manager.get_result("second", refused) == {"_dash_no_update": "_dash_no_update"}

    manager.terminate_job(first)
    assert _gone(first)
    third = manager.call_job_fn("third", _sleeps, None, {})
    cleanup.append(third)
    assert third
    assert manager.job_running(third)


def test_a_run_nobody_asks_about_is_stopped_and_leaves_no_zombie(tmp_path, cleanup):
    manager = _manager(tmp_path, max_running=2, abandoned_after=0.0)
    abandoned = manager.call_job_fn("abandoned", _sleeps, None, {})
    cleanup.append(abandoned)
    assert manager.job_running(abandoned)

    assert manager.running() == 0

    assert _gone(abandoned)
    assert manager.handle.get("abandoned") is None


@pytest.mark.slow
def test_a_finished_run_nobody_collects_leaves_no_zombie(tmp_path, cleanup):
    manager = _manager(tmp_path, max_running=2)
    finished = manager.call_job_fn("finished", _returns, str(tmp_path / "cache"), {})
    cleanup.append(finished)
    process = psutil.Process(finished)
    while process.status() != psutil.STATUS_ZOMBIE:  # it ended; nobody has waited for it
        time.sleep(0.05)

    assert manager.running() == 0

    assert _gone(finished)
