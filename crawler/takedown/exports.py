"""Export an approved notice for sending by other means: an .eml file, HTML, PDF, or CSV and
JSON for platforms that take reports through a web form.

The PDF is the HTML printed by Chromium (Playwright's ``page.pdf``) with the network shut off,
in the screenshot worker (no secrets in its environment): the HTML carries its screenshots
inline and needs nothing else.
"""

from __future__ import annotations

import base64
import csv
import io
import json

from sqlalchemy.orm import Session

from crawler.db import notices as db_notices
from crawler.takedown.render import (
    RenderedNotice,
    open_items,
    render_notice,
    screenshot_name,
    when,
)
from crawler.takedown.screenshots import run_worker
from crawler.takedown.sending import build_message

EXPORT_FORMATS = ("eml", "html", "pdf", "csv", "json")
#: Who signs an export when no sender is configured (REPOSTWATCH_NOTICE_FROM unset): an export
#: need not be e-mailed, so unlike sending it does not require one.
UNSIGNED_SENDER = "RepostWatch"
CSV_COLUMNS = (
    "notice",
    "site",
    "item",
    "page_url",
    "media_url",
    "first_seen",
    "last_seen",
    "sha256",
    "pdq",
    "screenshot",
)


def export_notice(
    session: Session,
    notice_id: int,
    fmt: str,
    *,
    sender: str,
    chromium: str,
) -> bytes:
    """The notice in ``fmt`` (one of EXPORT_FORMATS). Only an approved notice is exported:
    an export is how a notice reaches a site without e-mail. ``sender`` is
    REPOSTWATCH_NOTICE_FROM (empty: :data:`UNSIGNED_SENDER`); ``chromium``
    (REPOSTWATCH_CHROMIUM) prints the PDF."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    sender = sender or UNSIGNED_SENDER
    notice = db_notices.require_sendable(session, notice_id)
    if not notice.open_items:  # only a correction is owed: that goes by e-mail (notices send)
        raise db_notices.NoticeStateError(
            f"notice {notice_id} has no open items (every item was withdrawn or found removed); "
            "nothing to export"
        )
    rendered = render_notice(
        notice, sender=sender, screenshots=db_notices.screenshots(session, notice_id)
    )
    if fmt == "eml":
        return bytes(build_message(notice, rendered, sender=sender))
    if fmt == "html":
        return rendered.html.encode("utf-8")
    if fmt == "pdf":
        return html_to_pdf(rendered.html, chromium=chromium)
    if fmt == "csv":
        return _csv(notice, rendered).encode("utf-8")
    return json.dumps(_json(notice, rendered), ensure_ascii=False, indent=1).encode("utf-8")


def _rows(notice: db_notices.NoticeView, rendered: RenderedNotice) -> list[dict[str, object]]:
    rows = []
    for number, item in enumerate(open_items(notice), start=1):
        rows.append(
            {
                "notice": notice.id,
                "site": notice.host or notice.site,
                "item": number,
                "page_url": item.page_url,
                "media_url": item.media_url,
                "first_seen": item.first_seen.isoformat(),
                "last_seen": item.last_seen.isoformat(),
                "sha256": item.media_sha256,
                "pdq": item.media_pdq or "",
                "screenshot": screenshot_name(notice, number) if item.has_screenshot else "",
            }
        )
    return rows


def _csv(notice: db_notices.NoticeView, rendered: RenderedNotice) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_rows(notice, rendered))
    return out.getvalue()


def _json(notice: db_notices.NoticeView, rendered: RenderedNotice) -> dict[str, object]:
    return {
        "notice": notice.id,
        "site": notice.site,
        "host": notice.host,
        "language": notice.language,
        "recipient": notice.recipient,
        "status": notice.status,
        "approved_by": notice.approved_by,
        "approved_at": when(notice.approved_at),
        "subject": rendered.subject,
        "text": rendered.text,
        "items": _rows(notice, rendered),
    }


def html_to_pdf(html: str, *, chromium: str) -> bytes:
    """Print HTML to PDF in Chromium, offline (every network request is refused), in the
    screenshot worker: Chromium never runs in the process that holds the app's secrets."""
    for answer in run_worker({"chromium": chromium, "pdf_html": html}):
        if "pdf" in answer:
            return base64.b64decode(answer["pdf"])
    raise RuntimeError("the worker printed no PDF (see its errors above); try the export again")
