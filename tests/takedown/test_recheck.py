"""Removal re-checks against local sites that delete, hide or drip their media: the media URL
decides, a flag is removed only when seen gone twice a day apart, its evidence stays until its
case closes, legacy encodings are read as the crawl reads them, and deadlines hold."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import quote, urlsplit

import pytest

from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import Flag
from crawler.db.session import make_sessionmaker
from crawler.demo.localsite import LocalSite, Route, html, redirect
from crawler.network import PrivateOptIn
from crawler.takedown.drafting import draft_notices
from crawler.takedown.recheck import check_flag, recheck
from tests.support.drip import DripServer
from tests.takedown.conftest import OTHER_PHOTO, PHOTO, T0, local_fetcher, site_config

FETCHER = local_fetcher()
LATER = T0 + timedelta(hours=50)
DAY = timedelta(hours=24)  # REPOSTWATCH_RECHECK_GONE_HOURS as settings/__init__.py has it


def _configs(site, private: bool = True, render: str = '"html"'):
    extra = {"allow_private_network": "true" if private else "false", "render": render}
    return {"board": site_config("board", site.url + "/", 'language = "en"', **extra)}


def _opt_in(site) -> PrivateOptIn:
    """The private opt-in of the repost site's file: its own host and port only."""
    return _configs(site)["board"].private_opt_in


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


def _run(engine, site, at=LATER, **config):
    return recheck(
        make_sessionmaker(engine), _configs(site, **config), FETCHER, gone_after=DAY, now=lambda: at
    )


def test_media_still_there_keeps_the_flag_open(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    summary = _run(engine, repost_site)
    assert (summary.checked, len(summary.present), summary.removed) == (1, 1, [])
    session.expire_all()
    flag = session.get(Flag, flag_id)
    assert (flag.status, flag.removed_at, flag.last_checked_at) == ("confirmed", None, LATER)


def _break(routes, change):
    if change == "delete_media":
        del routes["/media/1.jpg"]
    elif change == "gone_media":
        routes["/media/1.jpg"] = Route(b"gone", "text/plain", 410)
    elif change == "delete_page_and_media":
        del routes["/post/1"], routes["/media/1.jpg"]
    else:
        routes["/media/1.jpg"] = Route(OTHER_PHOTO, "image/jpeg")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("delete_media", "media_http_404"),
        ("gone_media", "media_http_410"),
        ("delete_page_and_media", "media_http_404"),
        ("replace_media", "media_changed"),
    ],
)
def test_media_seen_gone_twice_a_day_apart_marks_the_flag_removed(
    engine, session, world, repost_site, change, reason
):
    flag_id = _flag(world, repost_site)
    (notice_id,) = draft_notices(session, _configs(repost_site)).created
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    session.commit()
    _break(repost_site.site.routes, change)
    # Seen gone once, and again before REPOSTWATCH_RECHECK_GONE_HOURS: not removed yet.
    for at in (LATER, LATER + DAY - timedelta(minutes=1)):
        summary = _run(engine, repost_site, at=at)
        assert [(r.flag_id, r.reason) for r in summary.gone] == [(flag_id, reason)]
        assert (summary.removed, summary.removable_at) == ([], {flag_id: LATER + DAY})
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"
    assert db_notices.get_notice(session, notice_id).status == "sent"
    # Still gone a day after it was first seen gone: removed now.
    summary = _run(engine, repost_site, at=LATER + DAY)
    assert [(r.flag_id, r.reason) for r in summary.removed] == [(flag_id, reason)]
    assert summary.resolved_notices == [notice_id]
    session.expire_all()
    flag = session.get(Flag, flag_id)
    assert (flag.status, flag.removed_at, flag.removed_reason) == ("removed", LATER + DAY, reason)
    (removal,) = db_rechecks.removals(session)
    assert (removal.time_to_removal, removal.counted_from) == (timedelta(hours=74), "notice")
    assert db_notices.get_notice(session, notice_id).status == "resolved"
    seen = [
        (o.observed_at, o.outcome, o.http_status, o.reason)
        for o in db_rechecks.observations(session, flag_id)
    ]
    status = {"media_http_404": 404, "media_http_410": 410}.get(reason, 200)
    assert seen == [
        (LATER, "gone", status, reason),
        (LATER + DAY - timedelta(minutes=1), "gone", status, reason),
        (LATER + DAY, "gone", status, reason),
    ]
    # A removed flag is not checked again.
    assert _run(engine, repost_site, at=LATER + 2 * DAY).checked == 0


