"""The mail server's certificate is checked, and the SMTP password only ever goes over TLS: a
real SMTP server (aiosmtpd on 127.0.0.1) with STARTTLS or TLS, its certificate signed by a CA
made in the test. Notices and health alerts connect the same way."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crawler.scheduling.alerts import Alerter, HealthAlert
from crawler.takedown.sending import SmtpConfig, SmtpConfigError, deliver, parse_smtp_url
from tests.support.ports import free_port


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Pki:
    """A private CA and a server certificate it signed, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _pki(directory: Path, host: str) -> Pki:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("RepostWatch test CA"))
        .issuer_name(_name("RepostWatch test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@dataclass
class Mailbox:
    """Keeps the messages it is given and every login attempt (user, password)."""

    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


@dataclass
class TlsServer:
    mailbox: Mailbox
    port: int
    pki: Pki


def _serve(tmp_path: Path, *, cert_host: str, smtps: bool) -> Iterator[TlsServer]:
    pki = _pki(tmp_path, cert_host)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    mailbox = Mailbox()
    options = {"ssl_context": context} if smtps else {"tls_context": context}
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=mailbox,
        # aiosmtpd takes TLS for STARTTLS only; with smtps the whole connection is TLS.
        auth_require_tls=not smtps,
        **options,
    )
    controller.start()
    try:
        yield TlsServer(mailbox, controller.port, pki)
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(tmp_path) -> Iterator[TlsServer]:
    yield from _serve(tmp_path, cert_host="127.0.0.1", smtps=False)


@pytest.fixture
def wrong_host_server(tmp_path) -> Iterator[TlsServer]:
    yield from _serve(tmp_path, cert_host="mail.example", smtps=False)


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "takedown@centre.example"
    message["To"] = "abuse@board.example"
    message["Subject"] = "test"
    message.set_content("test")
    return message


def _starttls_url(server: TlsServer) -> str:
    return f"smtp://mailer:s3cret@127.0.0.1:{server.port}?starttls=1&timeout=10"


ALERT = HealthAlert("board", "unhealthy", "3 errors", 7, "2026-12-06T09:00:00Z")


def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(starttls_server):
    with pytest.raises(ssl.SSLCertVerificationError):
        deliver(_message(), parse_smtp_url(_starttls_url(starttls_server)))
    assert starttls_server.mailbox.logins == [] and starttls_server.mailbox.messages == []


def test_alert_mail_refuses_an_untrusted_certificate_too(starttls_server, caplog):
    alerter = Alerter(email_to="ops@centre.example", smtp_url=_starttls_url(starttls_server))
    with caplog.at_level(logging.ERROR, logger="repostwatch.alerts"):
        alerter.send(ALERT)
    assert "certificate verify failed" in caplog.text
    assert starttls_server.mailbox.logins == [] and starttls_server.mailbox.messages == []


def test_a_private_ca_file_is_trusted(starttls_server):
    ca_file = str(starttls_server.pki.ca_file)
    deliver(_message(), parse_smtp_url(_starttls_url(starttls_server), ca_file=ca_file))
    alerter = Alerter(
        email_to="ops@centre.example",
        smtp_url=_starttls_url(starttls_server),
        smtp_ca_file=ca_file,
    )
    alerter.send(ALERT)
    assert starttls_server.mailbox.logins == [("mailer", "s3cret")] * 2
    assert len(starttls_server.mailbox.messages) == 2


def test_smtps_with_a_private_ca(tmp_path):
    for server in _serve(tmp_path, cert_host="127.0.0.1", smtps=True):
        url = f"smtps://mailer:s3cret@127.0.0.1:{server.port}?timeout=10"
        with pytest.raises(ssl.SSLCertVerificationError):
            deliver(_message(), parse_smtp_url(url))
        deliver(_message(), parse_smtp_url(url, ca_file=str(server.pki.ca_file)))
        assert server.mailbox.logins == [("mailer", "s3cret")]


def test_a_certificate_for_another_host_is_refused(wrong_host_server):
    smtp = parse_smtp_url(
        _starttls_url(wrong_host_server), ca_file=str(wrong_host_server.pki.ca_file)
    )
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        deliver(_message(), smtp)
    assert wrong_host_server.mailbox.logins == []


def test_a_password_without_tls_is_refused_with_what_to_set(starttls_server):
    url = f"smtp://mailer:s3cret@127.0.0.1:{starttls_server.port}"
    with pytest.raises(SmtpConfigError, match=r"starttls=1.*smtps://"):
        parse_smtp_url(url)
    with pytest.raises(ValueError, match="no TLS"):
        Alerter(email_to="ops@centre.example", smtp_url=url)
    # Built by hand, the configuration is refused before anything is sent.
    plain = SmtpConfig("127.0.0.1", starttls_server.port, username="mailer", password="s3cret")
    with pytest.raises(SmtpConfigError, match="no TLS"):
        deliver(_message(), plain)
    assert starttls_server.mailbox.logins == []
    # Without a login, plain SMTP stays possible (a relay on the local network).
    assert parse_smtp_url("smtp://127.0.0.1:25").username is None


def test_a_missing_ca_file_is_named():
    with pytest.raises(SmtpConfigError, match=r"REPOSTWATCH_SMTP_CA_FILE='/nowhere/ca\.pem'"):
        parse_smtp_url("smtps://u:p@mail.example", ca_file="/nowhere/ca.pem")
