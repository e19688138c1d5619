"""Digests of new flags for reviewer groups, by e-mail or webhook, in Korean or English.

What a digest contains, and nothing else (it leaves the centre, so it fails closed):

- how many flags were first seen since the group's last delivered digest, how many of those
  still wait for a decision, and how many wait in the whole queue;
- a link to the queue and a link to each new flag's page (at most :data:`MAX_LINKS`), on the
  web app's address (REPOSTWATCH_WEB_URL): a flag's number and nothing about it. The pages
  open only for a signed-in staff member.

Never media, thumbnails, hashes, case names or keywords, site names, nor the page or media URL
of a repost: :func:`compose` is given numbers only (:class:`Figures`), so it cannot leak them.
The group's name stays out too (admins choose it freely).

E-mail goes through the notices' SMTP server (REPOSTWATCH_SMTP_URL, connected by
:func:`crawler.takedown.sending.connect`: certificates checked, no password without TLS), from
REPOSTWATCH_NOTICE_FROM. A webhook gets a JSON POST (:func:`payload`) with a timeout, only to a
host listed in REPOSTWATCH_DIGEST_WEBHOOK_HOSTS, over HTTPS (plain HTTP only to this machine),
never following a redirect.

A group's digest is delivered at most once per interval and only when there are new flags. The
flags it counted are recorded in the transaction that follows the delivery; a delivery that
fails records nothing but the error, and the same flags (with any newer) go into the next try,
after the interval or 15 minutes, whichever is shorter. The group's row is locked while it
sends, so the scheduler and `repostwatch digests send` never send one digest twice at once. If
the database fails after the server took the digest, the next one counts those flags again: a
digest can be repeated, never lost (each carries an id, ``digest``, for a receiver to tell).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from babel.support import NullTranslations, Translations
from sqlalchemy.orm import Session, sessionmaker

from crawler.db import audit
from crawler.db import digests as db_digests
from crawler.db.models import STAFF_LOCALES, utcnow
from crawler.takedown.sending import SmtpConfig, check_sender, deliver

logger = logging.getLogger("repostwatch.digests")

#: The web app's catalogs (crawler/review/translations), read without Flask.
TRANSLATIONS = Path(__file__).parents[1] / "review" / "translations"
#: Links to single flags in one digest; the rest are counted and found in the queue.
MAX_LINKS = 20
WEBHOOK_TIMEOUT = 10.0
_LOOPBACK_NAMES = ("localhost",)


class DigestConfigError(ValueError):
    """A digest cannot be sent with the settings as they are; the message says what to set."""


@dataclass(frozen=True)
class DigestSettings:
    """REPOSTWATCH_WEB_URL, REPOSTWATCH_LOCALE, REPOSTWATCH_DIGEST_WEBHOOK_HOSTS and, for
    e-mail, the notices' SMTP server and sender (None while REPOSTWATCH_SMTP_URL is unset)."""

    web_url: str
    default_locale: str
    webhook_hosts: frozenset[str] = frozenset()
    smtp: SmtpConfig | None = None
    sender: str = ""
    timeout: float = WEBHOOK_TIMEOUT


def parse_hosts(text: str) -> frozenset[str]:
    """REPOSTWATCH_DIGEST_WEBHOOK_HOSTS: host names, comma-separated, lower case."""
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything a digest says: numbers only."""

    new: int  # flags first seen since the last delivered digest
    new_waiting: int  # of those, still waiting for a decision
    queue_waiting: int  # waiting for a decision in the whole queue
    flag_ids: tuple[int, ...]  # the new flags, oldest first


@dataclass(frozen=True, slots=True)
class Digest:
    id: str  # "<group id>-<newest flag id>": the same digest sent again has the same id
    locale: str
    subject: str
    text: str
    queue_url: str
    flag_urls: tuple[str, ...]
    figures: Figures


def translations(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [locale], domain="messages")


def compose(figures: Figures, *, digest_id: str, locale: str, web_url: str) -> Digest:
    """The digest's subject, text and links in ``locale`` (ko or en)."""
    if not web_url:
        raise DigestConfigError(
            "REPOSTWATCH_WEB_URL is not set: set it to the web app's address as staff open it, "
            "e.g. https://repostwatch.centre.example (a digest holds links, nothing else)"
        )
    base = web_url.rstrip("/")
    queue_url = f"{base}/"
    flag_urls = tuple(f"{base}/flags/{flag_id}" for flag_id in figures.flag_ids[:MAX_LINKS])
    t = translations(locale)
    subject = t.ngettext(
        "RepostWatch: %(num)d new flag", "RepostWatch: %(num)d new flags", figures.new
    ) % {"num": figures.new}
    lines = [
        t.ngettext(
            "%(num)d new flag since the last digest; %(waiting)d of them still waiting for a "
            "decision.",
            "%(num)d new flags since the last digest; %(waiting)d of them still waiting for a "
            "decision.",
            figures.new,
        )
        % {"num": figures.new, "waiting": figures.new_waiting},
        t.ngettext(
            "The queue holds %(num)d flag waiting for a decision:",
            "The queue holds %(num)d flags waiting for a decision:",
            figures.queue_waiting,
        )
        % {"num": figures.queue_waiting},
        queue_url,
        "",
        t.gettext("New flags:"),
        *flag_urls,
    ]
    more = figures.new - len(flag_urls)
    if more > 0:
        lines.append(t.gettext("... and %(num)d more in the queue.") % {"num": more})
    lines += [
        "",
        t.gettext(
            "This digest holds only counts and links. Media, cases and pages are shown only in "
            "RepostWatch, to signed-in staff."
        ),
    ]
    return Digest(
        digest_id, locale, subject, "\n".join(lines) + "\n", queue_url, flag_urls, figures
    )


