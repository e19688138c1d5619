"""Render a notice's text in the site's language: Jinja2 templates in ``templates/``.

Each language has one file (``templates/<language>.j2``) holding all of its wording as macros;
the layouts (``notice.txt.j2``, ``notice.html.j2``) are shared, so a new language is one new
file. The victim is never named: a notice carries URLs, times and hashes, never the case.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from functools import cache
from pathlib import Path

import jinja2

from crawler.db.notices import NoticeItemView, NoticeView

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Every language a notice can be written in (one template each).
LANGUAGES = ("ko", "en", "ja", "zh", "ru", "vi")
#: Stands in for the sender of a notice shown before REPOSTWATCH_NOTICE_FROM is set (a preview
#: names what is missing rather than signing with an invented name).
PREVIEW_SENDER = "(REPOSTWATCH_NOTICE_FROM)"


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str
    #: Attachment file name -> PNG bytes (the screenshots, media blurred).
    attachments: dict[str, bytes]


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"no notice template for language {language!r}; use one of {LANGUAGES}")
    return language


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def sender_name(sender: str) -> str:
    """The display name of a From address ("Centre <a@b>" -> "Centre"), else the address."""
    name, address = parseaddr(sender)
    return name or address or sender


def site_label(notice: NoticeView) -> str:
    return notice.host or notice.site


def subject(language: str, site: str, count: int, reminder: int = 0) -> str:
    module = environment().get_template(f"{_language(language)}.j2").module
    return str(module.subject(site, count, reminder)).strip()  # type: ignore[attr-defined]


def open_items(notice: NoticeView) -> list[NoticeItemView]:
    """The items of a notice still asked for (not withdrawn, media not found removed)."""
    return list(notice.open_items)


def screenshot_name(notice: NoticeView, number: int) -> str:
    return f"notice-{notice.id}-item-{number}.png"


def render_notice(
    notice: NoticeView,
    *,
    sender: str,
    screenshots: dict[int, bytes],
    reminder: int | None = None,
) -> RenderedNotice:
    """The notice's subject, plain text, HTML (screenshots inline) and attachments.

    ``reminder`` is the number of earlier sendings (default: the notice's ``send_count``): a
    notice sent before says which reminder it is and when it was first sent. Items a re-check
    found removed, and withdrawn ones, are left out: it asks only for what is still there.
    """
    language = _language(notice.language)
    reminder = notice.send_count if reminder is None else reminder
    attachments: dict[str, bytes] = {}
    items = []
    for number, item in enumerate(open_items(notice), start=1):
        png = screenshots.get(item.id)
        name = screenshot_name(notice, number) if png else None
        if png and name:
            attachments[name] = png
        items.append(
            {
                "number": number,
                "page_url": item.page_url,
                "media_url": item.media_url,
                "first_seen": when(item.first_seen),
                "last_seen": when(item.last_seen),
                "sha256": item.media_sha256,
                "pdq": item.media_pdq,
                "screenshot": name,
                "screenshot_src": (
                    "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                    if png
                    else None
                ),
            }
        )
    site = site_label(notice)
    title = subject(language, site, len(items), reminder)
    context = {
        "language": language,
        "site": site,
        "sender": sender_name(sender),
        "items": items,
        "reminder": reminder,
        "first_sent": when(notice.sent_at),
        "subject": title,
    }
    env = environment()
    return RenderedNotice(
        subject=title,
        text=env.get_template("notice.txt.j2").render(context),
        html=env.get_template("notice.html.j2").render(context),
        attachments=attachments,
    )


def render_correction(notice: NoticeView, *, sender: str) -> RenderedNotice:
    """The short correction a sent notice owes the site: the items withdrawn since it was sent
    (their flags were rejected after review) are no longer asked for. In the notice's language."""
    language = _language(notice.language)
    site = site_label(notice)
    items = [
        {"page_url": item.page_url, "media_url": item.media_url} for item in notice.corrections
    ]
    if not items:
        raise ValueError(f"notice {notice.id} owes no correction")
    module = environment().get_template(f"{language}.j2").module
    first_sent = when(notice.sent_at)
    title = str(module.correction_subject(site, first_sent)).strip()  # type: ignore[attr-defined]
    context = {
        "language": language,
        "site": site,
        "sender": sender_name(sender),
        "items": items,
        "first_sent": first_sent,
        "subject": title,
    }
    env = environment()
    return RenderedNotice(
        subject=title,
        text=env.get_template("correction.txt.j2").render(context),
        html=env.get_template("correction.html.j2").render(context),
        attachments={},
    )
