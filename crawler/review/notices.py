"""Takedown notices in the web app: list, read, draft, approve, send, export, remind.

A thin layer over ``crawler.takedown`` (the same library `repostwatch notices` uses): the rules
live there, and the database refuses to record a sending nobody approved. Everyone on staff can
read notices; drafting, approving, sending, exporting and reminding need the approver role.
Every action and export is a line of the audit log, written in the transaction of the change.
Screenshots are evidence pages with the flagged media blurred; they are served only to
logged-in staff and never cached.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.orm import Session

from crawler.db import notices as db_notices
from crawler.db import runs as db_runs
from crawler.db import screenshots as db_screenshots
from crawler.db.models import NOTICE_STATUSES, utcnow
from crawler.db.sites import DatabaseSites
from crawler.review import web
from crawler.review.i18n import problem as say_problem
from crawler.review.i18n import refusal, site_error
from crawler.review.screenshot_runner import ScreenshotRunner
from crawler.sites import SiteConfig, SiteConfigError, load_sites

bp = Blueprint("notices", __name__, url_prefix="/notices")
NAV = [("notices.index", _l("Notices"), "reviewer")]
EXPORT_TYPES = {
    "eml": "message/rfc822",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


# --- settings and site files -----------------------------------------------------------------
def _sites() -> tuple[dict[str, SiteConfig], list[str]]:
    """Every valid site by name (the database's, or the site files'), and a line per site that
    could not be used."""
    source = web.site_source()
    if not source.sites_dir and source.site_texts() is None:
        return {}, [_("REPOSTWATCH_SITES_DIR is not set: no site file gives a language or contact")]
    try:
        loaded = load_sites(source)
    except SiteConfigError as exc:
        return {}, [site_error(exc)]
    problems = [
        _(
            "%(file)s skipped: %(problem)s",
            file=Path(f.origin).name,
            problem=say_problem(f.error.problems[0]),
        )
        for f in loaded.invalid
    ]
    return loaded.sites, problems


def _sites_of(source: DatabaseSites) -> dict[str, SiteConfig]:
    """The valid sites of ``source`` (none when it has neither stored sites nor a directory)."""
    if not source.sites_dir and source.site_texts() is None:
        return {}
    return load_sites(source).sites


def _sender() -> str:
    return current_app.config["REPOSTWATCH_NOTICE_FROM"]


def _resend_after() -> timedelta:
    return timedelta(hours=current_app.config["REPOSTWATCH_NOTICE_RESEND_HOURS"])


def _notice_or_404(db: Session, notice_id: int) -> db_notices.NoticeView:
    try:
        return db_notices.get_notice(db, notice_id)
    except db_notices.NoticeNotFound:
        abort(404, _("There is no notice %(id)s.", id=notice_id))


# --- pages -----------------------------------------------------------------------------------
@bp.route("/")
@web.requires("reviewer")
def index():
    status = request.args.get("status") or None
    status = status if status in NOTICE_STATUSES else None
    site = request.args.get("site", "").strip() or None
    with web.transaction() as db:
        found = db_notices.list_notices(db, status=status, site=site)
        waiting = db_notices.unnoticed_flags(db)
        due = db_notices.resend_due(db, utcnow())
        site_names = db_runs.site_names(db)
    return render_template(
        "notices.html",
        notices=found,
        status=status,
        site=site,
        statuses=NOTICE_STATUSES,
        site_names=site_names,
        waiting=waiting,
        due=due,
    )


@bp.route("/<int:notice_id>")
@web.requires("reviewer")
def show(notice_id: int):
    from crawler.takedown.render import PREVIEW_SENDER, render_notice

    with web.transaction() as db:
        notice = _notice_or_404(db, notice_id)
        shots = db_notices.screenshots(db, notice_id)
        web.log(db, "view_notice", target_type="notice", target_id=notice_id)
    rendered = render_notice(notice, sender=_sender() or PREVIEW_SENDER, screenshots=shots)
    return render_template(
        "notice.html",
        notice=notice,
        rendered=rendered,
        export_formats=tuple(EXPORT_TYPES),
        smtp_configured=bool(current_app.config["REPOSTWATCH_SMTP_URL"]),
    )


@bp.route("/<int:notice_id>/items/<int:item_id>/screenshot.png")
@web.requires("reviewer")
def screenshot(notice_id: int, item_id: int):
    with web.transaction() as db:
        png = db_notices.screenshot_png(db, notice_id, item_id)
        if png is None:
            abort(
                404,
                _("Notice %(id)s has no screenshot for item %(item)s.", id=notice_id, item=item_id),
            )
        web.log(
            db,
            "view_screenshot",
            target_type="notice",
            target_id=notice_id,
            details={"item": item_id},
        )
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store, private"
    return response


# --- actions (approvers) ---------------------------------------------------------------------
def _runner() -> ScreenshotRunner:
    """The app's screenshot runner (created at first use, with the app's settings)."""
    runner = current_app.extensions.get("repostwatch_screenshots")
    if runner is None:
        source = web.site_source()
        runner = current_app.extensions.setdefault(
            "repostwatch_screenshots",
            ScreenshotRunner(
                web.state().sessions,
                lambda: _sites_of(source),
                current_app.config["REPOSTWATCH_CHROMIUM"],
            ),
        )
    return runner


def _queue(db: Session, notice_ids: list[int], *, retake: bool) -> str:
    """Queue the screenshots of ``notice_ids`` for the runner: Chromium never runs in a request."""
    pending = sum(db_screenshots.request_screenshots(db, n, retake=retake) for n in notice_ids)
    if not pending:
        return _("No screenshot is missing (an approved or sent notice keeps its screenshots).")
    return ngettext(
        "%(num)d screenshot queued: it is taken in the background, every medium of the page "
        "grey and blurred; reload the notice to see it.",
        "%(num)d screenshots queued: they are taken in the background, every medium of the "
        "page grey and blurred; reload the notice to see them.",
        pending,
    )


@bp.route("/draft", methods=["POST"])
@web.requires("approver")
def draft():
    from crawler.takedown.drafting import draft_notices

    sites, problems = _sites()
    for problem in problems:
        flash(problem, "error")
    site = request.form.get("site", "").strip() or None
    shots = _("No screenshots taken yet: take them from each notice.")
    with web.transaction() as db:
        result = draft_notices(db, sites, site=site)
        touched = result.created + result.extended
        for notice_id in touched:
            web.log(
                db,
                "notice_draft",
                target_type="notice",
                target_id=notice_id,
                details={"extended": notice_id in result.extended},
            )
        if touched and request.form.get("screenshots") == "1":
            shots = _queue(db, touched, retake=False)
    if touched and request.form.get("screenshots") == "1":
        _runner().wake()
    for name, reason in sorted(result.skipped.items()):
        flash(_("%(site)s: not drafted: %(reason)s", site=name, reason=reason), "error")
    if not touched:
        flash(_("No confirmed flags waiting for a notice."), "info")
        return redirect(url_for("notices.index"))
    flash(
        _(
            "Drafted %(created)s notice(s), added flags to %(extended)s waiting draft(s). "
            "%(screenshots)s",
            created=len(result.created),
            extended=len(result.extended),
            screenshots=shots,
        ),
        "info",
    )
    if len(touched) == 1:
        return redirect(url_for("notices.show", notice_id=touched[0]))
    return redirect(url_for("notices.index", status="draft"))


@bp.route("/<int:notice_id>/screenshots", methods=["POST"])
@web.requires("approver")
def screenshots(notice_id: int):
    _, problems = _sites()
    for problem in problems:
        flash(problem, "error")
    retake = request.form.get("retake") == "1"
    with web.transaction() as db:
        _notice_or_404(db, notice_id)
        web.log(
            db,
            "notice_screenshots",
            target_type="notice",
            target_id=notice_id,
            details={"retake": retake},
        )
        message = _queue(db, [notice_id], retake=retake)
    _runner().wake()
    flash(message, "info")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<int:notice_id>/approve", methods=["POST"])
@web.requires("approver")
def approve(notice_id: int):
    try:
        with web.transaction() as db:
            _notice_or_404(db, notice_id)
            notice = db_notices.approve_notice(db, notice_id, by=web.me().username)
            web.log(
                db,
                "notice_approve",
                target_type="notice",
                target_id=notice_id,
                details={"approved_by": notice.approved_by},
            )
    except db_notices.NoticeStateError as exc:
        flash(refusal(exc), "error")
    else:
        flash(
            _("Notice %(id)s approved by %(name)s.", id=notice_id, name=notice.approved_by), "info"
        )
    return redirect(url_for("notices.show", notice_id=notice_id))


def _smtp():
    from crawler.takedown.sending import check_sender, parse_smtp_url

    config = current_app.config
    smtp = parse_smtp_url(
        config["REPOSTWATCH_SMTP_URL"], ca_file=config["REPOSTWATCH_SMTP_CA_FILE"]
    )
    return smtp, check_sender(_sender())


@bp.route("/<int:notice_id>/send", methods=["POST"])
@web.requires("approver")
def send(notice_id: int):
    from crawler.takedown.sending import SmtpConfigError, send_notice

    try:
        smtp, sender = _smtp()
        with web.transaction() as db:
            _notice_or_404(db, notice_id)
            notice = send_notice(
                db, notice_id, smtp=smtp, sender=sender, resend_after=_resend_after()
            )
            web.log(
                db,
                "notice_send",
                target_type="notice",
                target_id=notice_id,
                details={"to": notice.recipient, "n": notice.send_count},
            )
    except (SmtpConfigError, db_notices.NoticeStateError) as exc:
        flash(refusal(exc), "error")
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        flash(
            _(
                "The mail server did not take notice %(id)s (%(error)s); nothing was "
                "recorded, try again.",
                id=notice_id,
                error=error,
            ),
            "error",
        )
    else:
        flash(
            _(
                "Notice %(id)s sent to %(to)s (%(count)s time(s)).",
                id=notice_id,
                to=notice.recipient,
                count=notice.send_count,
            ),
            "info",
        )
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<int:notice_id>/export", methods=["POST"])
@web.requires("approver")
def export(notice_id: int):
    from crawler.takedown.exports import export_notice

    fmt = request.form.get("format", "")
    if fmt not in EXPORT_TYPES:
        abort(400, _("The format must be one of %(formats)s.", formats=", ".join(EXPORT_TYPES)))
    try:
        with web.transaction() as db:
            _notice_or_404(db, notice_id)
            data = export_notice(
                db,
                notice_id,
                fmt,
                sender=_sender(),
                chromium=current_app.config["REPOSTWATCH_CHROMIUM"],
            )
            web.log(
                db,
                "notice_export",
                target_type="notice",
                target_id=notice_id,
                details={"format": fmt, "bytes": len(data)},
            )
    except db_notices.NoticeStateError as exc:
        flash(refusal(exc), "error")
        return redirect(url_for("notices.show", notice_id=notice_id))
    response = Response(data, mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="notice-{notice_id}.{fmt}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/resend-due", methods=["POST"])
@web.requires("approver")
def resend_due():
    from crawler.takedown.sending import SmtpConfigError, send_due

    try:
        smtp, sender = _smtp()
    except SmtpConfigError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.index"))
    results = send_due(web.state().sessions, smtp=smtp, sender=sender, resend_after=_resend_after())
    with web.transaction() as db:
        for result in results:
            web.log(
                db,
                "notice_resend",
                target_type="notice",
                target_id=result.notice_id,
                details={"error": result.error} if result.error else {},
            )
    failed = [r for r in results if r.error]
    for result in failed:
        flash(_("Notice %(id)s: %(error)s", id=result.notice_id, error=result.error), "error")
    flash(
        _(
            "Sent %(sent)s due reminder(s); %(failed)s failed.",
            sent=len(results) - len(failed),
            failed=len(failed),
        ),
        "info",
    )
    return redirect(url_for("notices.index"))
