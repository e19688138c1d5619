"""Alerts when a site's health changes, or a site seems to have moved to another domain: a JSON
POST to a webhook and/or an e-mail.

For health, the webhook gets ``{"site", "state", "reason", "run_id", "since", "text"}``; for a
domain move ``{"site", "move_id", "old_domain", "new_domain", "evidence", "text"}``; the e-mail
says the same in words. The SMTP server is REPOSTWATCH_SMTP_URL (shared with takedown notices):
``smtp://user:password@host:587?starttls=1``, ``smtps://user:password@host:465`` or
``smtp://host:25``, connected as notices are (crawler.takedown.sending.connect: certificates
checked, no password without TLS). A failed delivery is logged, not retried: the health change
itself is in the database and in ``repostwatch status``.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from crawler.takedown.sending import connect, parse_smtp_url

logger = logging.getLogger("repostwatch.alerts")


@dataclass(frozen=True, slots=True)
class HealthAlert:
    site: str
    state: str  # "healthy" (recovered) or "unhealthy"
    reason: str | None
    run_id: int
    since: str  # ISO 8601, UTC

    @property
    def text(self) -> str:
        if self.state == "unhealthy":
            return f"RepostWatch: site {self.site} is unhealthy: {self.reason}"
        return f"RepostWatch: site {self.site} is healthy again (crawl run {self.run_id})"

    @property
    def lines(self) -> list[str]:
        return [
            f"site:    {self.site}",
            f"state:   {self.state} since {self.since}",
            f"run:     {self.run_id}",
            f"reason:  {self.reason or '-'}",
            "",
            "`repostwatch status` shows every site's health.",
        ]


@dataclass(frozen=True, slots=True)
class MoveAlert:
    """A site seen at another domain (``crawler.db.domain_moves``), waiting for staff."""

    site: str
    move_id: int
    old_domain: str
    new_domain: str
    evidence: str

    @property
    def text(self) -> str:
        return (
            f"RepostWatch: site {self.site} may have moved from {self.old_domain} to "
            f"{self.new_domain}"
        )

    @property
    def lines(self) -> list[str]:
        return [
            f"site:     {self.site}",
            f"move:     {self.move_id}",
            f"evidence: {self.evidence}",
            "",
            f"Adopt it on the web app's Sites page or with `repostwatch sites adopt-move "
            f"{self.move_id}`; dismiss it with `repostwatch sites dismiss-move {self.move_id}`.",
        ]


#: What an Alerter sends.
Alert = HealthAlert | MoveAlert


def host_sender() -> str:
    """The From of alert mails while REPOSTWATCH_NOTICE_FROM is unset: this host's own address
    (known only at run time, so not a default of the setting)."""
    return f"RepostWatch <repostwatch@{socket.getfqdn()}>"


class Alerter:
    """Sends :class:`HealthAlert` and :class:`MoveAlert` to the configured channels (none
    configured: logs only)."""

    def __init__(
        self,
        *,
        webhook: str = "",
        email_to: str = "",
        smtp_url: str = "",
        smtp_ca_file: str = "",
        email_from: str = "",
        timeout: float = 10.0,
    ):
        if email_to and not smtp_url:
            raise ValueError(
                "REPOSTWATCH_ALERT_EMAIL is set but REPOSTWATCH_SMTP_URL is not: set the SMTP "
                "server, e.g. smtp://user:password@mail.example:587?starttls=1"
            )
        self.webhook = webhook
        self.email_to = [address.strip() for address in email_to.split(",") if address.strip()]
        self.smtp_url = smtp_url
        # Checked now: a URL that cannot be used (a password without TLS) stops the start.
        self.smtp = parse_smtp_url(smtp_url, ca_file=smtp_ca_file) if self.email_to else None
        self.email_from = email_from if email_from else host_sender()
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        logger.warning("%s", alert.text)
        if self.webhook:
            try:
                self._post(alert)
            except (URLError, OSError) as exc:
                logger.error("Alert webhook %s failed: %s", _safe(self.webhook), exc)
        if self.email_to:
            try:
                self._mail(alert)
            except (smtplib.SMTPException, OSError) as exc:
                logger.error("Alert e-mail through %s failed: %s", _safe(self.smtp_url), exc)

    def _post(self, alert: Alert) -> None:
        body = json.dumps({**asdict(alert), "text": alert.text}).encode()
        request = Request(
            self.webhook, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urlopen(request, timeout=self.timeout) as response:
            response.read()

    def _mail(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = alert.text
        message["From"] = self.email_from
        message["To"] = ", ".join(self.email_to)
        message.set_content("\n".join([alert.text, "", *alert.lines]))
        if self.smtp is None:
            return
        with connect(self.smtp) as smtp:
            smtp.send_message(message)


def _safe(url: str) -> str:
    """A URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
