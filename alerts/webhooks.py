"""Webhooks: an HTTP endpoint a rule notifies beside (or instead of) email, checked when the
rule is saved, and one notification posted to it, signed.

Notifications follow the Standard Webhooks specification (standardwebhooks.com): each carries
`webhook-id` (the same for every attempt at one notification, so a receiver can drop
repeats), `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
`id.timestamp.body` with the installation's webhook secret). Receivers verify them with any
Standard Webhooks library, given the secret `vigil rules webhook-secret` prints
(`vigil.keys.secret_of_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from standardwebhooks.webhooks import Webhook as Signer

from vigil.alerts.outbox import DeliveryError

#: The bodies a webhook may take: Vigil's JSON event, or a Slack-compatible message (also
#: taken by Mattermost, Rocket.Chat and Discord's /slack endpoints).
FORMATS = ("json", "slack")
MAX_WEBHOOKS = 10
MAX_URL = 2_000
#: Seconds to connect, then to wait for the answer, before an attempt counts as failed.
TIMEOUT = (5.0, 15.0)
#: Answers worth trying again later besides 5xx: timeout, too early, too many requests.
TEMPORARY = frozenset({408, 425, 429})
#: The most of an endpoint's answer kept with a failed attempt.
MAX_REPLY = 300


@dataclass(frozen=True)
class Webhook:
    """Where a rule posts its notifications, and in which body."""

    url: str
    format: str = "json"

    @property
    def shown(self) -> str:
        """The address with its path hidden (a chat webhook's path is its password):
        'https://hooks.example.org/…'."""
        return shown_url(self.url)


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def url_problem(url: str) -> str | None:
    """Why `url` cannot take notifications, in words; None when it can. Only http and https
    addresses with a host are taken, without a password in them and without spaces."""
    if not url:
        return "give the webhook's address"
    if len(url) > MAX_URL:
        return f"a webhook address is at most {MAX_URL:,} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "a webhook address has no spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"{url!r} is not an address that can be read ({error})"
    if parts.scheme not in ("http", "https"):
        scheme = parts.scheme or "none"
        return f"{shown_url(url)!r} is not an http or https address (its scheme is {scheme})"
    if not parts.hostname:
        return f"{url!r} names no host"
    if parts.username or parts.password:
        return "a webhook address holds no user or password: put a token in its path instead"
    if port == 0:
        return f"{shown_url(url)!r} names port 0"
    return None


def webhook(url: str, format: str = "json") -> Webhook:
    """A checked webhook; ValueError naming what is wrong."""
    url = url.strip()
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    if format not in FORMATS:
        raise ValueError(f"a webhook's format is one of {', '.join(FORMATS)}, not {format!r}")
    return Webhook(url, format)


def signed_headers(message_id: str, body: bytes, key: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at a notification, made at `now`."""
    signature = Signer(key).sign(message_id, now, body.decode())
    return {
        "content-type": "application/json",
        "user-agent": "Vigil-Webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def _reply(response: requests.Response) -> str:
    words = " ".join(response.text[:MAX_REPLY].split())
    return f"{response.status_code} {response.reason or ''}".strip() + (
        f": {words}" if words else ""
    )


def post(
    url: str,
    message_id: str,
    body: bytes,
    key: bytes,
    *,
    now: datetime | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    session: requests.Session | None = None,
) -> None:
    """Post one notification; return once the endpoint answered 2xx, else raise DeliveryError:
    temporary for no answer, 5xx, 408, 425 and 429 (tried again later), permanent for the rest
    of 4xx and for a redirect (followed nowhere: the rule should name where it ends)."""
    moment = now or datetime.now(UTC)
    headers = signed_headers(message_id, body, key, moment)
    where = shown_url(url)
    client = session or requests
    try:
        response = client.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        raise DeliveryError(f"no answer from {where}", temporary=True) from None
    except requests.ConnectionError:
        raise DeliveryError(f"cannot reach {where}", temporary=True) from None
    except requests.RequestException as error:
        raise DeliveryError(f"{where}: {type(error).__name__}", temporary=True) from None
    with response:
        if 200 <= response.status_code < 300:
            return
        if 300 <= response.status_code < 400:
            moved = shown_url(response.headers.get("location", ""))
            raise DeliveryError(
                f"{response.status_code}: {where} redirects to {moved}; "
                "give the rule the address it ends at",
                temporary=False,
            )
        temporary = response.status_code >= 500 or response.status_code in TEMPORARY
        raise DeliveryError(
            _reply(response), temporary=temporary, retry_after=_retry_after(response)
        )


def _retry_after(response: requests.Response) -> float | None:
    """The seconds an endpoint asked to wait (`Retry-After` in seconds), at most a day."""
    given = response.headers.get("retry-after", "").strip()
    if not given.isdigit():
        return None
    return min(float(given), 86_400.0)
