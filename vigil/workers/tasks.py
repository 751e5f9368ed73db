"""Work for Celery workers, when `VIGIL_REDIS_URL` is set: live scoring, alert delivery, and
(through Dash's CeleryManager, which registers them here) the pages' long callbacks.

Scoring and delivery are chains: a task does a slice of work, then queues the next link.
Scoring runs as one chain for each shard of the live series (VIGIL_SCORING_PROCESSES of
them, see `live.queue.Shard`), side by side on as many worker processes. A chain token in
Redis lets only one chain of each run however often it is started: ingest starts scoring,
scoring starts delivery, and every worker starts them all when it comes up and whenever a
chain's token has run out, as it does when its worker dies. A link of a shard the worker's
settings do not make (the number of shards was changed) ends its chain. A Redis lock, renewed
as the work goes, keeps two links from ever working at once, even when a worker stalls past
the token's life and a new chain begins. Tasks are acknowledged late, so a link on a worker
process that dies is given to another. Scoring hands its state on through the database
(`live.states`, a generation a shard): any worker goes on where the last one stopped, with
the points the store has not scored yet, and a point scored again after a crash gets the
same score, which the alert rules record once.

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
from dataclasses import dataclass
from functools import cache

import redis
from celery import Celery, signals

from vigil.alerts.delivery import deliver_due, deliver_webhooks_due
from vigil.live.queue import WHOLE, Shard
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

    def start(self, task, args: tuple = ()) -> bool:
        """Queue the first link (`task` with `args`) unless a chain is alive; whether one was
        started."""
        link = uuid.uuid4().hex
        if not _redis().set(self.key, link, nx=True, ex=LEASE):
            return False
        task.apply_async(args=args, task_id=link)
        return True

    def owns(self, link: str | None) -> bool:
        """Whether this link is the chain's current one (renewing the token if so)."""
        if link is None or _redis().get(self.key) != link.encode():
            return False
        _redis().expire(self.key, LEASE)
        return True

    def renew(self) -> None:
        _redis().expire(self.key, LEASE)

    def next(self, task, args: tuple = (), *, countdown: float = 0) -> None:
        link = uuid.uuid4().hex
        _redis().set(self.key, link, ex=LEASE + int(countdown))
        task.apply_async(args=args, task_id=link, countdown=countdown)


DELIVERY = Chain("delivery")


def scoring_name(shard: Shard) -> str:
    """The name of a shard's scoring chain and lock: each shard's scoring runs as a chain of
    its own, beside the others."""
    return "live-scoring" if shard.count == 1 else f"live-scoring-{shard.index}-of-{shard.count}"


def shards() -> list[Shard]:
    """The shards of the live series, one scoring chain each (VIGIL_SCORING_PROCESSES)."""
    count = current().settings.scoring_processes
    return [Shard(k, count) for k in range(count)]


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


@dataclass
class _Scoring:
    """This worker process's live scorer of a shard and the generation of the state it holds."""

    worker: LiveWorker | None = None
    generation: str | None = None
    #: Slices that failed in a row: the next waits longer (see `LiveWorker.backoff`).
    failures: int = 0


#: This worker process's scorers, by shard.
_scoring: dict[Shard, _Scoring] = {}


def score_slice(
    services: Services,
    seconds: float,
    renew: Callable[[], None] | None = None,
    shard: Shard = WHOLE,
) -> int:
    """Score the live points of `shard` for about `seconds`, going on from the saved state;
    how many points were scored. The caller holds the shard's scoring lock, and `renew`
    renews it after each round."""
    states = services.scorer_states
    mine = _scoring.setdefault(shard, _Scoring())
    saved = states.generation(shard)
    if mine.worker is None or saved != mine.generation:
        worker = live_worker(services, shard)
        loaded = states.load(shard)
        worker.restore(loaded.states)
        mine.worker, mine.generation = worker, loaded.generation
    worker = mine.worker
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
        mine.worker = None
        raise
    mine.generation = states.save(worker.take_state(), shard=shard)
    return scored


@celery_app.task(name="vigil.score_live", bind=True, acks_late=True)
def score_live(self, index: int = 0, count: int = 1) -> int:
    """One link of the scoring chain of shard `index` of `count`. A chain of shards this
    worker's settings do not make (their number was changed) ends here."""
    shard = Shard(index, count)
    chain = Chain(scoring_name(shard))
    if not chain.owns(self.request.id):
        return 0
    services = current()
    if count != services.settings.scoring_processes:
        return 0
    args = (index, count)
    mine = _scoring.setdefault(shard, _Scoring())
    with _exclusive(scoring_name(shard)) as lock:
        if lock is None:  # a link of an older chain still works: this chain waits its turn
            chain.next(score_live, args, countdown=1)
            return 0

        def renew() -> None:
            lock.reacquire()
            chain.renew()

        try:
            scored = score_slice(services, SCORING_SLICE, renew, shard)
        except Exception as error:  # a bug or a lost database: the chain goes on after a pause
            mine.failures += 1
            pause = min(2.0 ** (min(mine.failures, 32) - 1), MOST_BACKOFF)
            if mine.failures == 1:
                log.exception("a live scoring slice failed; retrying with growing pauses")
            else:
                log.error(
                    "a live scoring slice failed again (%d in a row, %s: %s); next try in %gs",
                    mine.failures,
                    type(error).__name__,
                    str(error).splitlines()[0] if str(error) else "",
                    pause,
                )
            chain.next(score_live, args, countdown=pause)
            return 0
    mine.failures = 0
    chain.next(score_live, args)
    DELIVERY.start(deliver_alerts)
    return scored


def start_scoring() -> None:
    """Start each shard's scoring chain, unless it already runs."""
    for shard in shards():
        Chain(scoring_name(shard)).start(score_live, (shard.index, shard.count))


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
            start_scoring()
        except redis.RedisError as error:  # the points are kept; a worker scores them later
            log.warning("could not start live scoring on Celery: %s", error)


def start_chains() -> None:
    """Start scoring and delivery, unless they already run."""
    start_scoring()
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
