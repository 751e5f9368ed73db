"""Delivering the outbox: emails over SMTP and webhook calls over HTTP, one round now, or a
worker thread that keeps at it. Both kinds share the outbox's guarantees (kept before any
attempt, claimed by one sender at a time, marked sent only once taken) and its backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate

from vigil.alerts.outbox import DeliveryError, Outbox, OutboxEmail
from vigil.alerts.smtp import SmtpConfig, send
from vigil.alerts.webhooks import TIMEOUT, post

log = logging.getLogger(__name__)

#: Seconds to wait before each further attempt at an email the server did not take.
BACKOFF = (30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
#: How long a delivery round may hold its emails before another may take them over.
LEASE = 300.0
#: Webhook calls posted at once in a round (one slow endpoint does not hold up the others).
POSTING_AT_ONCE = 8


@dataclass(frozen=True)
class RoundReport:
    """What one delivery round did."""

    sent: int
    retrying: int
    failed: int


def deliver_due(
    outbox: Outbox,
    config: SmtpConfig,
    *,
    now: float | None = None,
    backoff: Sequence[float] = BACKOFF,
    sender: Callable = send,
) -> RoundReport:
    """Send every email that is due, once each; mark each sent, to be retried (with backoff)
    or failed (a permanent refusal, kept with the server's reply)."""
    moment = time.time() if now is None else now
    sent = retrying = failed = 0
    for email in outbox.claim(now=moment, lease=LEASE):
        message = email.message()
        if "From" not in message:
            message["From"] = config.sender
        if "Date" not in message:  # kept before emails had one
            message["Date"] = formatdate(moment, usegmt=True)
        try:
            sender(message, config)
        except DeliveryError as error:
            outcome = _mark_failure(outbox, email, error, moment, backoff)
            retrying += outcome == "retrying"
            failed += outcome == "failed"
            continue
        outbox.mark_sent(email.id)
        sent += 1
    return RoundReport(sent, retrying, failed)


def _mark_failure(
    outbox: Outbox,
    item: OutboxEmail,
    error: DeliveryError,
    moment: float,
    backoff: Sequence[float],
) -> str:
    """Keep what a receiver said: to be tried again after the backoff (or the wait the
    receiver asked for, if longer), or failed for good. `retrying` or `failed`."""
    log.warning("%s %s not delivered: %s", item.kind, item.id, error.reply)
    if not error.temporary:
        outbox.mark_failed(item.id, error.reply)
        return "failed"
    delay = max(backoff[min(item.attempts, len(backoff) - 1)], error.retry_after or 0.0)
    outbox.mark_retry(item.id, error.reply, at=moment + delay)
    return "retrying"


def deliver_webhooks_due(
    outbox: Outbox,
    key: bytes,
    *,
    now: float | None = None,
    backoff: Sequence[float] = BACKOFF,
    timeout: tuple[float, float] = TIMEOUT,
) -> RoundReport:
    """Post every webhook call that is due, signed with `key`, several at once; mark each
    sent, to be retried (with backoff) or failed (a permanent refusal, kept with the
    endpoint's answer). An endpoint that does not connect or answer within `timeout`
    (seconds to connect, to answer) is tried again later."""
    moment = time.time() if now is None else now
    calls = outbox.claim(now=moment, lease=LEASE, kind="webhook")
    if not calls:
        return RoundReport(0, 0, 0)

    def attempt(call: OutboxEmail) -> DeliveryError | None:
        assert call.target is not None, "a webhook call has its address"
        try:
            post(call.target, call.message_id, call.raw, key, timeout=timeout)
        except DeliveryError as error:
            return error
        return None

    with ThreadPoolExecutor(POSTING_AT_ONCE, thread_name_prefix="vigil-webhook") as pool:
        outcomes = list(pool.map(attempt, calls))
    sent = retrying = failed = 0
    for call, error in zip(calls, outcomes, strict=True):
        if error is None:
            outbox.mark_sent(call.id)
            sent += 1
            continue
        outcome = _mark_failure(outbox, call, error, moment, backoff)
        retrying += outcome == "retrying"
        failed += outcome == "failed"
    return RoundReport(sent, retrying, failed)


class DeliveryWorker(threading.Thread):
    """Delivers the outbox every `interval` seconds until stopped (after `before_round`):
    emails once `config` names a server, webhook calls signed with `webhook_key`."""

    def __init__(
        self,
        outbox: Outbox,
        config: Callable[[], SmtpConfig | None],
        *,
        webhook_key: Callable[[], bytes] | None = None,
        interval: float = 5.0,
        before_round: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(name="vigil-delivery", daemon=True)
        self.outbox = outbox
        self.config = config
        self.webhook_key = webhook_key
        self.interval = interval
        self.before_round = before_round
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.round()
            self._stopping.wait(self.interval)

    def round(self) -> None:
        """`before_round`, then deliver what is due: the mail already in the outbox goes out
        even when `before_round` fails."""
        if self.before_round is not None:
            try:
                self.before_round()  # e.g. turn alerts that are due into emails
            except Exception:  # what is in the outbox still goes: log, and deliver
                log.exception("preparing a delivery round failed; delivering the outbox anyway")
        try:
            smtp = self.config()
            if smtp is not None:  # else the mail waits in the outbox for a server
                deliver_due(self.outbox, smtp)
        except Exception:  # keep delivering: one bad round must not stop the mail
            log.exception("a delivery round failed")
        if self.webhook_key is None:
            return
        try:
            deliver_webhooks_due(self.outbox, self.webhook_key())
        except Exception:  # the calls stay in the outbox for the next round
            log.exception("a webhook delivery round failed")

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout)
