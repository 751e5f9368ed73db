"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepts."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "vigil", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Recorder:
    """Accepts mail, or answers with the next of `replies` (e.g. '451 ...') first."""

    replies: list[str] = field(default_factory=list)
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=good, handled=False)


class Certificates:
    """A throwaway certificate authority and a certificate for 127.0.0.1."""

    def __init__(self, folder) -> None:
        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = str(folder / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        return context


def start_server(
    recorder: Recorder,
    *,
    port: int | None = None,
    security: str = "none",
    certificates: Certificates | None = None,
    auth: bool = False,
) -> Controller:
    options: dict = {}
    if auth:
        options |= {"authenticator": authenticator, "auth_required": True}
        options["auth_require_tls"] = security == "starttls"  # ssl is encrypted from the start
    if security == "starttls":
        options |= {"tls_context": certificates.server_context(), "require_starttls": True}
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port or free_port(),
        ssl_context=certificates.server_context() if security == "ssl" else None,
        server_hostname="127.0.0.1",
        **options,
    )
    controller.start()
    return controller
