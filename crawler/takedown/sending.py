"""Send approved notices by e-mail (SMTP), and re-send unresolved ones on an interval.

Configured by REPOSTWATCH_SMTP_URL (``smtp://user:password@host:587?starttls=1``,
``smtps://user:password@host:465``, ``smtp://host:25``) and REPOSTWATCH_NOTICE_FROM. The mail
server's certificate and host name are always checked (against REPOSTWATCH_SMTP_CA_FILE for a
private CA), and a password is only ever sent over TLS: a URL with a password but without TLS is
refused. Health alerts (crawler/scheduling/alerts.py) connect through :func:`connect` too. A notice
nobody approved is never sent: :func:`send_notice` refuses it before anything is rendered, and
the database refuses to record it as sent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from crawler.db import notices as db_notices
from crawler.db import withdrawals
from crawler.db.models import utcnow
from crawler.takedown.render import RenderedNotice, render_correction, render_notice

SMTP_EXAMPLES = "smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465"
PLAINTEXT_LOGIN = (
    "REPOSTWATCH_SMTP_URL has a user and password but no TLS, so the password would cross the "
    "network in clear: add ?starttls=1 (port 587) or use smtps:// (port 465); a server without "
    "TLS takes mail only without a login (smtp://host:25)"
)


class SmtpConfigError(ValueError):
    """REPOSTWATCH_SMTP_URL or REPOSTWATCH_NOTICE_FROM cannot be used."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ssl: bool = False  # smtps://: TLS from the first byte
    starttls: bool = False  # smtp://...?starttls=1: upgrade the connection
    timeout: float = 30.0
    ca_file: str = ""  # REPOSTWATCH_SMTP_CA_FILE: a private CA; empty, the system's CAs

    def __repr__(self) -> str:  # never print the password
        return f"SmtpConfig({self.host}:{self.port}, ssl={self.ssl}, starttls={self.starttls})"


def parse_smtp_url(url: str, ca_file: str = "") -> SmtpConfig:
    """An SmtpConfig from REPOSTWATCH_SMTP_URL (and REPOSTWATCH_SMTP_CA_FILE); errors say what
    to write instead. A password without TLS is refused."""
    if not url:
        raise SmtpConfigError(
            f"REPOSTWATCH_SMTP_URL is not set; set it ({SMTP_EXAMPLES}) or export the notice "
            "with `repostwatch notices export`"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpConfigError(f"REPOSTWATCH_SMTP_URL must look like {SMTP_EXAMPLES}")
    options = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    starttls = options.get("starttls", "0") in ("1", "true", "yes")
    if starttls and parts.scheme == "smtps":
        raise SmtpConfigError("REPOSTWATCH_SMTP_URL: smtps:// is already TLS; drop starttls")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        timeout = float(options.get("timeout", "30"))
    except ValueError as exc:
        raise SmtpConfigError(f"REPOSTWATCH_SMTP_URL: {exc}") from None
    if parts.username and not (starttls or parts.scheme == "smtps"):
        raise SmtpConfigError(PLAINTEXT_LOGIN)
    if ca_file and not Path(ca_file).is_file():
        raise SmtpConfigError(
            f"REPOSTWATCH_SMTP_CA_FILE={ca_file!r} is not a file: point it at the PEM file of the "
            "CA that signed the mail server's certificate, or unset it to use the system's CAs"
        )
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme == "smtps",
        starttls=starttls,
        timeout=timeout,
        ca_file=ca_file,
    )


def check_sender(sender: str) -> str:
    if not sender or "@" not in parseaddr(sender)[1]:
        raise SmtpConfigError(
            "REPOSTWATCH_NOTICE_FROM must be the sender's address, e.g. "
            '"Support Centre <takedown@centre.example>"'
        )
    return sender


