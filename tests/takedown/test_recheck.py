"""Removal re-checks against a local repost site that deletes its page or media: removed flags
get their removal time and reason, media still there stays open, uncertainty changes nothing."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import Flag
from crawler.db.session import make_sessionmaker
from crawler.demo.localsite import Route, html
from crawler.takedown.drafting import draft_notices
from crawler.takedown.recheck import check_flag, recheck
from tests.takedown.conftest import OTHER_PHOTO, PHOTO, T0, local_fetcher, site_config

FETCHER = local_fetcher()
LATER = T0 + timedelta(hours=50)


def _configs(site, private: bool = True, render: str = '"html"'):
    extra = {"allow_private_network": "true" if private else "false", "render": render}
    return {"board": site_config("board", site.url + "/", 'language = "en"', **extra)}


def _flag(world, site) -> int:
    return world.flag(
        page_url=site.page_url,
        media_url=site.media_url,
        media_sha256=hashlib.sha256(PHOTO).hexdigest(),
        media_pdq=site.hashes.get("pdq").hex,
    )


def _target(session, flag_id):
    (target,) = [t for t in db_rechecks.check_targets(session) if t.flag_id == flag_id]
    return target


def _run(engine, site, **config):
    return recheck(make_sessionmaker(engine), _configs(site, **config), FETCHER, now=lambda: LATER)


def test_media_still_there_keeps_the_flag_open(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    summary = _run(engine, repost_site)
    assert (summary.checked, len(summary.present), summary.removed) == (1, 1, [])
    session.expire_all()
    flag = session.get(Flag, flag_id)
    assert (flag.status, flag.removed_at, flag.last_checked_at) == ("confirmed", None, LATER)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("delete_media", "media_http_404"),
        ("gone_media", "media_http_410"),
        ("delete_page", "page_http_404"),
        ("drop_from_page", "not_on_page"),
        ("replace_media", "media_changed"),
    ],
)
def test_removed_media_marks_the_flag_removed_with_time_to_removal(
    engine, session, world, repost_site, change, reason
):
    flag_id = _flag(world, repost_site)
    (notice_id,) = draft_notices(session, _configs(repost_site)).created
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    session.commit()
    routes = repost_site.site.routes
    if change == "delete_media":
        del routes["/media/1.jpg"]
    elif change == "gone_media":
        routes["/media/1.jpg"] = Route(b"gone", "text/plain", 410)
    elif change == "delete_page":
        del routes["/post/1"]
    elif change == "drop_from_page":
        routes["/post/1"] = html('<img src="/media/same-but-not-flagged.jpg">')
    else:
        routes["/media/1.jpg"] = Route(OTHER_PHOTO, "image/jpeg")
    summary = _run(engine, repost_site)
    assert [(r.flag_id, r.reason) for r in summary.removed] == [(flag_id, reason)]
    assert summary.resolved_notices == [notice_id]
    session.expire_all()
    flag = session.get(Flag, flag_id)
    assert (flag.status, flag.removed_at, flag.removed_reason) == ("removed", LATER, reason)
    (removal,) = db_rechecks.removals(session)
    assert (removal.time_to_removal, removal.counted_from) == (timedelta(hours=50), "notice")
    assert db_notices.get_notice(session, notice_id).status == "resolved"
    # A removed flag is not checked again.
    assert _run(engine, repost_site).checked == 0


def test_removal_deletes_the_evidence_and_a_repost_keeps_its_own(
    engine, session, world, repost_site
):
    from crawler.db import evidence
    from crawler.db.flags import MatchRecord, record_match
    from crawler.db.runs import ensure_site

    fernet = evidence.cipher(evidence.new_key())
    gone = _flag(world, repost_site)
    still_there = world.flag(media_url=repost_site.url + "/media/other.jpg")
    for flag_id in (gone, still_there):
        sealed = evidence.seal(fernet, PHOTO, "image", "jpeg")
        assert evidence.store_evidence(
            session, flag_id, sealed.ciphertext, sealed.content_type, sealed.sha256
        )
    session.commit()
    del repost_site.site.routes["/media/1.jpg"]
    summary = recheck(
        make_sessionmaker(engine),
        _configs(repost_site),
        FETCHER,
        now=lambda: LATER,
        targets=[_target(session, gone)],
    )
    assert [r.flag_id for r in summary.removed] == [gone]
    session.expire_all()
    assert not evidence.has_evidence(session, gone)
    assert evidence.has_evidence(session, still_there)  # confirmed and not removed: kept
    # The removed flag gets no evidence back; the media found again is a new flag that does.
    assert not evidence.store_evidence(session, gone, b"x", "image/jpeg", "0" * 64)
    again = record_match(
        session,
        MatchRecord(
            run_id=world.run_id,
            site_id=ensure_site(session, "board"),
            page_url=repost_site.page_url,
            media_url=repost_site.media_url,
            media_sha256=hashlib.sha256(PHOTO).hexdigest(),
            case_id=world.case_id,
            reference_id=world.reference_id,
            algorithm="pdq",
            distance=3,
            seen_at=LATER + timedelta(hours=1),
        ),
    )
    assert again.created and again.flag_id != gone
    assert session.get(Flag, again.flag_id).repost_of_flag_id == gone
    assert evidence.store_evidence(session, again.flag_id, b"x", "image/jpeg", "0" * 64)


def test_a_re_encoded_copy_at_the_same_url_is_still_there(session, world, repost_site):
    from crawler.demo import samples

    flag_id = _flag(world, repost_site)
    copy = samples.reencoded_jpeg("astronaut", quality=60, scale=0.5)
    assert copy != PHOTO
    repost_site.site.routes["/media/1.jpg"] = Route(copy, "image/jpeg")
    result = check_flag(_target(session, flag_id), FETCHER, allow_private_network=True)
    assert (result.present, result.reason) == (True, None)


def test_uncertain_answers_change_nothing(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    repost_site.site.routes["/post/1"] = Route(b"busy", "text/plain", 503)
    summary = _run(engine, repost_site)
    assert [r.error for r in summary.unknown] == ["page answered HTTP 503"]
    # Without the site file's consent, 127.0.0.1 is never contacted.
    del repost_site.site.routes["/post/1"]
    requests_before = len(repost_site.site.requests)
    summary = _run(engine, repost_site, private=False)
    assert "private address" in summary.unknown[0].error
    assert len(repost_site.site.requests) == requests_before
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"


def test_browser_sites_are_not_judged_by_their_markup(session, world, repost_site):
    flag_id = _flag(world, repost_site)
    repost_site.site.routes["/post/1"] = html("<div id=app></div><script>/* builds it */</script>")
    target = _target(session, flag_id)
    html_site = check_flag(target, FETCHER, allow_private_network=True)
    browser_site = check_flag(target, FETCHER, allow_private_network=True, page_markup_counts=False)
    assert (html_site.present, html_site.reason) == (False, "not_on_page")
    assert (browser_site.present, browser_site.reason) == (True, None)


def test_redirects_to_other_schemes_are_refused(session, world, repost_site):
    from crawler.demo.localsite import redirect

    flag_id = _flag(world, repost_site)
    repost_site.site.routes["/post/1"] = redirect("file:///etc/passwd")
    result = check_flag(_target(session, flag_id), FETCHER, allow_private_network=True)
    assert result.present is None and result.error


def test_robots_txt_is_obeyed_unless_the_site_file_says_otherwise(engine, world, repost_site):
    flag_id = _flag(world, repost_site)
    repost_site.site.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /post/\n", "text/plain"
    )
    summary = _run(engine, repost_site)
    assert [(r.flag_id, r.present, r.error) for r in summary.unknown] == [
        (flag_id, None, f"RobotsRefused: robots.txt disallows {repost_site.page_url}")
    ]
    assert "/post/1" not in repost_site.site.requests
    configs = {
        "board": site_config(
            "board",
            repost_site.url + "/",
            'language = "en"',
            allow_private_network="true",
            obey_robots="false",
            robots_reason='"takedown re-check of a confirmed repost"',
        )
    }
    summary = recheck(make_sessionmaker(engine), configs, FETCHER, now=lambda: LATER)
    assert [r.flag_id for r in summary.present] == [flag_id]


@pytest.mark.parametrize("host", ["localhost", "x.localhost"])
def test_loopback_names_are_refused_even_for_a_site_on_a_private_network(repost_site, host):
    import urllib.error
    from urllib.parse import urlsplit

    url = f"http://{host}:{urlsplit(repost_site.url).port}/post/1"
    with pytest.raises(urllib.error.URLError, match="is a loopback name; refused"):
        FETCHER.get(url, allow_private=True, robots=False)
    assert repost_site.site.requests == []
