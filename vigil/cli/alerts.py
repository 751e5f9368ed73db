"""`vigil alerts`: queue the alerts that are due and deliver the outbox (emails, webhook
calls)."""

from __future__ import annotations

import click

from vigil.cli.common import deliver, services_for
from vigil.detection.errors import DataError
from vigil.settings import load_settings
from vigil.usecases.alerting import dispatch_due


@click.group()
def alerts() -> None:
    """Alerts: deliver what is waiting in the outbox (emails and webhook calls)."""


@alerts.command()
def flush() -> None:
    """Queue the alerts that are due and deliver what is waiting; print what was sent and
    what waits."""
    services = services_for(load_settings())
    if services.mail().smtp is None and not any(services.outbox.counts("webhook").values()):
        raise DataError(
            "No SMTP server is set: set VIGIL_SMTP_HOST (and its friends) or set one on the "
            "Admin page first."
        )
    try:
        dispatch_due(services)
    except Exception as error:  # what is in the outbox still goes
        click.echo(
            f"Queueing the alerts that are due failed ({type(error).__name__}: {error}); "
            "delivering what waits in the outbox anyway.",
            err=True,
        )
    deliver(services)
