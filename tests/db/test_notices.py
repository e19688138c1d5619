"""The notice and takedown queries the review app uses, on SQLite and PostgreSQL: an item's
screenshot, a flag's takedown story (repost, removal, notice) and the names of the sites."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.runs import ensure_site, site_names
from crawler.takedown.drafting import draft_notices
from tests.takedown.conftest import T0, site_config, world  # noqa: F401  (a fixture)

CONFIGS = {"board": site_config("board", "https://board.example/", 'language = "en"')}
PNG = b"\x89PNG\r\n\x1a\n screenshot"


def test_an_items_screenshot_is_found_only_under_its_own_notice(session, world):  # noqa: F811
    world.flag()
    world.flag()
    (notice_id,) = draft_notices(session, CONFIGS, now=T0).created
    first, second = db_notices.get_notice(session, notice_id).items
    db_notices.set_screenshot(session, first.id, PNG)
    session.commit()
    assert db_notices.screenshot_png(session, notice_id, first.id) == PNG
    assert db_notices.screenshot_png(session, notice_id, second.id) is None  # none taken
    assert db_notices.screenshot_png(session, notice_id + 1, first.id) is None  # another notice


def test_a_flags_takedown_names_its_notice_its_removal_and_its_repost(session, world):  # noqa: F811
    flag_id = world.flag(media_url="https://board.example/media/a.jpg", media_sha256="a" * 64)
    untouched = db_rechecks.flag_takedown(session, flag_id)
    assert (untouched.repost_of, untouched.removed_at, untouched.notices) == (None, None, ())

    (notice_id,) = draft_notices(session, CONFIGS, now=T0).created
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    removed_at = T0 + timedelta(hours=5)
    db_rechecks.mark_removed(session, flag_id, now=removed_at, reason="media_http_404")
    session.commit()
    removed = db_rechecks.flag_takedown(session, flag_id)
    assert removed.notices == ((notice_id, "resolved"),)  # its only item is gone
    assert (removed.removed_at, removed.removed_reason) == (removed_at, "media_http_404")
    assert (removed.time_to_removal, removed.counted_from) == (timedelta(hours=5), "notice")

    # The same media back at the same URL is a new flag: a repost of the removed one.
    again = world.flag(
        media_url="https://board.example/media/a.jpg",
        media_sha256="a" * 64,
        confirm=False,
        seen_at=T0 + timedelta(days=1),
    )
    repost = db_rechecks.flag_takedown(session, again)
    assert (repost.repost_of, repost.repost_of_removed_at) == (flag_id, removed_at)
    assert (repost.removed_at, repost.time_to_removal, repost.notices) == (None, None, ())
    with pytest.raises(LookupError):
        db_rechecks.flag_takedown(session, again + 100)


def test_site_names_are_every_known_site_sorted(session):
    assert site_names(session) == []
    for name in ("tube", "board", "Archive"):
        ensure_site(session, name)
    assert site_names(session) == ["Archive", "board", "tube"]


def test_an_approved_or_sent_notice_keeps_its_screenshots(session, world):  # noqa: F811
    world.flag()
    (notice_id,) = draft_notices(session, CONFIGS, now=T0).created
    (item,) = db_notices.get_notice(session, notice_id).items
    db_notices.set_screenshot(session, item.id, PNG)
    db_notices.set_screenshot(session, item.id, PNG + b" again")  # a draft: retaken
    db_notices.set_screenshot(session, item.id, None, error="HTTP 404")  # a failure: kept
    assert db_notices.screenshot_png(session, notice_id, item.id) == PNG + b" again"
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    db_notices.set_screenshot(session, item.id, b"\x89PNG a 404 page")  # refused
    session.commit()
    assert db_notices.screenshot_png(session, notice_id, item.id) == PNG + b" again"


def test_rejecting_a_flag_or_closing_its_case_deletes_its_screenshots(session, world):  # noqa: F811
    from crawler.db.cases import close_case
    from crawler.db.flags import decide

    first, second = world.flag(), world.flag()
    (notice_id,) = draft_notices(session, CONFIGS, now=T0).created
    items = db_notices.get_notice(session, notice_id).items
    for item in items:
        db_notices.set_screenshot(session, item.id, PNG)
    decide(session, first, "reject", by="kim.reviewer")
    session.commit()
    # A draft drops a rejected flag (crawler.db.withdrawals), and the picture of its page with it.
    assert [i.flag_id for i in db_notices.get_notice(session, notice_id).items] == [second]
    assert db_notices.screenshots(session, notice_id) == {items[1].id: PNG}

    close_case(session, "case-7", by="lee")
    session.commit()
    assert db_notices.screenshots(session, notice_id) == {}
