"""Delivering the outbox: one round now, or a worker thread that keeps at it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate

from vigil.alerts.outbox import Outbox
from vigil.alerts.smtp import DeliveryError, SmtpConfig, send

log = logging.getLogger(__name__)

#: Seconds to wait before each further attempt at an email the server did not take.
BACKOFF = (30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
#: How long a delivery round may hold its emails before another may take them over.
LEASE = 300.0


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
            if error.temporary:
                delay = backoff[min(email.attempts, len(backoff) - 1)]
                outbox.mark_retry(email.id, error.reply, at=moment + delay)
                retrying += 1
            else:
                outbox.mark_failed(email.id, error.reply)
                failed += 1
            log.warning("email %s not delivered: %s", email.id, error.reply)
            continue
        outbox.mark_sent(email.id)
        sent += 1
    return RoundReport(sent, retrying, failed)


class DeliveryWorker(threading.Thread):
    """Delivers the outbox every `interval` seconds until stopped (after `before_round`)."""

    def __init__(
        self,
        outbox: Outbox,
        config: Callable[[], SmtpConfig | None],
        *,
        interval: float = 5.0,
        before_round: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(name="vigil-delivery", daemon=True)
        self.outbox = outbox
        self.config = config
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

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout)