def payload(digest: Digest) -> dict[str, object]:
    """The JSON a webhook gets."""
    return {
        "kind": "repostwatch.digest",
        "digest": digest.id,
        "locale": digest.locale,
        "new_flags": digest.figures.new,
        "new_waiting": digest.figures.new_waiting,
        "queue_waiting": digest.figures.queue_waiting,
        "queue_url": digest.queue_url,
        "flag_urls": list(digest.flag_urls),
        "text": digest.text,
    }


def email_message(digest: Digest, recipients: list[str], sender: str) -> EmailMessage:
    """Plain text, no attachment, no HTML (nothing to load from elsewhere)."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].partition("@")[2] or None)
    message["X-RepostWatch-Digest"] = digest.id
    message.set_content(digest.text)
    message["Content-Language"] = digest.locale  # after: set_content drops Content-* headers
    return message


class _NoRedirects(HTTPRedirectHandler):
    """A redirect could lead off the allowed hosts: it fails the delivery instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def check_webhook(url: str, allowed: frozenset[str]) -> None:
    """Raises :class:`DigestConfigError` unless ``url``'s host is allowed and the URL is HTTPS
    (or plain HTTP to this machine)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in allowed:
        raise DigestConfigError(
            f"webhook host {host or '(none)'!r} is not in REPOSTWATCH_DIGEST_WEBHOOK_HOSTS: add "
            "it there if digests may go to it"
        )
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _loopback(host):
        return
    raise DigestConfigError(f"webhook {host!r}: use https:// (plain http:// only to this machine)")


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_webhook(url: str, digest: Digest, settings: DigestSettings) -> None:
    check_webhook(url, settings.webhook_hosts)
    body = json.dumps(payload(digest), ensure_ascii=False).encode()
    request = Request(
        url,
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with build_opener(_NoRedirects).open(request, timeout=settings.timeout) as response:
        response.read(65536)
        if not 200 <= response.status < 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def send_email(recipients: list[str], digest: Digest, settings: DigestSettings) -> None:
    if settings.smtp is None:
        raise DigestConfigError(
            "REPOSTWATCH_SMTP_URL is not set: e-mail digests go through the notices' mail server"
        )
    deliver(email_message(digest, recipients, check_sender(settings.sender)), settings.smtp)


#: What a failed delivery can raise (the digest is tried again later).
DELIVERY_ERRORS = (OSError, smtplib.SMTPException, http.client.HTTPException, ValueError)


@dataclass
class Sent:
    """What happened to one group's digest in a round."""

    group: str
    flags: int = 0  # flags the delivered digest counted (0: nothing new, nothing sent)
    error: str | None = None
    busy: bool = False  # another process was sending it


def send_due(
    sessions: sessionmaker[Session],
    settings: DigestSettings,
    *,
    by: str,
    now: Callable[[], datetime] = utcnow,
    only: str | None = None,
) -> list[Sent]:
    """Send the digest of every due group with new flags (``only``: of that group), each in its
    own transaction. ``by`` is who the audit log names."""
    with sessions.begin() as session:
        due = db_digests.due_subscriptions(session, now())
    results = []
    for subscription in due:
        if only is not None and subscription.name != only:
            continue
        results.append(_send_one(sessions, settings, subscription.id, subscription.name, by, now))
    return results


def _send_one(
    sessions: sessionmaker[Session],
    settings: DigestSettings,
    subscription_id: int,
    name: str,
    by: str,
    now: Callable[[], datetime],
) -> Sent:
    with sessions.begin() as session:
        subscription = db_digests.lock_subscription(session, subscription_id)
        at = now()
        if subscription is None:
            return Sent(name, busy=True)
        if not subscription.is_due(at):
            return Sent(name)
        flags = db_digests.new_flags(session, subscription)
        if not flags:
            return Sent(name)
        flag_ids = [flag_id for flag_id, _ in flags]
        figures = Figures(
            new=len(flags),
            new_waiting=sum(1 for _, status in flags if status == "pending"),
            queue_waiting=db_digests.pending_count(session),
            flag_ids=tuple(flag_ids),
        )
        locale = subscription.locale or settings.default_locale
        if locale not in STAFF_LOCALES:
            locale = STAFF_LOCALES[0]
        try:
            digest = compose(
                figures,
                digest_id=f"{subscription.id}-{flag_ids[-1]}",
                locale=locale,
                web_url=settings.web_url,
            )
            if subscription.channel == "email":
                send_email(subscription.recipients, digest, settings)
            else:
                post_webhook(subscription.target, digest, settings)
        except DELIVERY_ERRORS as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            logger.warning("Digest of group %s not sent (tried again later): %s", name, error)
            db_digests.record_failure(session, subscription.id, error, now=at)
            return Sent(name, error=error)
        db_digests.record_delivered(session, subscription.id, flag_ids, now=at)
        audit.record(
            session,
            "digest_send",
            username=by,
            target_type="digest",
            target_id=subscription.id,
            details={"group": name, "channel": subscription.channel, "flags": len(flag_ids)},
        )
        logger.info("Digest of group %s sent: %d new flag(s)", name, len(flag_ids))
        return Sent(name, flags=len(flag_ids))
