"""Victims' cases in the web app: the list, a case page, the victim's report, closing a case.

Support staff (approvers and admins) follow a case here: its references (counts and hashes, never
media), search keywords, flags by state, notices, removals and median time-to-removal. The report
to hand to the victim is HTML or PDF with no media, no media or page URLs, no hashes and no
keywords: only counts, states, sites and dates (see ``case_report.html``). Closing a case is an
admin's deliberate act: the case name must be typed again, and the audit log records it.
"""

from __future__ import annotations

from datetime import timedelta

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
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crawler.db import cases as db_cases
from crawler.db.models import FLAG_STATUSES, utcnow
from crawler.references.announcements import announce_change
from crawler.review import web
from crawler.review.i18n import refusal

bp = Blueprint("cases", __name__, url_prefix="/cases")
NAV = [("cases.index", _l("Cases"), "approver")]
REPORT_FORMATS = ("html", "pdf")


def hours(delta: timedelta | None) -> str:
    """A duration in hours with one decimal, as `repostwatch notices removals` prints it."""
    return "-" if delta is None else f"{delta.total_seconds() / 3600:.1f}"


def hours_local(delta: timedelta | None) -> str:
    """:func:`hours` with the user's locale's decimal sign and grouping."""
    if delta is None:
        return "-"
    return format_decimal(round(delta.total_seconds() / 3600, 1), format="#,##0.0")


@bp.app_template_filter("hours")
def _hours_filter(delta: timedelta | None) -> str:
    return hours_local(delta)


@bp.route("/")
@web.requires("approver")
def index():
    with web.transaction() as db:
        found = db_cases.list_cases(db)
    return render_template("cases.html", cases=found, statuses=FLAG_STATUSES)


def _detail(case: str) -> db_cases.CaseDetail:
    try:
        with web.transaction() as db:
            return db_cases.get_case(db, case)
    except db_cases.CaseNotFound as exc:
        abort(404, refusal(exc))


@bp.route("/<case>")
@web.requires("approver")
def page(case: str):
    detail = _detail(case)
    with web.transaction() as db:
        web.log(db, "view_case", target_type="case", target_id=detail.summary.id)
    return render_template("case.html", case=detail, statuses=FLAG_STATUSES)


def render_report(detail: db_cases.CaseDetail) -> str:
    """The victim's report as a self-contained HTML page (inline CSS, no images, no links)."""
    return render_template(
        "case_report.html", case=detail, statuses=FLAG_STATUSES, generated_at=utcnow()
    )


@bp.route("/<case>/report.<fmt>")
@web.requires("approver")
def report(case: str, fmt: str):
    if fmt not in REPORT_FORMATS:
        abort(404, _("Reports are HTML or PDF."))
    detail = _detail(case)
    html = render_report(detail)
    if fmt == "pdf":
        from crawler.takedown.exports import html_to_pdf

        try:
            body: bytes | str = html_to_pdf(
                html, chromium=current_app.config["REPOSTWATCH_CHROMIUM"]
            )
        except Exception as exc:  # Chromium missing or crashed: say so, nothing half-made
            abort(
                503,
                _(
                    "The PDF could not be printed in Chromium (%(error)s); export HTML instead.",
                    error=exc,
                ),
            )
        mimetype = "application/pdf"
    else:
        body, mimetype = html, "text/html"
    with web.transaction() as db:
        web.log(
            db,
            "case_report",
            target_type="case",
            target_id=detail.summary.id,
            details={"format": fmt},
        )
    filename = f"case-report-{detail.summary.id}.{fmt}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/<case>/close", methods=["POST"])
@web.requires("admin")
def close(case: str):
    if request.form.get("confirm", "").strip() != case:
        flash(_("Type the case name to confirm closing it; nothing was changed."), "error")
        return redirect(url_for("cases.page", case=case))
    try:
        with web.transaction() as db:
            closed = db_cases.close_case(db, case, by=web.me().username)
            web.log(
                db,
                "case_close",
                target_type="case",
                target_id=closed.case_id,
                details={
                    "case": closed.case,
                    "evidence_deleted": closed.evidence_deleted,
                    "references_withdrawn": closed.references_withdrawn,
                    "keywords_withdrawn": closed.keywords_withdrawn,
                    "thumbnails_deleted": closed.thumbnails_deleted,
                },
            )
    except db_cases.CaseNotFound as exc:
        abort(404, refusal(exc))
    except db_cases.CaseClosed as exc:
        flash(refusal(exc), "error")
    else:
        # Committed: running crawls stop matching its references at once (with Redis).
        announce_change(current_app.config["REPOSTWATCH_REDIS_URL"])
        flash(
            _(
                "Closed %(case)s: deleted %(evidence)s evidence item(s), withdrew "
                "%(references)s reference hash(es) and %(keywords)s keyword(s).",
                case=case,
                evidence=closed.evidence_deleted,
                references=closed.references_withdrawn,
                keywords=closed.keywords_withdrawn,
            ),
            "info",
        )
    return redirect(url_for("cases.page", case=case))
