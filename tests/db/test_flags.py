"""Flags on SQLite and PostgreSQL: recorded once, never lost, decided by people."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crawler.db.flags import (
    FlagNotFound,
    MatchRecord,
    count_flags,
    decide,
    get_flag,
    list_flags,
    record_match,
)
from crawler.db.models import Flag, MediaSighting
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from crawler.db.session import make_engine, make_sessionmaker

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MEDIA_SHA256 = "ab" * 32


@dataclass(frozen=True)
class World:
    case_id: int
    reference_id: int
    site_id: int
    run_id: int

    def match(self, **overrides) -> MatchRecord:
        """The record of one match; ``overrides`` replace any of its fields."""
        arguments = {
            "run_id": self.run_id,
            "site_id": self.site_id,
            "page_url": "https://repost.example/page/1",
            "media_url": "https://repost.example/img/1.jpg",
            "media_sha256": MEDIA_SHA256,
            "case_id": self.case_id,
            "reference_id": self.reference_id,
            "algorithm": "pdq",
            "distance": 12,
            "seen_at": T0,
        }
        return MatchRecord(**(arguments | overrides))


@pytest.fixture
def world(session) -> World:
    """A case with one PDQ reference, a site and a running crawl run, committed."""
    add_reference_hashes(session, "case-1", [NewHash("pdq", "f" * 64, 90)])
    (reference,) = load_references(session)
    site_id = ensure_site(session, "gallery")
    run_id = start_run(session, "gallery")
    session.commit()
    return World(reference.case_id, reference.id, site_id, run_id)


def _sightings(session, flag_id):
    query = select(MediaSighting).where(MediaSighting.flag_id == flag_id).order_by("id")
    return session.scalars(query).all()


def test_a_match_record_survives_a_round_trip_to_json(world):
    """The crawl spills the records the database cannot take as JSON lines and replays them."""
    record = world.match(
        keyword="하늘별",
        evidence='{"inliers": 30}',
        variant="flipx",
        embedded_in="https://repost.example/watch/1",
    )
    assert MatchRecord.from_json(record.to_json()) == record
    undated = world.match(seen_at=None)  # recorded as seen when it is written
    assert MatchRecord.from_json(undated.to_json()) == undated


def test_first_match_creates_a_pending_flag(session, world):
    result = record_match(session, world.match())
    session.commit()
    assert result.created
    flag = get_flag(session, result.flag_id)
    assert (flag.status, flag.case, flag.site, flag.algorithm, flag.distance) == (
        "pending",
        "case-1",
        "gallery",
        "pdq",
        12,
    )
    assert (flag.first_seen, flag.last_seen) == (T0, T0)
    assert flag.first_run_id == flag.last_run_id == world.run_id
    assert (flag.reference_id, flag.media_sha256, flag.pages_seen) == (
        world.reference_id,
        MEDIA_SHA256,
        1,
    )
    assert flag.decided_by is None and flag.decided_at is None


def test_seen_again_updates_last_seen_and_never_makes_a_second_flag(session, world):
    first = record_match(session, world.match())
    session.commit()
    run_2 = start_run(session, "gallery")
    later = T0 + timedelta(days=1)
    again = record_match(
        session, world.match(run_id=run_2, seen_at=later, distance=3, algorithm="phash")
    )
    session.commit()
    assert (again.flag_id, again.created) == (first.flag_id, False)
    assert session.scalar(select(func.count(Flag.id))) == 1
    flag = get_flag(session, first.flag_id)
    assert (flag.first_seen, flag.last_seen) == (T0, later)
    assert (flag.first_run_id, flag.last_run_id) == (world.run_id, run_2)
    # The first evidence stays as it was recorded.
    assert (flag.algorithm, flag.distance) == ("pdq", 12)
    (sighting,) = _sightings(session, first.flag_id)
    assert (sighting.first_seen, sighting.last_seen, sighting.last_run_id) == (T0, later, run_2)


def test_an_older_sighting_does_not_move_last_seen_back(session, world):
    first = record_match(session, world.match(seen_at=T0 + timedelta(hours=1)))
    record_match(session, world.match(seen_at=T0))
    session.commit()
    flag = get_flag(session, first.flag_id)
    assert flag.last_seen == T0 + timedelta(hours=1)
    assert _sightings(session, first.flag_id)[0].last_seen == T0 + timedelta(hours=1)


def test_a_flag_keeps_the_page_embedding_the_player_it_was_first_seen_in(session, world):
    player = "https://player.example/embed/1"
    first = record_match(
        session, world.match(page_url=player, embedded_in="https://repost.example/watch/1")
    )
    again = record_match(
        session,
        world.match(
            page_url=player,
            embedded_in="https://mirror.example/watch/9",
            seen_at=T0 + timedelta(hours=1),
        ),
    )
    plain = record_match(session, world.match(media_url="https://repost.example/img/2.jpg"))
    session.commit()
    assert first.created and not again.created and again.flag_id == first.flag_id
    flag = get_flag(session, first.flag_id)
    assert (flag.page_url, flag.embedded_in) == (player, "https://repost.example/watch/1")
    assert get_flag(session, plain.flag_id).embedded_in is None


def test_a_second_page_adds_a_sighting(session, world):
    first = record_match(session, world.match())
    second = record_match(session, world.match(page_url="https://repost.example/page/2"))
    record_match(session, world.match(page_url="https://repost.example/page/2"))
    session.commit()
    assert second.flag_id == first.flag_id and not second.created
    pages = [s.page_url for s in _sightings(session, first.flag_id)]
    assert pages == ["https://repost.example/page/1", "https://repost.example/page/2"]
    flag = get_flag(session, first.flag_id)
    assert flag.pages_seen == 2
    assert flag.page_url == "https://repost.example/page/1"  # the first page stays


def test_other_content_or_other_case_is_another_flag(session, world):
    first = record_match(session, world.match())
    new_content = record_match(session, world.match(media_sha256="cd" * 32))
    add_reference_hashes(session, "case-2", [NewHash("pdq", "f" * 64, 90)])
    other = next(r for r in load_references(session) if r.case_name == "case-2")
    other_case = record_match(session, world.match(case_id=other.case_id, reference_id=other.id))
    session.commit()
    assert new_content.created and other_case.created
    assert len({first.flag_id, new_content.flag_id, other_case.flag_id}) == 3


def test_very_long_urls_are_recorded(session, world):
    media_url = "https://repost.example/img/" + "x" * 20_000 + ".jpg"
    page_url = "https://repost.example/page?" + "q" * 20_000
    first = record_match(session, world.match(media_url=media_url, page_url=page_url))
    again = record_match(session, world.match(media_url=media_url, page_url=page_url))
    session.commit()
    assert first.created and not again.created
    assert get_flag(session, first.flag_id).media_url == media_url


def test_a_naive_seen_at_is_refused(session, world):
    with pytest.raises(ValueError, match="timezone-aware"):
        record_match(session, world.match(seen_at=datetime(2026, 5, 1, 12, 0)))


def test_a_rejected_flag_found_again_stays_rejected(session, world):
    first = record_match(session, world.match())
    session.commit()
    decided = decide(session, first.flag_id, "reject", by="reviewer-1")
    session.commit()
    again = record_match(session, world.match(seen_at=T0 + timedelta(days=7)))
    session.commit()
    assert (again.flag_id, again.created) == (first.flag_id, False)
    flag = get_flag(session, first.flag_id)
    assert (flag.status, flag.decided_by, flag.decided_at) == (
        "rejected",
        "reviewer-1",
        decided.decided_at,
    )
    assert flag.last_seen == T0 + timedelta(days=7)
    assert count_flags(session) == 1


def test_decide_records_who_and_when_and_can_be_changed(session, world):
    flag_id = record_match(session, world.match()).flag_id
    session.commit()
    before = datetime.now(UTC)
    confirmed = decide(session, flag_id, "confirm", by="reviewer-1")
    session.commit()
    assert (confirmed.status, confirmed.decided_by) == ("confirmed", "reviewer-1")
    assert confirmed.decided_at >= before - timedelta(seconds=1)
    assert confirmed.decided_at.tzinfo == UTC
    rejected = decide(session, flag_id, "reject", by="reviewer-2")
    session.commit()
    assert (rejected.status, rejected.decided_by) == ("rejected", "reviewer-2")
    assert rejected.decided_at >= confirmed.decided_at
    assert get_flag(session, flag_id) == rejected


def test_deciding_an_unknown_flag_raises_flag_not_found(session, world):
    with pytest.raises(FlagNotFound) as caught:
        decide(session, 42, "confirm", by="reviewer-1")
    assert str(caught.value) == "no flag with id 42; list them with `repostwatch flags list`"
    with pytest.raises(FlagNotFound):
        get_flag(session, 42)


@pytest.mark.parametrize("decision", ["confirmed", "delete", ""])
def test_a_bad_decision_is_refused(session, world, decision):
    flag_id = record_match(session, world.match()).flag_id
    with pytest.raises(ValueError, match="'confirm' or 'reject'"):
        decide(session, flag_id, decision, by="reviewer-1")
    assert get_flag(session, flag_id).status == "pending"


def test_list_flags_oldest_first_with_filters(session, world):
    newest = record_match(session, world.match(media_url="https://r.example/3.jpg"))
    oldest = record_match(
        session, world.match(media_url="https://r.example/1.jpg", seen_at=T0 - timedelta(days=2))
    )
    middle = record_match(
        session, world.match(media_url="https://r.example/2.jpg", seen_at=T0 - timedelta(days=1))
    )
    decide(session, middle.flag_id, "confirm", by="reviewer-1")
    session.commit()
    ids = [oldest.flag_id, middle.flag_id, newest.flag_id]
    assert [f.id for f in list_flags(session)] == ids
    assert [f.id for f in list_flags(session, status="pending")] == [ids[0], ids[2]]
    assert [f.id for f in list_flags(session, status="confirmed")] == [ids[1]]
    assert [f.id for f in list_flags(session, case="case-1", site="gallery", limit=2)] == ids[:2]
    assert list_flags(session, case="nobody") == []
    assert list_flags(session, site="elsewhere") == []
    with pytest.raises(ValueError, match="pending, confirmed, rejected"):
        list_flags(session, status="open")


def test_count_flags_per_run(session, world):
    record_match(session, world.match())
    run_2 = start_run(session, "gallery")
    record_match(session, world.match(run_id=run_2))  # seen again: not new in run 2
    record_match(session, world.match(run_id=run_2, media_url="https://r.example/new.jpg"))
    session.commit()
    assert count_flags(session) == 2
    assert count_flags(session, world.run_id) == 1
    assert count_flags(session, run_2) == 1
    assert count_flags(session, status="pending") == 2


def _record_once(database_url: str, record: MatchRecord, start_at: float | None = None):
    """One writer: its own engine and session, one match, one commit."""
    engine = make_engine(database_url)
    try:
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        with make_sessionmaker(engine)() as session:
            result = record_match(session, record)
            session.commit()
            return result
    finally:
        engine.dispose()


def _assert_one_flag(session, results, world):
    assert sum(result.created for result in results) == 1
    assert len({result.flag_id for result in results}) == 1
    session.rollback()  # see what the writers committed
    assert count_flags(session) == 1
    assert len(_sightings(session, results[0].flag_id)) == 1


def test_threads_recording_the_same_match_at_once_make_one_flag(database_url, session, world):
    writers = 8
    barrier = threading.Barrier(writers)

    def record():
        barrier.wait()
        return _record_once(database_url, world.match())

    with ThreadPoolExecutor(writers) as pool:
        results = [future.result() for future in [pool.submit(record) for _ in range(writers)]]
    _assert_one_flag(session, results, world)


def test_processes_recording_the_same_match_at_once_make_one_flag(database_url, session, world):
    writers = 4
    start_at = time.time() + 3  # spawned interpreters need a moment to import
    with ProcessPoolExecutor(writers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_record_once, database_url, world.match(), start_at) for _ in range(writers)
        ]
        results = [future.result() for future in futures]
    _assert_one_flag(session, results, world)


@pytest.mark.parametrize("first_writer", ["commits", "rolls back"])
def test_a_writer_waits_for_an_uncommitted_flag(database_url, engine, world, first_writer):
    """B records while A's new flag is uncommitted: B waits, then updates it or creates it."""
    with make_sessionmaker(engine)() as first_session, ThreadPoolExecutor(1) as pool:
        first = record_match(first_session, world.match())
        later = world.match(seen_at=T0 + timedelta(hours=1))
        second = pool.submit(_record_once, database_url, later)
        time.sleep(0.5)
        assert not second.done(), "the second writer should wait for the first transaction"
        if first_writer == "commits":
            first_session.commit()
        else:
            first_session.rollback()
        result = second.result(timeout=60)
    assert first.created
    assert result.created is (first_writer == "rolls back")
    with make_sessionmaker(engine)() as check:
        (flag,) = list_flags(check)
        assert flag.id == result.flag_id
        assert flag.last_seen == T0 + timedelta(hours=1)


