"""A real SMTP server for the tests (aiosmtpd on loopback): plain, or STARTTLS + AUTH with a self-signed
certificate. The fixtures `smtp_server` and `smtp_tls_server` are registered in tests/conftest.py."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from peers import free_tcp_port, require

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:  # pragma: no cover - the loud skip below says what to install
    Controller = None  # type: ignore[assignment,misc]

USER, PASSWORD = "netmon", "s3cret-smtp-pass"


@dataclass
class Collector:
    """aiosmtpd handler keeping every accepted message; refuses DATA whose subject contains REJECT."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        if "REJECT" in str(msg["Subject"]):
            return "554 5.7.1 message content rejected"
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpPeer:
    port: int
    handler: Collector
    ca_file: str | None = None


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server itself answers 535


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def smtp_server() -> Iterator[SmtpPeer]:
    require(Controller is not None, "aiosmtpd not installed; pip install -e '.[test]'")
    handler = Collector()
    port = free_tcp_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpPeer(port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_tls_server(tmp_path: Path) -> Iterator[SmtpPeer]:
    """STARTTLS required, AUTH required and only over TLS (a self-signed certificate for 127.0.0.1)."""
    require(Controller is not None, "aiosmtpd not installed; pip install -e '.[test]'")
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Collector()
    port = free_tcp_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=_authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield SmtpPeer(port, handler, str(cert))
    finally:
        controller.stop()


class RestartableSmtp:
    """aiosmtpd on loopback that can be stopped (the port refuses connections) and started again on the same
    port: an SMTP outage for the delivery tests."""

    def __init__(self) -> None:
        require(Controller is not None, "aiosmtpd not installed; pip install -e '.[test]'")
        self.port = free_tcp_port()
        self.handler = Collector()
        self._controller: Any = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)
