"""Takedown upkeep that runs with the scheduler: removal re-checks and notice reminders.

Every scheduler pass starts one round in a worker thread unless the previous round is still
going, so that slow sites or a slow SMTP server never delay the scheduling of crawls. A round:

1. re-checks the confirmed flags that were never checked, or last checked more than
   REPOSTWATCH_RECHECK_HOURS ago (crawler/takedown/recheck.py), at most
   REPOSTWATCH_RECHECK_BATCH of them, the longest unchecked first, within
   REPOSTWATCH_RECHECK_ROUND_SECONDS (what is left waits for the next pass). A flag becomes
   removed only when seen gone twice REPOSTWATCH_RECHECK_GONE_HOURS apart. A flag whose check
   could not tell (timeout, 5xx) is retried after the same interval, not on every pass, so that
   a few unreachable sites never starve the others.
2. when REPOSTWATCH_SMTP_URL is set, sends the notices whose re-sending is due
   (REPOSTWATCH_NOTICE_RESEND_HOURS), each audit-logged as `repostwatch notices send` does,
   also when the re-checks failed.
3. sends the digests of new flags that are due to reviewer groups (crawler/scheduling/digests.py),
   also when the steps before failed.

Every time comes from ``clock`` so that tests can move time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from crawler.db import audit
from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import utcnow
from crawler.scheduling import digests
from crawler.sites import SiteConfig, SiteConfigError, Sites, load_sites
from crawler.takedown.fetching import Fetcher
from crawler.takedown.recheck import recheck
from crawler.takedown.sending import SmtpConfig, send_due

logger = logging.getLogger("repostwatch.scheduler.upkeep")

#: Who the audit log names for what the scheduler does on its own.
AUDIT_USER = "(scheduler)"


@dataclass(frozen=True)
class Reminders:
    """How notice reminders are sent (REPOSTWATCH_SMTP_URL, REPOSTWATCH_NOTICE_FROM)."""

    smtp: SmtpConfig
    sender: str
    resend_after: timedelta


@dataclass
class UpkeepReport:
    """What one round did (also logged)."""

    at: datetime
    rechecks_due: int = 0
    checked: int = 0
    removed: list[int] = field(default_factory=list)  # flag ids now "removed"
    gone: list[int] = field(default_factory=list)  # seen gone, not yet long enough to remove
    present: list[int] = field(default_factory=list)
    unknown: dict[int, str] = field(default_factory=dict)  # flag id -> why it could not tell
    left: list[int] = field(default_factory=list)  # not checked in time: the next pass's
    resolved_notices: list[int] = field(default_factory=list)
    reminders_sent: list[int] = field(default_factory=list)  # notice ids
    reminders_failed: dict[int, str] = field(default_factory=dict)
    digests_sent: dict[str, int] = field(default_factory=dict)  # group -> flags counted
    digests_failed: dict[str, str] = field(default_factory=dict)  # group -> why
    problems: list[str] = field(default_factory=list)


class Upkeep:
    """Re-checks confirmed flags not checked for ``recheck_after`` (REPOSTWATCH_RECHECK_HOURS),
    at most ``recheck_batch`` a round (REPOSTWATCH_RECHECK_BATCH) within ``round_seconds``
    (REPOSTWATCH_RECHECK_ROUND_SECONDS), removing those seen gone ``gone_after`` apart
    (REPOSTWATCH_RECHECK_GONE_HOURS), sends due reminders when ``reminders`` says how, and
    the due digests of new flags when ``digest_settings`` says how."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sites: Sites,
        fetcher: Fetcher,
        *,
        recheck_after: timedelta,
        recheck_batch: int,
        gone_after: timedelta,
        round_seconds: float,
        reminders: Reminders | None = None,
        digest_settings: digests.DigestSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        if recheck_batch < 1:
            raise ValueError("REPOSTWATCH_RECHECK_BATCH must be at least 1")
        if round_seconds <= 0:
            raise ValueError("REPOSTWATCH_RECHECK_ROUND_SECONDS must be more than 0")
        self.sessions = sessions
        self.sites = sites
        self.fetcher = fetcher
        self.recheck_after = recheck_after
        self.recheck_batch = recheck_batch
        self.gone_after = gone_after
        self.round_seconds = round_seconds
        self.reminders = reminders
        self.digest_settings = digest_settings
        self.clock = clock
        self.last: UpkeepReport | None = None  # the newest round that ended
        self._thread: threading.Thread | None = None
        self._retry_at: dict[int, datetime] = {}  # flag id -> when an unknown check is retried

    # --- in the background ------------------------------------------------------------------
    def start(self) -> bool:
        """Start a round in a worker thread; False when the previous round is still going."""
        if self._thread is not None and self._thread.is_alive():
            logger.info("Upkeep round still going; not starting another")
            return False
        self._thread = threading.Thread(target=self._run_logged, name="repostwatch-upkeep")
        self._thread.daemon = True
        self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> UpkeepReport | None:
        """Wait for the round in progress (if any); the newest round's report."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.last

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # the database is down, ...: the next pass tries again
            logger.exception("Upkeep round failed; the next scheduler pass tries again")

    # --- one round --------------------------------------------------------------------------
    def run(self) -> UpkeepReport:
        """Re-check the due flags, then send the due reminders (in this thread)."""
        report = UpkeepReport(at=self.clock())
        try:
            self._recheck(report)
        except Exception as exc:  # the reminders are sent all the same
            logger.exception("Re-checks failed; sending the due reminders all the same")
            report.problems.append(f"re-checks failed: {exc.__class__.__name__}: {exc}")
        if self.reminders is not None:
            try:
                self._remind(report, self.reminders)
            except Exception as exc:  # the digests are sent all the same
                logger.exception("Reminders failed; sending the due digests all the same")
                report.problems.append(f"reminders failed: {exc.__class__.__name__}: {exc}")
        if self.digest_settings is not None:
            self._digests(report, self.digest_settings)
        self.last = report
        return report

    def due_rechecks(self, now: datetime | None = None) -> list[db_rechecks.CheckTarget]:
        """Confirmed flags due for a re-check at ``now`` (all of them, not one batch)."""
        now = now or self.clock()
        with self.sessions.begin() as session:
            targets = db_rechecks.check_targets(session, checked_before=now - self.recheck_after)
        return [t for t in targets if self._retry_at.get(t.flag_id, now) <= now]

    def _recheck(self, report: UpkeepReport) -> None:
        due = self.due_rechecks(report.at)
        report.rechecks_due = len(due)
        if not due:
            return
        batch = due[: self.recheck_batch]
        summary = recheck(
            self.sessions,
            self._sites(report),
            self.fetcher,
            gone_after=self.gone_after,
            round_seconds=self.round_seconds,
            now=self.clock,
            targets=batch,
        )
        report.checked = summary.checked
        report.removed = [r.flag_id for r in summary.removed]
        report.gone = [r.flag_id for r in summary.gone]
        report.left = [t.flag_id for t in summary.left]
        report.present = [r.flag_id for r in summary.present]
        report.unknown = {r.flag_id: r.error or "unknown" for r in summary.unknown}
        report.resolved_notices = list(summary.resolved_notices)
        for flag_id in report.removed + report.gone + report.present:
            self._retry_at.pop(flag_id, None)
        for flag_id, error in report.unknown.items():
            self._retry_at[flag_id] = report.at + self.recheck_after
            logger.warning("Re-check of flag %s could not tell: %s", flag_id, error)
        logger.info(
            "Re-checked %d of %d due flag(s): %d removed, %d seen gone (not yet removed), "
            "%d still there, %d unknown, %d not checked in time (next pass); "
            "%d notice(s) resolved",
            summary.checked,
            len(due),
            len(report.removed),
            len(report.gone),
            len(report.present),
            len(report.unknown),
            len(report.left),
            len(report.resolved_notices),
        )

    def _sites(self, report: UpkeepReport) -> Mapping[str, SiteConfig]:
        """Valid site files by name (their network rules apply to re-checks)."""
        try:
            loaded = load_sites(self.sites)
        except SiteConfigError as exc:
            report.problems.append(str(exc))
            return {}
        report.problems.extend(str(invalid.error) for invalid in loaded.invalid)
        return loaded.sites

    def _remind(self, report: UpkeepReport, reminders: Reminders) -> None:
        results = send_due(
            self.sessions,
            smtp=reminders.smtp,
            sender=reminders.sender,
            resend_after=reminders.resend_after,
            now=self.clock,
        )
        for result in results:
            if result.error:
                report.reminders_failed[result.notice_id] = result.error
                logger.warning("Reminder of notice %s not sent: %s", result.notice_id, result.error)
                continue
            report.reminders_sent.append(result.notice_id)
            with self.sessions.begin() as session:
                notice = db_notices.get_notice(session, result.notice_id)
                audit.record(
                    session,
                    "notice_send",
                    username=AUDIT_USER,
                    target_type="notice",
                    target_id=notice.id,
                    details={"to": notice.recipient, "n": notice.send_count, "via": "scheduler"},
                )
        if results:
            logger.info(
                "Sent %d notice reminder(s); %d failed",
                len(report.reminders_sent),
                len(report.reminders_failed),
            )

    def _digests(self, report: UpkeepReport, settings: digests.DigestSettings) -> None:
        for sent in digests.send_due(self.sessions, settings, by=AUDIT_USER, now=self.clock):
            if sent.error:
                report.digests_failed[sent.group] = sent.error
            elif sent.flags:
                report.digests_sent[sent.group] = sent.flags

    def reminders_due(self, now: datetime | None = None) -> list[int]:
        """Notices whose reminder is due at ``now``."""
        with self.sessions.begin() as session:
            return db_notices.resend_due(session, now or self.clock())
