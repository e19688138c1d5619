"""Draft notices: confirmed flags in no notice yet, grouped per site (or per host), and the
blurred screenshot of every page they were found on.

Grouping and language come from each site file's ``[takedown]`` table (``language``,
``abuse_contact``, ``group_by``). Screenshots are taken outside any database transaction: a
browser can take a while, and a notice is usable (and exportable) before its screenshots exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from crawler.db import notices as db_notices
from crawler.db import screenshots as db_screenshots
from crawler.sites import SiteConfig
from crawler.takedown.render import subject
from crawler.takedown.screenshots import Shot, ShotTarget, take_screenshots


@dataclass
class DraftResult:
    created: list[int] = field(default_factory=list)
    #: Drafts that existed already (not yet approved) and got the new flags.
    extended: list[int] = field(default_factory=list)
    #: Site name -> why its confirmed flags were not drafted.
    skipped: dict[str, str] = field(default_factory=dict)


def draft_notices(
    session: Session,
    sites: Mapping[str, SiteConfig],
    *,
    site: str | None = None,
    now: datetime | None = None,
) -> DraftResult:
    """One draft notice per site (or host) for the confirmed flags in no notice yet; when the
    site (host) already has a draft waiting for approval, the flags join that one instead.

    ``sites`` maps site names to their site files; a site without a file is skipped (its
    language and abuse contact are unknown) and named in ``skipped``.
    """
    result = DraftResult()
    groups: dict[tuple[str, str | None], list[int]] = {}
    for flag in db_notices.unnoticed_flags(session, site):
        config = sites.get(flag.site)
        if config is None:
            result.skipped[flag.site] = (
                f"no site file for {flag.site!r}: add settings/sites/{flag.site}.toml with a "
                "[takedown] table (language, abuse_contact)"
            )
            continue
        host = None
        if config.takedown_options.group_by == "host":
            host = (urlsplit(flag.page_url).hostname or "").lower() or None
        groups.setdefault((flag.site, host), []).append(flag.flag_id)
    for (site_name, host), flag_ids in groups.items():
        options = sites[site_name].takedown_options
        draft = db_notices.open_draft(session, site=site_name, host=host)
        if draft is not None:
            count = len(db_notices.get_notice(session, draft).items) + len(flag_ids)
            title = subject(options.language, host or site_name, count)
            db_notices.add_to_draft(session, draft, flag_ids, title)
            result.extended.append(draft)
            continue
        result.created.append(
            db_notices.create_notice(
                session,
                site=site_name,
                host=host,
                language=options.language,
                recipient=options.abuse_contact,
                subject=subject(options.language, host or site_name, len(flag_ids)),
                flag_ids=flag_ids,
                now=now,
            )
        )
    return result


def screenshot_targets(
    session: Session, notice_id: int, sites: Mapping[str, SiteConfig], *, retake: bool = False
) -> list[ShotTarget]:
    """What to photograph for a notice: each item's page that has no screenshot, or (``retake``)
    every item's page of a draft. A notice approved or sent keeps its screenshots: ``retake``
    takes only the missing ones there."""
    notice = db_notices.get_notice(session, notice_id)
    retake = retake and notice.status == "draft"
    config = sites.get(notice.site)
    allow_private = bool(config and config.allow_private_network)
    origins = tuple(sorted(config.private_opt_in.origins)) if allow_private else ()
    media = tuple(dict.fromkeys(item.media_url for item in notice.items))
    browser = {}
    if config is not None and config.render == "browser":
        options = config.browser_options
        browser = {
            "click": tuple(options.click),
            "wait_for": options.wait_for,
            "wait_timeout": options.wait_timeout,
        }
    return [
        ShotTarget(item.id, item.page_url, media, allow_private, origins, **browser)
        for item in notice.items
        if retake or not item.has_screenshot
    ]


def store_shots(session: Session, shots: list[Shot], *, now: datetime | None = None) -> None:
    """Store what the worker brought back. A failure never stores a picture (and keeps the
    screenshot a draft's item had); an approved or sent notice's screenshots stay as they are."""
    for shot in shots:
        png = shot.png if shot.error is None else None
        db_notices.set_screenshot(session, shot.key, png, error=shot.error, at=now)


def capture(
    sessions: sessionmaker[Session],
    notice_id: int,
    sites: Mapping[str, SiteConfig],
    *,
    chromium: str,
    retake: bool = False,
    progress: Callable[[Shot], None] | None = None,
) -> list[Shot]:
    """Take and store the screenshots a notice is missing. ``sessions`` is a sessionmaker."""
    with sessions.begin() as session:
        targets = screenshot_targets(session, notice_id, sites, retake=retake)
    shots = take_screenshots(targets, chromium=chromium, progress=progress)
    with sessions.begin() as session:
        store_shots(session, shots)
    return shots


def capture_requested(
    sessions: sessionmaker[Session], sites: Mapping[str, SiteConfig], *, chromium: str
) -> list[Shot]:
    """Take the screenshots the web app queued (``db_screenshots.request_screenshots``), store
    them and clear the requests they answered. A request for an item that keeps its screenshot
    (its notice was approved meanwhile) is cleared without a shot."""
    with sessions.begin() as session:
        pending = db_screenshots.requested_screenshots(session)
        targets = []
        for notice_id, items in pending.items():
            targets += [
                target
                for target in screenshot_targets(session, notice_id, sites, retake=True)
                if target.key in items
            ]
    try:
        shots = take_screenshots(targets, chromium=chromium)
    except RuntimeError as exc:  # Chromium cannot start: each item says so, none stays pending
        shots = [Shot(target.key, None, 0, str(exc)) for target in targets]
    with sessions.begin() as session:
        store_shots(session, shots)
        for items in pending.values():
            for item_id, asked_at in items.items():
                db_screenshots.clear_screenshot_request(session, item_id, asked_at)
    return shots