# --- search crawls: the keyword that led to a flag -------------------------------------------
def test_a_flag_keeps_the_first_keyword_that_led_to_it(session, world):
    from crawler.db.keywords import add_keywords

    add_keywords(session, "case-1", ["하늘별", "달빛고양이"])
    add_keywords(session, "case-2", ["별빛바다"])
    first = record_match(session, world.match(keyword="하늘별"))
    later = record_match(session, world.match(keyword="달빛고양이", seen_at=T0 + timedelta(1)))
    plain = record_match(session, world.match(seen_at=T0 + timedelta(2)))  # ordinary crawl
    session.commit()
    assert first.created and later.flag_id == plain.flag_id == first.flag_id
    flag = get_flag(session, first.flag_id)
    assert (flag.keyword, flag.keyword_case, flag.last_seen) == (
        "하늘별",
        "case-1",
        T0 + timedelta(2),
    )

    # A flag an ordinary crawl raised gets the first keyword that finds it again; a keyword of
    # another case names that case; a keyword no case has (any more) is kept without one.
    other = world.match(media_url="https://repost.example/img/2.jpg")
    found = record_match(session, other)
    record_match(session, replace(other, keyword="별빛바다", seen_at=T0 + timedelta(1)))
    record_match(session, replace(other, keyword="하늘별", seen_at=T0 + timedelta(2)))
    stray = record_match(
        session, world.match(media_url="https://repost.example/img/3.jpg", keyword="nobody's")
    )
    session.commit()
    flag = get_flag(session, found.flag_id)
    assert (flag.keyword, flag.keyword_case) == ("별빛바다", "case-2")
    assert (
        get_flag(session, stray.flag_id).keyword,
        get_flag(session, stray.flag_id).keyword_case,
    ) == (
        "nobody's",
        None,
    )
    assert [f.keyword for f in list_flags(session)] == ["하늘별", "별빛바다", "nobody's"]