def test_one_404_does_not_remove_and_a_sighting_starts_over(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    routes = repost_site.site.routes
    del routes["/media/1.jpg"]
    assert [r.flag_id for r in _run(engine, repost_site, at=LATER).gone] == [flag_id]
    routes["/media/1.jpg"] = Route(PHOTO, "image/jpeg")  # back (a glitch, a restored backup)
    assert [r.flag_id for r in _run(engine, repost_site, at=LATER + DAY / 2).present] == [flag_id]
    del routes["/media/1.jpg"]
    # Gone a day after the first 404, but it was seen in between: the count starts over.
    summary = _run(engine, repost_site, at=LATER + DAY)
    assert ([r.flag_id for r in summary.gone], summary.removed) == ([flag_id], [])
    assert summary.removable_at == {flag_id: LATER + 2 * DAY}
    session.expire_all()
    flag = session.get(Flag, flag_id)
    assert (flag.status, flag.removed_at, flag.last_checked_at) == ("confirmed", None, LATER + DAY)


def test_page_gone_while_the_media_is_still_online_keeps_the_flag(
    engine, session, world, repost_site
):
    flag_id = _flag(world, repost_site)
    routes = repost_site.site.routes
    routes["/post/1"] = html('<img src="/media/same-but-not-flagged.jpg">')
    first = _run(engine, repost_site, at=LATER)
    del routes["/post/1"]
    second = _run(engine, repost_site, at=LATER + DAY)
    assert [(r.flag_id, r.reason) for r in first.present + second.present] == [
        (flag_id, "not_on_page"),
        (flag_id, "page_http_404"),
    ]
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"


def test_a_maintenance_page_where_the_media_was_tells_nothing(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    maintenance = html("<h1>Back soon</h1><p>The board is in maintenance.</p>")
    for path in ("/post/1", "/media/1.jpg"):
        repost_site.site.routes[path] = maintenance
    for at in (LATER, LATER + DAY, LATER + 2 * DAY):
        summary = _run(engine, repost_site, at=at)
        assert [r.flag_id for r in summary.unknown] == [flag_id]
        assert "not media" in summary.unknown[0].error
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"


class _CrawlersGet404(BaseHTTPRequestHandler):
    """Serves the repost site's routes to browsers, and 404 to anything that says it is a bot."""

    routes: dict[str, Route] = {}
    agents: list[str] = []

    def do_GET(self) -> None:
        agent = self.headers.get("User-Agent", "")
        self.agents.append(agent)
        route = self.routes.get(self.path)
        if route is None or "RepostWatch" in agent or "bot" in agent.lower():
            route = Route(b"not found", "text/plain", 404)
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_404_served_to_crawlers_only_does_not_count(engine, session, world, repost_site):
    routes = dict(repost_site.site.routes)
    handler = type("Handler", (_CrawlersGet404,), {"routes": routes, "agents": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        flag_id = world.flag(
            page_url=url + "/post/1",
            media_url=url + "/media/1.jpg",
            media_sha256=hashlib.sha256(PHOTO).hexdigest(),
            media_pdq=repost_site.hashes.get("pdq").hex,
        )
        configs = {"board": site_config("board", url + "/", allow_private_network="true")}
        for at in (LATER, LATER + DAY):
            summary = recheck(
                make_sessionmaker(engine), configs, FETCHER, gone_after=DAY, now=lambda at=at: at
            )
            assert [r.flag_id for r in summary.present] == [flag_id]
    finally:
        server.shutdown()
        server.server_close()
    assert handler.agents and not any("RepostWatch" in agent for agent in handler.agents)
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"


def test_evidence_stays_after_removal_until_the_case_closes(engine, session, world, repost_site):
    from crawler.db import evidence
    from crawler.db.cases import close_case
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
    for at in (LATER, LATER + DAY):
        summary = recheck(
            make_sessionmaker(engine),
            _configs(repost_site),
            FETCHER,
            gone_after=DAY,
            now=lambda at=at: at,
            targets=[_target(session, gone)],
        )
    assert [r.flag_id for r in summary.removed] == [gone]
    session.expire_all()
    assert session.get(Flag, gone).status == "removed"
    assert evidence.load_evidence(session, gone, fernet).data == PHOTO  # kept: removal is no end
    assert evidence.has_evidence(session, still_there)
    # The removed flag gets no new evidence; the media found again is a new flag that does.
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
            seen_at=LATER + DAY + timedelta(hours=1),
        ),
    )
    assert again.created and again.flag_id != gone
    assert session.get(Flag, again.flag_id).repost_of_flag_id == gone
    assert evidence.store_evidence(session, again.flag_id, b"x", "image/jpeg", "0" * 64)
    session.commit()
    # Closing the case deletes all of it, the removed flag's too.
    assert close_case(session, "case-7", by="kim.reviewer").evidence_deleted == 3
    session.commit()
    assert not any(evidence.has_evidence(session, f) for f in (gone, still_there, again.flag_id))


def test_a_re_encoded_copy_at_the_same_url_is_still_there(session, world, repost_site):
    from crawler.demo import samples

    flag_id = _flag(world, repost_site)
    copy = samples.reencoded_jpeg("astronaut", quality=60, scale=0.5)
    assert copy != PHOTO
    repost_site.site.routes["/media/1.jpg"] = Route(copy, "image/jpeg")
    result = check_flag(_target(session, flag_id), FETCHER, private_opt_in=_opt_in(repost_site))
    assert (result.present, result.reason) == (True, None)


def test_uncertain_answers_change_nothing(engine, session, world, repost_site):
    flag_id = _flag(world, repost_site)
    repost_site.site.routes["/media/1.jpg"] = Route(b"busy", "text/plain", 503)
    summary = _run(engine, repost_site)
    assert [(r.error, r.http_status) for r in summary.unknown] == [("media answered HTTP 503", 503)]
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
    opt_in = _opt_in(repost_site)
    html_site = check_flag(target, FETCHER, private_opt_in=opt_in)
    browser_site = check_flag(target, FETCHER, private_opt_in=opt_in, page_markup_counts=False)
    assert (html_site.present, html_site.reason) == (True, "not_on_page")  # reported, no more
    assert (browser_site.present, browser_site.reason) == (True, None)


def test_redirects_to_other_schemes_are_refused(session, world, repost_site):
    flag_id = _flag(world, repost_site)
    for path in ("/post/1", "/media/1.jpg"):
        repost_site.site.routes[path] = redirect("file:///etc/passwd")
    result = check_flag(_target(session, flag_id), FETCHER, private_opt_in=_opt_in(repost_site))
    assert (result.present, result.error) == (None, "media answered HTTP 302")


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
    summary = recheck(
        make_sessionmaker(engine), configs, FETCHER, gone_after=DAY, now=lambda: LATER
    )
    assert [r.flag_id for r in summary.present] == [flag_id]


# --- the site file's private opt-in: its own hosts and ports, nothing else ----------------------
@pytest.mark.parametrize("how", ["media_url", "redirect"])
def test_a_site_opted_in_for_its_own_host_cannot_reach_another_private_port(
    engine, session, world, repost_site, how
):
    """The media URL of a flag (or a redirect of the site's own media URL) names another
    service on 127.0.0.1: refused, as the crawl refuses it, unless private_hosts lists it."""
    with LocalSite({"/media/1.jpg": Route(PHOTO, "image/jpeg")}) as other:
        media_url = other.url + "/media/1.jpg"
        if how == "redirect":
            repost_site.site.routes["/media/1.jpg"] = redirect(media_url)
            media_url = repost_site.media_url
        flag_id = world.flag(
            page_url=repost_site.page_url,
            media_url=media_url,
            media_sha256=hashlib.sha256(PHOTO).hexdigest(),
            media_pdq=repost_site.hashes.get("pdq").hex,
        )
        summary = _run(engine, repost_site)
        assert [r.flag_id for r in summary.unknown] == [flag_id]
        error = summary.unknown[0].error
        assert "127.0.0.1 resolves to 127.0.0.1, a private address; refused" in error
        own = urlsplit(repost_site.url).port
        assert f"allows private addresses only for 127.0.0.1:{own}; list another in " in error
        assert other.requests == []
        # Listed in the site file's private_hosts: reached.
        configs = {
            "board": site_config(
                "board",
                repost_site.url + "/",
                allow_private_network="true",
                private_hosts=f'["127.0.0.1:{urlsplit(other.url).port}"]',
            )
        }
        summary = recheck(
            make_sessionmaker(engine), configs, FETCHER, gone_after=DAY, now=lambda: LATER
        )
        assert [r.flag_id for r in summary.present] == [flag_id]
        assert "/media/1.jpg" in other.requests


def test_a_site_without_a_site_file_reaches_no_private_address(
    engine, session, world, repost_site, caplog
):
    flag_id = _flag(world, repost_site)
    with caplog.at_level("WARNING", logger="crawler.takedown.recheck"):
        summary = recheck(make_sessionmaker(engine), {}, FETCHER, gone_after=DAY, now=lambda: LATER)
    assert [r.flag_id for r in summary.unknown] == [flag_id]
    assert "a private address; refused> (site 'board' has no valid site file" in (
        summary.unknown[0].error
    )
    assert "`repostwatch sites import board.toml`" in summary.unknown[0].error
    assert "Site 'board' has no valid site file" in caplog.text
    assert repost_site.site.requests == []


@pytest.mark.parametrize("host", ["localhost", "x.localhost"])
def test_loopback_names_are_refused_even_for_a_site_on_a_private_network(repost_site, host):
    import urllib.error

    url = f"http://{host}:{urlsplit(repost_site.url).port}/post/1"
    opted_in = PrivateOptIn.of_urls([url])  # even a site file naming this very host and port
    with pytest.raises(urllib.error.URLError, match="is a loopback name; refused"):
        FETCHER.get(url, opt_in=opted_in, robots=False)
    assert repost_site.site.requests == []


# --- legacy encodings -----------------------------------------------------------------------
BOARD_PAGE = """<html><head>{meta}<title>자유게시판</title></head><body>
<p>하늘별 사진 올립니다</p><img src="/data/하늘별 사진.jpg?name=원본&amp;size=큰">
</body></html>"""


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html", '<meta charset="euc-kr">'),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">'),
        ("text/html; charset=EUC-KR", ""),
    ],
)
def test_an_euc_kr_board_is_read_as_the_crawl_reads_it(engine, session, world, content_type, meta):
    """A board in EUC-KR: the media's name is Korean (UTF-8 in the path, as browsers send it)
    and so is its query (EUC-KR, the page's encoding, as browsers send it)."""
    media_path = (
        "/data/"
        + quote("하늘별 사진.jpg")
        + "?name="
        + quote("원본".encode("euc-kr"))
        + "&size="
        + quote("큰".encode("euc-kr"))
    )
    page = BOARD_PAGE.format(meta=meta).encode("euc-kr")
    routes = {"/bbs/1": Route(page, content_type), media_path: Route(PHOTO, "image/jpeg")}
    with LocalSite(routes) as site:
        flag_id = world.flag(
            page_url=site.url + "/bbs/1",
            media_url=site.url + media_path,  # what the crawl flagged (tests/spiders/test_site.py)
            media_sha256=hashlib.sha256(PHOTO).hexdigest(),
            media_pdq="0" * 64,
        )
        configs = {"board": site_config("board", site.url + "/", allow_private_network="true")}
        summary = recheck(
            make_sessionmaker(engine), configs, FETCHER, gone_after=DAY, now=lambda: LATER
        )
    assert [(r.flag_id, r.reason) for r in summary.present] == [(flag_id, None)]  # on its page
    assert site.exchanges[-1] == ("GET", media_path, 200)
    session.expire_all()
    assert session.get(Flag, flag_id).status == "confirmed"


