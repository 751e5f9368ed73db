"""Background runs on this machine, bounded and reaped.

At most `max_running` background callbacks (detection, evaluation, saving a model) run at
once, counted across every web process sharing the disk cache: one more is refused with a
message in the page's busy notice, not queued. A run nobody has polled for `abandoned_after`
seconds (its page closed) is killed and its result dropped, and every finished run is waited
for, so neither abandoned runs nor zombie processes pile up.
"""

from __future__ import annotations

import time

import multiprocess
import psutil
from dash import DiskcacheManager

from vigil.components.ids import BUSY

#: Where the running jobs are listed in the cache: {pid: {"key": result key, "seen": time}}.
JOBS_KEY = "vigil-running-jobs"
NO_UPDATE = {"_dash_no_update": "_dash_no_update"}


def busy_message(running: int) -> str:
    runs = "run" if running == 1 else "runs"
    return f"The server is busy: {running} {runs} going. Try again in a moment."


class BoundedDiskcacheManager(DiskcacheManager):
    """Dash's disk-cache manager with a bound on running jobs and a reaper."""

    def __init__(self, cache, *, max_running: int, abandoned_after: float) -> None:
        super().__init__(cache)
        self.max_running = max_running
        self.abandoned_after = abandoned_after

    def call_job_fn(self, key, job_fn, args, context):
        """Start the job, or, at the bound, answer at once: nothing changes but the busy
        notice. The pid returned for a refused job is 0, which Dash treats as not running."""
        with self.handle.transact():
            jobs = self._reap()
            if len(jobs) >= self.max_running:
                self.handle.set(key, NO_UPDATE)
                notice = {"children": busy_message(len(jobs)), "is_open": True}
                self.handle.set(f"{key}-set_props", {BUSY: notice})
                return 0
            pid = super().call_job_fn(key, job_fn, args, context)
            jobs[pid] = {"key": key, "seen": time.monotonic()}
            self.handle.set(JOBS_KEY, jobs)
        return pid

    def get_result(self, key, job):
        """The job's result when it is ready; each poll tells the reaper the job is wanted."""
        self._seen(job)
        return super().get_result(key, job)

    def job_running(self, job):
        return bool(job) and int(job) != 0 and super().job_running(job)

    def terminate_job(self, job):
        if job is None or int(job) == 0:
            return
        super().terminate_job(job)
        _wait_for_children()

    def running(self) -> int:
        """How many jobs run now (reaping the abandoned and finished first)."""
        with self.handle.transact():
            return len(self._reap())

    def _seen(self, job) -> None:
        if not job or int(job) == 0:
            return
        with self.handle.transact():
            jobs = self.handle.get(JOBS_KEY, {})
            if int(job) in jobs:
                jobs[int(job)]["seen"] = time.monotonic()
                self.handle.set(JOBS_KEY, jobs)

    def _reap(self) -> dict:
        """The jobs still running; the abandoned ones killed, finished ones waited for.
        Called inside a cache transaction."""
        _wait_for_children()
        jobs = self.handle.get(JOBS_KEY, {})
        now = time.monotonic()
        kept = {}
        for pid, job in jobs.items():
            if not _alive(pid):
                continue
            if now - job["seen"] > self.abandoned_after:
                _kill(pid)
                self.handle.delete(job["key"])
                continue
            kept[pid] = job
        _wait_for_children()
        self.handle.set(JOBS_KEY, kept)
        return kept


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        for child in process.children(recursive=True):
            child.kill()
        process.kill()
        process.wait(5)  # collected at once when it is this process's child
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass


def _wait_for_children() -> None:
    """Collect this process's finished jobs, so none is left a zombie."""
    multiprocess.active_children()  # joins the finished ones (only jobs: others are untouched)
