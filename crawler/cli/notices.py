"""`repostwatch notices`: takedown notices, from draft to sent, and the removals they led to."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    audit_cli,
    database_sessions,
    load_settings,
    login_name,
    notice_mail,
    open_session,
    plain,
    staff_account,
    table,
    valid_sites,
    when,
)
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import N_, _, problem, refusal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crawler.cli.common import ProjectSettings
    from crawler.db.users import UserView
    from crawler.takedown.screenshots import Shot


def _sender(settings: ProjectSettings, *, unset: str) -> str:
    """REPOSTWATCH_NOTICE_FROM, or what stands in for it while it is unset (``unset``: the
    takedown library's preview placeholder or export signature), not a default of the setting."""
    configured = settings.get("REPOSTWATCH_NOTICE_FROM")
    return configured if configured else unset


def _shot(shot: Shot) -> str:
    """How a screenshot went, for the progress lines."""
    return shot.error or _("%(num)d element(s) blurred") % {"num": shot.blurred}


def _library_errors() -> tuple[type[Exception], ...]:
    from crawler import db
    from crawler.takedown.sending import SmtpConfigError

    return (db.NoticeNotFound, db.NoticeStateError, SmtpConfigError, ValueError)


def _audit(
    session: Session, action: str, notice_id: int, *, by: UserView | None = None, **details: object
) -> None:
    """The review app's audit log sees notice actions taken on the command line."""
    audit_cli(session, action, target_type="notice", target_id=notice_id, by=by, **details)


@click.group(cls=TranslatedGroup)
def notices() -> None:
    """Takedown notices: draft from confirmed flags, approve, send or export, re-send."""


@notices.command("draft")
@click.option("--site", help="Only this site's confirmed flags.")
@click.option(
    "--screenshots/--no-screenshots",
    default=True,
    show_default=True,
    help="Photograph every flagged page in Chromium, with the flagged media blurred.",
)
def notices_draft(site: str | None, screenshots: bool) -> None:
    """Group confirmed flags that are in no notice yet into draft notices, per site (or per
    host: group_by in the site file's [takedown] table), in the site's language.

    \b
    Example:
      repostwatch notices draft
      repostwatch notices draft --site board --no-screenshots
    """
    from crawler.takedown.drafting import capture, draft_notices

    configs = valid_sites()
    with open_session() as session:
        result = draft_notices(session, configs, site=site)
        for notice_id in result.created + result.extended:
            _audit(session, "notice_draft", notice_id)
    for name, reason in sorted(result.skipped.items()):
        click.echo(
            _("%(site)s: not drafted: %(reason)s") % {"site": name, "reason": problem(reason)},
            err=True,
        )
    if result.extended:
        joined = ", ".join(map(str, result.extended))
        click.echo(
            _("Added flags to %(num)d waiting draft(s): %(ids)s.")
            % {"num": len(result.extended), "ids": joined}
        )
    if not result.created and not result.extended:
        click.echo(_("No confirmed flags waiting for a notice."))
        return
    if result.created:
        created = ", ".join(map(str, result.created))
        click.echo(
            _("Drafted %(num)d notice(s): %(ids)s.") % {"num": len(result.created), "ids": created}
        )
    if not screenshots:
        return
    chromium = load_settings().get("REPOSTWATCH_CHROMIUM")
    with database_sessions() as sessions:
        for notice_id in result.created + result.extended:

            def progress(shot: Shot, notice_id: int = notice_id) -> None:
                click.echo(
                    "  "
                    + _("notice %(notice)d item %(item)s: screenshot (%(state)s)")
                    % {"notice": notice_id, "item": shot.key, "state": _shot(shot)}
                )

            try:
                capture(sessions, notice_id, configs, chromium=chromium, progress=progress)
            except RuntimeError as exc:
                raise click.ClickException(
                    _("%(problem)s; the drafts are saved without them") % {"problem": refusal(exc)}
                ) from exc


@notices.command("screenshots")
@click.argument("notice_id", metavar="ID", type=int)
@click.option(
    "--retake",
    is_flag=True,
    help="Take every item's screenshot again (drafts only: an approved or sent notice keeps the "
    "screenshots it was approved with).",
)
def notices_screenshots(notice_id: int, retake: bool) -> None:
    """Take the screenshots a notice is missing (drafted with --no-screenshots, or a page that
    could not be opened then), in Chromium, with every medium of the page grey and blurred.
    Exits with status 1 when any could not be taken (the reason is printed per item).

    \b
    Example:
      repostwatch notices screenshots 3
      repostwatch notices screenshots 3 --retake
    """
    from crawler import db
    from crawler.takedown.drafting import capture

    configs = valid_sites()
    chromium = load_settings().get("REPOSTWATCH_CHROMIUM")

    def progress(shot: Shot) -> None:
        click.echo(
            "  "
            + _("item %(item)s: screenshot (%(state)s)") % {"item": shot.key, "state": _shot(shot)}
        )

    try:
        with database_sessions() as sessions:
            shots = capture(
                sessions, notice_id, configs, chromium=chromium, retake=retake, progress=progress
            )
    except (db.NoticeNotFound, RuntimeError) as exc:
        raise click.ClickException(refusal(exc)) from exc
    taken = sum(1 for shot in shots if shot.png and shot.error is None)
    with open_session() as session:
        status = db.get_notice(session, notice_id).status
        _audit(
            session,
            "notice_screenshots",
            notice_id,
            retake=retake,
            taken=taken,
            failed=len(shots) - taken,
        )
    if retake and status != "draft":
        click.echo(
            _(
                "Notice %(notice)d is %(status)s: its screenshots were not retaken (only drafts' "
                "are); missing ones were taken."
            )
            % {"notice": notice_id, "status": _(status)}
        )
    failed = len(shots) - taken
    click.echo(
        _("Took %(num)d screenshot(s) for notice %(notice)d; %(failed)d failed.")
        % {"num": taken, "notice": notice_id, "failed": failed}
    )
    if failed:
        raise SystemExit(1)


@notices.command("list")
@click.option(
    "--status",
    type=click.Choice(["draft", "approved", "sent", "resolved"]),
    help="Only notices in this state.",
)
@click.option("--site", help="Only this site's notices.")
@click.option("--case", "case", help="Only notices holding flags of this case.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def notices_list(status: str | None, site: str | None, case: str | None, as_json: bool) -> None:
    """List notices, newest first, with how many of their items were removed.

    \b
    Example:
      repostwatch notices list --status sent
    """
    from crawler import db

    with open_session() as session:
        found = db.list_notices(session, status=status, site=site, case=case)
    if as_json:
        click.echo(json.dumps(plain(found), indent=1, ensure_ascii=False))
        return
    if not found:
        click.echo(_("No notices."))
        return
    rows = [
        (
            n.id,
            n.status,
            n.host or n.site,
            n.language,
            n.recipient or "(export only)",
            f"{n.removed}/{len(n.items)}",
            n.send_count,
            when(n.last_sent_at, unset="", zone=False),
            when(n.next_send_at, unset="", zone=False),
        )
        for n in found
    ]
    headers = ("ID", "STATUS", "SITE", "LANG", "TO", "REMOVED", "SENT", "LAST SENT", "NEXT")
    click.echo(table(headers, rows))


@notices.command("show")
@click.argument("notice_id", metavar="ID", type=int)
def notices_show(notice_id: int) -> None:
    """Show a notice as it will be sent (its state, subject and text), for review.

    \b
    Example:
      repostwatch notices show 3
    """
    from crawler import db
    from crawler.takedown.render import PREVIEW_SENDER, render_notice

    sender = _sender(load_settings(), unset=PREVIEW_SENDER)
    try:
        with open_session() as session:
            notice = db.get_notice(session, notice_id)
            shots = db.notices.screenshots(session, notice_id)
    except db.NoticeNotFound as exc:
        raise click.ClickException(refusal(exc)) from exc
    rendered = render_notice(notice, sender=sender, screenshots=shots)
    said = {
        "notice": notice.id,
        "status": _(notice.status),
        "by": notice.approved_by,
        "at": when(notice.approved_at, unset="", zone=False),
    }
    if notice.approved_by:
        click.echo(_("Notice %(notice)d: %(status)s by %(by)s at %(at)s") % said)
    else:
        click.echo(_("Notice %(notice)d: %(status)s") % said)
    recipient = notice.recipient or _("(no abuse_contact: export it)")
    click.echo(_("To: %(to)s") % {"to": recipient})
    click.echo(
        _("Sent: %(num)d time(s); next: %(next)s")
        % {"num": notice.send_count, "next": when(notice.next_send_at, zone=False)}
    )
    click.echo(
        _("Removed: %(removed)d of %(num)d item(s)")
        % {"removed": notice.removed, "num": len(notice.items)}
    )
    missing = [i for i in notice.items if not i.has_screenshot]
    if missing:
        click.echo(_("Screenshots missing for %(num)d item(s).") % {"num": len(missing)})
    click.echo(_("Subject: %(subject)s") % {"subject": rendered.subject} + "\n")
    click.echo(rendered.text)


@notices.command("approve")
@click.argument("notice_id", metavar="ID", type=int)
@click.option(
    "--by",
    "by",
    default=login_name,
    help="Your approver account, enabled (default: your login name).",
)
def notices_approve(notice_id: int, by: str) -> None:
    """Approve a draft notice after reading it (`notices show`); only approved notices are
    sent or exported. --by names an enabled approver account, not one that confirmed any of
    the notice's flags (a second person checks them).

    \b
    Example:
      repostwatch notices approve 3 --by park.approver
    """
    from crawler import db

    try:
        with open_session() as session:
            account = staff_account(session, by, role="approver", acting=N_("approves notices"))
            notice = db.approve_notice(session, notice_id, by=account.username)
            _audit(session, "notice_approve", notice_id, by=account, approved_by=notice.approved_by)
    except _library_errors() as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Notice %(notice)d approved by %(by)s.") % {"notice": notice.id, "by": notice.approved_by}
    )


@notices.command("send")
@click.argument("notice_id", metavar="ID", type=int)
def notices_send(notice_id: int) -> None:
    """E-mail an approved notice to the site's abuse contact, screenshots attached
    (REPOSTWATCH_SMTP_URL, REPOSTWATCH_NOTICE_FROM). A draft is refused.

    \b
    Example:
      REPOSTWATCH_SMTP_URL=smtp://user:pass@mail.example:587?starttls=1 \\
      REPOSTWATCH_NOTICE_FROM="Support Centre <takedown@centre.example>" \\
        repostwatch notices send 3
    """
    import smtplib

    from crawler.takedown.sending import send_notice

    smtp, sender, resend_after = notice_mail(load_settings())
    try:
        with open_session() as session:
            notice = send_notice(
                session, notice_id, smtp=smtp, sender=sender, resend_after=resend_after
            )
            _audit(session, "notice_send", notice_id, to=notice.recipient, n=notice.send_count)
    except _library_errors() as exc:
        raise click.ClickException(refusal(exc)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise click.ClickException(
            _(
                "the mail server %(server)s did not take notice %(notice)d (%(error)s); nothing "
                "was recorded, try again"
            )
            % {
                "server": f"{smtp.host}:{smtp.port}",
                "notice": notice_id,
                "error": f"{exc.__class__.__name__}: {exc}",
            }
        ) from exc
    click.echo(
        _(
            "Notice %(notice)d sent to %(to)s (%(num)d time(s)); next reminder %(next)s unless "
            "removed."
        )
        % {
            "notice": notice.id,
            "to": notice.recipient,
            "num": notice.send_count,
            "next": when(notice.next_send_at, unset="", zone=False),
        }
    )


@notices.command("export")
@click.argument("notice_id", metavar="ID", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["eml", "html", "pdf", "csv", "json"]),
    default="eml",
    show_default=True,
    help="eml (e-mail file), html, pdf, or csv/json for platforms with report forms.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.option(
    "--mark-sent",
    is_flag=True,
    help="Record that the export was submitted (e.g. through the site's web form): the notice "
    "counts as sent and is due again after REPOSTWATCH_NOTICE_RESEND_HOURS.",
)
def notices_export(notice_id: int, fmt: str, output: Path | None, mark_sent: bool) -> None:
    """Write an approved notice as a file, for sending by other means.

    \b
    Example:
      repostwatch notices export 3 --format pdf -o notice-3.pdf
      repostwatch notices export 3 --format csv -o notice-3.csv --mark-sent
    """
    from crawler import db
    from crawler.db.models import utcnow
    from crawler.takedown.exports import UNSIGNED_SENDER, export_notice

    settings = load_settings()
    sender = _sender(settings, unset=UNSIGNED_SENDER)
    hours = settings.getfloat("REPOSTWATCH_NOTICE_RESEND_HOURS")
    try:
        with open_session() as session:
            data = export_notice(
                session,
                notice_id,
                fmt,
                sender=sender,
                chromium=settings.get("REPOSTWATCH_CHROMIUM"),
            )
            if mark_sent:
                db.notices.record_sent(
                    session, notice_id, now=utcnow(), resend_after=timedelta(hours=hours)
                )
            _audit(session, "notice_export", notice_id, format=fmt, marked_sent=mark_sent)
    except _library_errors() as exc:
        raise click.ClickException(refusal(exc)) from exc
    if output is None:
        sys.stdout.buffer.write(data)
        return
    output.write_bytes(data)
    click.echo(
        _("Wrote notice %(notice)d to %(path)s (%(bytes)d bytes).")
        % {"notice": notice_id, "path": output, "bytes": len(data)},
        err=True,
    )


@notices.command("resend-due")
@click.option("--dry-run", is_flag=True, help="Only list the notices that are due.")
def notices_resend_due(dry_run: bool) -> None:
    """Send again every sent notice whose media is not all removed and whose interval
    (REPOSTWATCH_NOTICE_RESEND_HOURS, default 24) has passed. Run it from a scheduler.

    \b
    Example:
      repostwatch notices resend-due
    """
    from crawler import db
    from crawler.db.models import utcnow
    from crawler.takedown.sending import send_due

    if dry_run:
        with open_session() as session:
            due = db.resend_due(session, utcnow())
        click.echo(
            _("%(num)d notice(s) due: %(ids)s")
            % {"num": len(due), "ids": ", ".join(map(str, due)) or "-"}
        )
        return
    smtp, sender, resend_after = notice_mail(load_settings())
    with database_sessions() as sessions:
        results = send_due(sessions, smtp=smtp, sender=sender, resend_after=resend_after)
        with sessions.begin() as session:
            for result in results:  # as the web app's "Send due reminders" logs them
                if result.error:
                    _audit(session, "notice_resend", result.notice_id, error=result.error)
                    continue
                notice = db.get_notice(session, result.notice_id)
                _audit(
                    session,
                    "notice_resend",
                    result.notice_id,
                    to=notice.recipient,
                    n=notice.send_count,
                )
    failed = [r for r in results if r.error]
    for result in results:
        click.echo(
            _("notice %(notice)d: %(state)s")
            % {"notice": result.notice_id, "state": result.error or _("sent again")}
        )
    click.echo(
        _("Re-sent %(num)d notice(s); %(failed)d failed.")
        % {"num": len(results) - len(failed), "failed": len(failed)}
    )
    if failed:
        sys.exit(1)