# --- deadlines ------------------------------------------------------------------------------
@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_site_costs_one_deadline_and_the_others_are_still_checked(
    engine, session, world, repost_site, part
):
    deadline = 1.0
    with DripServer(part) as slow:
        slow_flags = [
            world.flag(
                site="a-slow", page_url=f"{slow.url}/post/{n}", media_url=f"{slow.url}/{n}.jpg"
            )
            for n in (1, 2)
        ]
        flag_id = _flag(world, repost_site)
        configs = _configs(repost_site) | {
            "a-slow": site_config(
                "a-slow",
                slow.url + "/",
                allow_private_network="true",
                obey_robots="false",
                robots_reason='"a test server"',
            )
        }
        started = time.monotonic()
        summary = recheck(
            make_sessionmaker(engine),
            configs,
            local_fetcher(request_seconds=deadline),
            gone_after=DAY,
            round_seconds=30,
            now=lambda: LATER,
        )
        took = time.monotonic() - started
    assert [(r.flag_id, r.late) for r in summary.unknown] == [(slow_flags[0], True)]
    assert "DeadlineExceeded" in summary.unknown[0].error
    assert [t.flag_id for t in summary.left] == [slow_flags[1]]  # its site ran out of time
    assert [r.flag_id for r in summary.present] == [flag_id]  # another site, same round
    assert took < deadline + 1.5, took
    assert slow.connections == 1


