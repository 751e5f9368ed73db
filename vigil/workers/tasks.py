"""Work for Celery workers, when `VIGIL_REDIS_URL` is set: live scoring, alert delivery, and
(through Dash's CeleryManager, which registers them here) the pages' long callbacks.

Scoring and delivery are chains: a task does a slice of work, then queues the next link. A
chain token in Redis lets only one chain of each run however often it is started: ingest
starts scoring, scoring starts delivery, and every worker starts both when it comes up and
whenever a chain's token has run out, as it does when its worker dies. A Redis lock, renewed
as the work goes, keeps two links from ever working at once, even when a worker stalls past
the token's life and a new chain begins. Tasks are acknowledged late, so a link on a worker
process that dies is given to another. Scoring hands its state on through the database
(`live.states`): any worker goes on where the last one stopped, with the points the store
has not scored yet, and a point scored again after a crash gets the same score, which the
alert rules record once.

Nothing is lost or doubled by more workers: points are scored under the scoring lock, and
emails are claimed from the outbox under the database's locks (see `alerts`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import redis
from celery import Celery, signals

from vigil.alerts.delivery import deliver_due, deliver_webhooks_due
from vigil.live.scoring import MOST_BACKOFF, LiveWorker
from vigil.services import Services, current
from vigil.settings import Settings
from vigil.usecases.alerting import dispatch_due
from vigil.workers.live_scoring import live_worker

log = logging.getLogger(__name__)

#: Seconds of scoring in one link of the chain; the worker holding the state keeps it across
#: links, another loads it from the database.
SCORING_SLICE = 10.0
#: Pause between scoring rounds that found nothing new.
SCORING_IDLE = 0.25
#: Seconds between delivery rounds.
DELIVERY_EVERY = 5.0
#: Life of a lock or chain token that is not renewed: how soon a dead worker's chain is
#: taken over.
LEASE = 30
#: Ingest starts the scoring chain at most this often (seconds) from one web process.
KICK_EVERY = 2.0

celery_app = Celery("vigil")


def configure(config: Settings) -> Celery:
    """Point the Celery app at the settings' Redis."""
    celery_app.conf.update(
        broker_url=config.redis_url,
        result_backend=config.redis_url,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": 300},
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return celery_app


@cache
def _redis() -> redis.Redis:
    url = current().settings.redis_url
    assert url, "the workers run only with VIGIL_REDIS_URL (`vigil worker` checks it)"
    return redis.Redis.from_url(url)


class Chain:
    """One self-renewing chain of a task at a time, across every worker."""

    def __init__(self, name: str) -> None:
        self.key = f"vigil:chain:{name}"

    def start(self, task) -> bool:
        """Queue the first link unless a chain is alive; whether one was started."""
        link = uuid.uuid4().hex
        if not _redis().set(self.key, link, nx=True, ex=LEASE):
            return False
        task.apply_async(task_id=link)
        return True

    def owns(self, link: str | None) -> bool:
        """Whether this link is the chain's current one (renewing the token if so)."""
        if link is None or _redis().get(self.key) != link.encode():
            return False
        _redis().expire(self.key, LEASE)
        return True

    def renew(self) -> None:
        _redis().expire(self.key, LEASE)

    def next(self, task, *, countdown: float = 0) -> None:
        link = uuid.uuid4().hex
        _redis().set(self.key, link, ex=LEASE + int(countdown))
        task.apply_async(task_id=link, countdown=countdown)


SCORING = Chain("live-scoring")
DELIVERY = Chain("delivery")


@contextmanager
def _exclusive(name: str) -> Iterator[redis.lock.Lock | None]:
    """A Redis lock on `name`, or None when another worker holds it."""
    lock = _redis().lock(f"vigil:lock:{name}", timeout=LEASE, blocking=False)
    if not lock.acquire():
        yield None
        return
    try:
        yield lock
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:  # it ran out while we worked: nothing to let go
            log.warning("the %s lock ran out before its work ended", name)


class _Scoring:
    """This worker process's live scorer and the generation of the state it holds."""

    worker: LiveWorker | None = None
    generation: str | None = None
    #: Slices that failed in a row: the next waits longer (see `LiveWorker.backoff`).
    failures: int = 0


def score_slice(services: Services, seconds: float, renew: Callable[[], None] | None = None) -> int:
    """Score live points for about `seconds`, going on from the saved state; how many points
    were scored. The caller holds the scoring lock, and `renew` renews it after each round."""
    states = services.scorer_states
    saved = states.generation()
    if _Scoring.worker is None or saved != _Scoring.generation:
        worker = live_worker(services)
        loaded = states.load()
        worker.restore(loaded.states)
        _Scoring.worker, _Scoring.generation = worker, loaded.generation
    worker = _Scoring.worker
    scored = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            done = worker.round()
            scored += done
            if renew is not None:
                renew()
            if not done:
                time.sleep(SCORING_IDLE)
    except BaseException:
        # a round that failed halfway may have moved scorers past scores it did not store:
        # forget them, and go on from the last saved state (scoring again gives equal scores)
        _Scoring.worker = None
        raise
    _Scoring.generation = states.save(worker.take_state())
    return scored


@celery_app.task(name="vigil.score_live", bind=True, acks_late=True)
def score_live(self) -> int:
    """One link of the scoring chain."""
    if not SCORING.owns(self.request.id):
        return 0
    services = current()
    with _exclusive("live-scoring") as lock:
        if lock is None:  # a link of an older chain still works: this chain waits its turn
            SCORING.next(score_live, countdown=1)
            return 0

        def renew() -> None:
            lock.reacquire()
            SCORING.renew()

        try:
            scored = score_slice(services, SCORING_SLICE, renew)
        except Exception as error:  # a bug or a lost database: the chain goes on after a pause
            _Scoring.failures += 1
            pause = min(2.0 ** (min(_Scoring.failures, 32) - 1), MOST_BACKOFF)
            if _Scoring.failures == 1:
                log.exception("a live scoring slice failed; retrying with growing pauses")
            else:
                log.error(
                    "a live scoring slice failed again (%d in a row, %s: %s); next try in %gs",
                    _Scoring.failures,
                    type(error).__name__,
                    str(error).splitlines()[0] if str(error) else "",
                    pause,
                )
            SCORING.next(score_live, countdown=pause)
            return 0
    _Scoring.failures = 0
    SCORING.next(score_live)
    DELIVERY.start(deliver_alerts)
    return scored


@celery_app.task(name="vigil.deliver_alerts", bind=True, acks_late=True)
def deliver_alerts(self) -> int:
    """One link of the delivery chain: due alerts into the outbox, the outbox to SMTP and to
    webhooks."""
    if not DELIVERY.owns(self.request.id):
        return 0
    services = current()
    sent = 0
    try:
        with _exclusive("delivery") as lock:
            if lock is not None:
                try:
                    dispatch_due(services)
                except Exception:  # what is in the outbox still goes
                    log.exception("queueing due alerts failed; delivering the outbox anyway")
                smtp = services.mail().smtp
                if smtp is not None:
                    sent = deliver_due(services.outbox, smtp).sent
                sent += deliver_webhooks_due(services.outbox, services.webhook_key).sent
    except Exception:  # kept in the outbox: the next round tries again
        log.exception("an alert delivery round failed")
    DELIVERY.next(deliver_alerts, countdown=DELIVERY_EVERY)
    return sent


class ScoringKick:
    """What ingest wakes when scoring runs on Celery workers: it starts the scoring chain if
    none is alive (at most every KICK_EVERY seconds from this process)."""

    def __init__(self) -> None:
        self._last = 0.0

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._last < KICK_EVERY:
            return
        self._last = now
        try:
            SCORING.start(score_live)
        except redis.RedisError as error:  # the points are kept; a worker scores them later
            log.warning("could not start live scoring on Celery: %s", error)


def start_chains() -> None:
    """Start scoring and delivery, unless they already run."""
    SCORING.start(score_live)
    DELIVERY.start(deliver_alerts)


def _watch_chains() -> None:
    """Restart a chain whose worker died (its token ran out): every worker watches, so the
    work goes on while any of them lives."""
    while True:
        time.sleep(LEASE / 3)
        try:
            start_chains()
        except redis.RedisError as error:
            log.warning("could not check Vigil's Celery chains: %s", error)


@signals.worker_ready.connect
def _on_worker_ready(**_kwargs) -> None:
    start_chains()
    threading.Thread(target=_watch_chains, name="vigil-chains", daemon=True).start()
