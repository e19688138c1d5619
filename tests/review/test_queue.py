"""The queue and claims (crawler.db.review) and the pages around them, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

from sqlalchemy import select, update

from crawler.db import review, users
from crawler.db.models import AuditEntry, Flag, User, utcnow
from crawler.db.runs import ensure_site
from tests.review.conftest import T0, login, post


def _ids(flags):
    return [f.id for f in flags]


def test_queue_is_by_priority_then_oldest_by_default_or_oldest_and_filters(world):
    ids = [world.flag(n) for n in range(1, 6)]  # distances 11..15
    other_site = world.flag(9, site_id=_site(world, "forum"), algorithm="phash")
    with world.sessions.begin() as session:
        session.execute(update(Flag).where(Flag.id == ids[3]).values(priority=5))
    with world.sessions() as s:
        by_priority = [ids[3], ids[0], ids[1], ids[2], ids[4], other_site]
        assert _ids(review.list_queue(s)[0]) == by_priority
        assert _ids(review.list_queue(s, order="priority")[0]) == by_priority
        assert _ids(review.list_queue(s, order="oldest")[0]) == [*ids, other_site]
        assert _ids(review.list_queue(s, review.QueueFilters(site="forum"))[0]) == [other_site]
        assert _ids(review.list_queue(s, review.QueueFilters(algorithm="phash"))[0]) == [other_site]
        assert _ids(review.list_queue(s, review.QueueFilters(max_distance=12))[0]) == ids[:2]
        assert review.list_queue(s, review.QueueFilters(case="case-1"))[1] == 6
        assert review.list_queue(s, review.QueueFilters(case="nobody"))[1] == 0


def _site(world, name: str) -> int:
    with world.sessions.begin() as session:
        return ensure_site(session, name)


def test_a_repost_of_removed_media_is_listed_marked_and_claimed_first_by_default(client, world):
    from crawler.db import rechecks
    from crawler.db.flags import REPOST_PRIORITY, decide

    older = [world.flag(n) for n in range(1, 4)]
    removed = world.flag(7)
    with world.sessions.begin() as s:
        decide(s, removed, "confirm", by="kim")
        rechecks.mark_removed(s, removed, now=T0 + timedelta(hours=1), reason="media_http_404")
    # The same media at another URL, seen after the removal: a repost, newer than the others.
    repost = world.flag(
        8, sha256=f"{7:064x}", seen_at=T0 + timedelta(hours=2), media_url="https://m.example/x.jpg"
    )
    with world.sessions() as s:
        flag = s.get(Flag, repost)
        assert (flag.repost_of_flag_id, flag.priority) == (removed, REPOST_PRIORITY)
    world.user("kim")
    login(client, "kim")
    page = client.get("/").get_data(as_text=True)
    rows = re.findall(r'<tr(?: class="([^"]*)")?>\s*<td><a href="/flags/(\d+)', page)
    assert [int(flag_id) for _, flag_id in rows] == [repost, *older]
    assert rows[0][0] == "repost" and not any(row_class for row_class, _ in rows[1:])
    assert f"repost of {removed}</span>" in page
    claimed = post(client, "/claim")
    assert claimed.headers["Location"] == f"/flags/{repost}?order=priority"
    with world.sessions() as s:
        assert review.my_claims(s, s.execute(select(User.id)).scalar_one())[0].id == repost
    # Oldest first is still there when asked for.
    oldest = client.get("/?order=oldest").get_data(as_text=True)
    assert [
        int(i)
        for _, i in re.findall(r'<tr(?: class="([^"]*)")?>\s*<td><a href="/flags/(\d+)', oldest)
    ] == [*older, repost]


def test_claims_are_batches_that_never_overlap_and_leases_run_out(world):
    flags = [world.flag(n) for n in range(1, 26)]
    kim, lee = world.user("kim"), world.user("lee")
    with world.sessions.begin() as s:
        first = review.claim_batch(s, kim, size=20)
    with world.sessions.begin() as s:
        second = review.claim_batch(s, lee, size=20)
    assert first == flags[:20] and second == flags[20:]
    with world.sessions.begin() as s:  # claiming again keeps (and renews) what kim holds
        assert review.claim_batch(s, kim, size=20) == first
    # Lee's lease runs out: the flags go back to the queue for kim.
    with world.sessions.begin() as s:
        s.execute(
            update(Flag)
            .where(Flag.id.in_(second))
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )
    with world.sessions.begin() as s:
        assert review.claim_batch(s, kim, size=25) == flags
    with world.sessions.begin() as s:
        assert review.release(s, kim, flags[0]) == 1
        assert review.claim_batch(s, lee, size=5) == [flags[0]]


def test_two_reviewers_claiming_at_once_never_share_a_flag(world):
    flags = {world.flag(n) for n in range(1, 61)}
    reviewers = [world.user(f"r{i}") for i in range(6)]
    start = threading.Barrier(len(reviewers))
    claimed: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def claim(user_id: int) -> None:
        try:
            start.wait()
            got: list[int] = []
            for _ in range(3):  # several rounds, racing each time
                with world.sessions.begin() as s:
                    got = review.claim_batch(s, user_id, size=len(got) + 3)
            claimed[user_id] = got
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(u,)) for u in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    every = [flag for got in claimed.values() for flag in got]
    assert len(every) == len(set(every)) == 6 * 9  # disjoint, and every reviewer got a batch
    assert set(every) <= flags
    with world.sessions() as s:
        holders = dict(s.execute(select(Flag.id, Flag.claimed_by)).all())
    for user_id, got in claimed.items():
        assert all(holders[flag] == user_id for flag in got)


def test_queue_page_claim_and_confirm_in_the_browserless_app(client, world):
    ids = [world.flag(n) for n in range(1, 4)]
    world.user("kim")
    login(client, "kim")
    page = client.get("/?max_distance=12").get_data(as_text=True)
    assert f"/flags/{ids[0]}" in page and f"/flags/{ids[2]}" not in page
    response = post(client, "/claim", {"max_distance": "12"})
    assert response.headers["Location"].startswith(f"/flags/{ids[0]}")
    response = post(client, f"/flags/{ids[0]}/decide", {"decision": "confirm"})
    assert response.headers["Location"].startswith(f"/flags/{ids[1]}")
    with world.sessions() as s:
        flag = s.get(Flag, ids[0])
        assert (flag.status, flag.decided_by, flag.claimed_by) == ("confirmed", "kim", None)
        assert flag.decided_at is not None
        assert s.get(Flag, ids[1]).claimed_by is not None
        assert s.get(Flag, ids[2]).claimed_by is None
        actions = s.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions == ["login", "claim", "decide"]


def test_skip_releases_the_claim_and_a_held_flag_cannot_be_decided_by_another(app, world):
    from tests.review.conftest import https_client

    ids = [world.flag(n) for n in range(1, 3)]
    world.user("kim")
    world.user("lee")
    kim, lee = https_client(app), https_client(app)
    login(kim, "kim")
    login(lee, "lee")
    post(kim, "/claim")
    refused = post(lee, f"/flags/{ids[0]}/decide", {"decision": "reject"})
    assert refused.headers["Location"] == f"/flags/{ids[0]}?order=priority"
    assert "claimed by kim" in lee.get(refused.headers["Location"]).get_data(as_text=True)
    skipped = post(kim, f"/flags/{ids[0]}/skip")
    assert skipped.headers["Location"].startswith(f"/flags/{ids[1]}")
    with world.sessions() as s:
        assert s.get(Flag, ids[0]).claimed_by is None
        assert s.get(Flag, ids[0]).status == "pending"


def test_bulk_decision_for_the_same_media_at_many_urls(client, world):
    same = "ee" * 32
    ids = [world.flag(n, sha256=same) for n in range(1, 5)]
    other = world.flag(9)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{ids[0]}").get_data(as_text=True)
    assert "The same media at 3 other pending URL(s)" in page
    post(client, f"/flags/same-media/{same}/decide", {"decision": "confirm", "from": ids[0]})
    with world.sessions() as s:
        statuses = dict(s.execute(select(Flag.id, Flag.status)).all())
        details = s.execute(
            select(AuditEntry.details).where(AuditEntry.action == "decide_same_media")
        ).scalar_one()
    assert [statuses[i] for i in ids] == ["confirmed"] * 4 and statuses[other] == "pending"
    assert str(ids) in details.replace(" ", "").replace(",", ", ")


def test_flag_page_shows_variant_distance_first_and_last_seen(client, world):
    flag_id = world.flag(3, variant="trimmed+flipx", distance=23)
    # Seen again two days later on another page: the same flag, last seen moves on.
    again = world.flag(
        3,
        variant="trimmed+flipx",
        distance=23,
        page_url="https://repost.example/page/other",
        seen_at=T0 + timedelta(days=2, hours=1, minutes=30),
    )
    assert again == flag_id
    plain = world.flag(4)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]*)</dd>", page))
    assert facts["Variant"] == "trimmed+flipx"
    assert facts["Distance"] == "23"
    # In the installation's time zone, Asia/Seoul (UTC+9), as English writes dates.
    assert facts["First seen"] == "May 1, 2026, 9:03:00\u202fPM"
    assert facts["Last seen"] == "May 3, 2026, 10:30:00\u202fPM"
    assert "Seen on 2 pages" in page
    facts = dict(
        re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]*)</dd>", client.get(f"/flags/{plain}").text)
    )
    assert (facts["Variant"], facts["Distance"]) == ("original", "14")


def test_flag_page_shows_the_page_embedding_the_player_and_the_previews_in_each_language(
    client, world
):
    embedded = world.flag(
        5,
        page_url="https://player.example/embed/77",
        media_url="https://player.example/v/77.mp4",
        embedded_in="https://repost.example/watch/77",
        algorithm="vpdq",
        evidence='{"previews": ["poster", "storyboard"], "delivery": {"form": "whole"}}',
    )
    plain = world.flag(6)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{embedded}").get_data(as_text=True)
    shown = re.search(r'<dd class="url" id="embedded-in"><a href="([^"]+)"', page)
    assert shown and shown.group(1) == "https://repost.example/watch/77"
    assert "Embedded in" in page and "&lt;iframe&gt;" in page
    previews = re.search(r'<dd id="previews">(.*?)</dd>', page, re.S).group(1)
    assert "the poster image, seek-bar thumbnails" in previews
    post(client, "/account/preferences", {"locale": "ko"})  # the same page in Korean
    page = client.get(f"/flags/{embedded}").get_data(as_text=True)
    assert "삽입한 페이지" in page and "&lt;iframe&gt;으로" in page
    previews = re.search(r'<dd id="previews">(.*?)</dd>', page, re.S).group(1)
    assert "포스터 이미지, 탐색 막대 미리보기" in previews and "poster" not in previews
    other = client.get(f"/flags/{plain}").get_data(as_text=True)
    assert 'id="embedded-in"' not in other and 'id="previews"' not in other


def _new_flags_url(page: str) -> str:
    return html.unescape(re.search(r'id="new-flags"[^>]*data-url="([^"]+)"', page, re.S).group(1))


def _new_flags(client, url: str) -> dict:
    response = client.get(url, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store, private"
    return response.get_json()


def test_the_queue_page_counts_flags_recorded_since_it_was_made_within_its_filters(client, world):
    """GET /queue/new (logged-in staff only; ``after`` required) counts the pending flags
    newer than the page, within its filters, in the user's language."""
    from crawler.db.flags import decide

    ids = [world.flag(n) for n in range(1, 4)]
    kim = world.user("kim")
    response = client.get("/queue/new?after=0", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 401 and response.get_json() == {"error": "Log in first."}
    assert client.get("/queue/new?after=0").headers["Location"].startswith("/login")
    login(client, "kim")
    for bad in ("", "?after=x", "?after=-1"):
        response = client.get(f"/queue/new{bad}", headers={"X-Requested-With": "fetch"})
        assert response.status_code == 400 and "after=ID" in response.get_json()["error"]
    page = client.get("/").get_data(as_text=True)
    url = _new_flags_url(page)
    assert url == f"/queue/new?after={ids[-1]}"
    # Without JavaScript the page is the same, with a plain link that reloads it.
    assert '<a id="reload-queue" href="/">Reload the queue to see new flags</a>' in page
    assert 'data-every="20"' in page
    filtered = _new_flags_url(client.get("/?site=gallery").get_data(as_text=True))
    assert filtered == f"/queue/new?after={ids[-1]}&site=gallery"
    assert _new_flags(client, url) == {
        "count": 0,
        "after": ids[-1],
        "message": "0 new flags: reload the queue",
    }
    world.flag(4)
    world.flag(5, site_id=_site(world, "forum"))
    with world.sessions.begin() as session:  # recorded since, but already decided: not new
        decide(session, world.flag(6), "reject", by="kim")
    assert _new_flags(client, url)["message"] == "2 new flags: reload the queue"
    assert _new_flags(client, filtered)["message"] == "1 new flag: reload the queue"
    with world.sessions.begin() as session:
        users.set_preferences(session, kim, locale="ko", timezone=None)
    assert _new_flags(client, url) == {
        "count": 2,
        "after": ids[-1],
        "message": "새 플래그 2건: 대기열 새로 고침",
    }
    # Polling writes nothing to the audit log.
    with world.sessions() as session:
        actions = set(session.execute(select(AuditEntry.action)).scalars())
    assert actions == {"login"}