def test_what_the_round_has_no_time_for_is_left_for_the_next(engine, session, world, repost_site):
    with DripServer() as slow:
        slow_flag = world.flag(
            site="a-slow", page_url=f"{slow.url}/1", media_url=f"{slow.url}/1.jpg"
        )
        flag_id = _flag(world, repost_site)
        configs = _configs(repost_site) | {
            "a-slow": site_config("a-slow", slow.url + "/", allow_private_network="true")
        }
        started = time.monotonic()
        summary = recheck(
            make_sessionmaker(engine),
            configs,
            local_fetcher(request_seconds=60),
            gone_after=DAY,
            round_seconds=1.0,
            now=lambda: LATER,
        )
        took = time.monotonic() - started
    assert [t.flag_id for t in summary.left] == [slow_flag, flag_id]
    assert (summary.checked, summary.unknown) == (0, [])
    assert took < 2.5, took
    assert db_rechecks.observations(session, slow_flag) == []  # nothing was seen


def test_the_command_says_what_was_not_checked_in_time(
    database_url, engine, world, repost_site, tmp_path
):
    from tests.support.cli_runner import repostwatch

    with DripServer() as slow:
        slow_flags = [
            world.flag(site="a-slow", page_url=f"{slow.url}/{n}", media_url=f"{slow.url}/{n}.jpg")
            for n in (1, 2)
        ]
        flag_id = _flag(world, repost_site)
        for name, url in (("a-slow", slow.url), ("board", repost_site.url)):
            (tmp_path / f"{name}.toml").write_text(
                f'name = "{name}"\nstart_urls = ["{url}/"]\nallow_private_network = true\n'
            )
        env = {
            "REPOSTWATCH_DATABASE_URL": database_url,
            "REPOSTWATCH_SITES_DIR": str(tmp_path),
            "REPOSTWATCH_RECHECK_REQUEST_SECONDS": "1",
        }
        out = repostwatch("recheck", env=env, cwd=tmp_path, timeout=60).stdout
    assert f"flag {slow_flags[0]} {slow.url}/1.jpg: unknown (DeadlineExceeded: " in out
    assert f"flag {slow_flags[1]} {slow.url}/2.jpg: not checked in time (next run)" in out
    assert f"flag {flag_id} {repost_site.media_url}: still there" in out
    assert "Checked 2 flag(s): 0 removed, 0 seen gone (not yet removed), 1 still there, " in out
    assert "1 unknown, 1 not checked in time; 0 notice(s) resolved." in out
