"""Sending one email over SMTP, and telling a failure that may pass from one that will not."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from vigil.alerts.outbox import DeliveryError

SECURITY = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. The password is kept out of `repr`, so it reaches no log."""

    host: str
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "vigil@localhost"
    timeout: float = 15.0
    #: Extra certificate authorities to trust (a private CA); the system's are always trusted.
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY)}")

    @property
    def address(self) -> str:
        how = {"none": "without TLS", "starttls": "with STARTTLS", "ssl": "over SSL"}
        return f"{self.host}:{self.port} {how[self.security]}"


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_file:
        context.load_verify_locations(cafile=config.ca_file)
    return context


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}"


def send(message: EmailMessage, config: SmtpConfig) -> None:
    """Hand `message` to the server; return when it has accepted it, else raise
    DeliveryError. A refused login counts as temporary: mail waits until the settings are
    fixed rather than being dropped."""
    try:
        client: smtplib.SMTP
        if config.security == "ssl":
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=_tls_context(config)
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            if config.security == "starttls":
                client.starttls(context=_tls_context(config))
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(
            "login refused: " + _reply(error.smtp_code, error.smtp_error), temporary=True
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        replies = [_reply(code, text) for code, text in error.recipients.values()]
        temporary = all(400 <= code < 500 for code, _ in error.recipients.values())
        raise DeliveryError(
            "recipients refused: " + "; ".join(replies), temporary=temporary
        ) from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(
            _reply(error.smtp_code, error.smtp_error), temporary=400 <= error.smtp_code < 500
        ) from None
    except ssl.SSLError as error:
        raise DeliveryError(f"TLS failed: {error.reason or error}", temporary=True) from None
    except TimeoutError:
        raise DeliveryError(f"no answer from {config.address}", temporary=True) from None
    except (OSError, smtplib.SMTPException) as error:
        if isinstance(error.__context__, TimeoutError):  # smtplib's words for a silent server
            raise DeliveryError(f"no answer from {config.address}", temporary=True) from None
        raise DeliveryError(f"cannot reach {config.address}: {error}", temporary=True) from None