def build_message(
    notice: db_notices.NoticeView, rendered: RenderedNotice, *, sender: str
) -> EmailMessage:
    """The e-mail of a notice: plain text and HTML, with every screenshot attached."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    if notice.recipient:
        message["To"] = notice.recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].partition("@")[2] or None)
    message["X-RepostWatch-Notice"] = str(notice.id)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html.replace("\r\n", "\n"), subtype="html")
    for name, png in rendered.attachments.items():
        message.add_attachment(png, maintype="image", subtype="png", filename=name)
    # Last: turning the message multipart moves Content-* headers into its first part.
    message["Content-Language"] = notice.language
    return message


def tls_context(smtp: SmtpConfig) -> ssl.SSLContext:
    """Certificate and host name checked, against the private CA when one is configured."""
    context = ssl.create_default_context(cafile=smtp.ca_file or None)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def connect(smtp: SmtpConfig) -> smtplib.SMTP:
    """A connection to the mail server, over verified TLS when configured, logged in when the
    URL has a user. Raises OSError (ssl.SSLCertVerificationError for a certificate that is not
    trusted or not the host's) or smtplib errors; a login without TLS is never attempted."""
    if smtp.username and not (smtp.ssl or smtp.starttls):
        raise SmtpConfigError(PLAINTEXT_LOGIN)
    context = tls_context(smtp) if smtp.ssl or smtp.starttls else None
    if smtp.ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.starttls:
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
    except BaseException:
        client.close()
        raise
    return client


def deliver(message: EmailMessage, smtp: SmtpConfig) -> None:
    """Hand the message to the SMTP server; raises OSError/smtplib errors when it is refused."""
    with connect(smtp) as client:
        client.send_message(message)


def send_notice(
    session: Session,
    notice_id: int,
    *,
    smtp: SmtpConfig,
    sender: str,
    resend_after: timedelta,
    now: datetime | None = None,
) -> db_notices.NoticeView:
    """Send an approved notice (again, if it was sent before) and record the sending.

    A correction the notice owes (items withdrawn since it was sent) goes first, as a message
    of its own; the notice follows if it still asks for something. Raises NoticeStateError for
    a notice nobody approved, a resolved one, one with no open items and no correction, or one
    without a recipient; nothing is sent then. When the server refuses a message nothing is
    recorded.
    """
    notice = db_notices.require_sendable(session, notice_id)
    if not notice.recipient:
        raise db_notices.NoticeStateError(
            f"notice {notice_id} has no recipient: set abuse_contact in the site file's "
            "[takedown] table, or export it with `repostwatch notices export` for a web form"
        )
    check_sender(sender)
    now = now or utcnow()
    if notice.corrections:  # withdrawn items: tell the site first, in a message of its own
        correction = render_correction(notice, sender=sender)
        deliver(build_message(notice, correction, sender=sender), smtp)
        notice = withdrawals.corrections_sent(session, notice_id, now=now)
        if not notice.open_items:
            return notice
    rendered = render_notice(
        notice, sender=sender, screenshots=db_notices.screenshots(session, notice_id)
    )
    deliver(build_message(notice, rendered, sender=sender), smtp)
    return db_notices.record_sent(session, notice_id, now=now, resend_after=resend_after)


@dataclass(frozen=True)
class Resent:
    notice_id: int
    error: str | None = None


def send_due(
    sessions: sessionmaker[Session],
    *,
    smtp: SmtpConfig,
    sender: str,
    resend_after: timedelta,
    now: Callable[[], datetime] = utcnow,
) -> list[Resent]:
    """Send every notice whose re-sending is due, each in its own transaction; one that fails
    (server down, recipient refused) is reported and stays due."""
    with sessions.begin() as session:
        due = db_notices.resend_due(session, now())
    done = []
    for notice_id in due:
        try:
            with sessions.begin() as session:
                send_notice(
                    session,
                    notice_id,
                    smtp=smtp,
                    sender=sender,
                    resend_after=resend_after,
                    now=now(),
                )
            done.append(Resent(notice_id))
        except (OSError, smtplib.SMTPException, db_notices.NoticeStateError) as exc:
            done.append(Resent(notice_id, f"{exc.__class__.__name__}: {exc}"))
    return done
