"""Cases on SQLite and PostgreSQL: the case page's figures, closing a case, the dashboard's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from crawler.db import cases, dashboard, evidence, rechecks
from crawler.db.flags import MatchRecord, decide, record_match
from crawler.db.keywords import add_keywords, list_keywords
from crawler.db.models import CrawlRun, Evidence, Flag, ReferenceHash
from crawler.db.notices import approve_notice, create_notice, record_sent
from crawler.db.references import (
    NewHash,
    VideoFrame,
    add_reference_hashes,
    add_reference_video,
    load_references,
    withdraw_references,
)
from crawler.db.runs import ensure_site, finish_run, start_run

CASE = "case-9"
IMAGE_A, IMAGE_B, VIDEO = "a1" * 32, "b2" * 32, "c3" * 32
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` made: flag ids by name, the notice, the base time."""

    base: datetime
    flags: dict[str, int]
    other_flag: int
    notice_id: int


def seed(session) -> Seeded:
    """A case with image and video references (one file withdrawn), two keywords, seven flags
    on two sites in every state, a sent notice and three removals (10 h, 30 h from the notice,
    4 h from confirmation: median 10 h), evidence, crawl runs; and another case's flag.

    Times are three days back from now, so the dashboard's default 30 days hold them.
    """
    base = (datetime.now(UTC) - timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    add_reference_hashes(
        session,
        CASE,
        [NewHash("pdq", "f" * 64, 90), NewHash("phash", "0f" * 8), NewHash("sha256", IMAGE_A)],
        label="IMG_0001.jpg",
        media_sha256=IMAGE_A,
    )
    add_reference_hashes(session, CASE, [NewHash("pdq", "e" * 64, 80)], media_sha256=IMAGE_B)
    add_reference_hashes(session, CASE, [NewHash("sha256", VIDEO)], media_sha256=VIDEO)
    add_reference_video(
        session, CASE, media_sha256=VIDEO, duration=2.0, frames=[VideoFrame(0.0, "d" * 64, 70)]
    )
    withdraw_references(session, CASE, media_sha256=[IMAGE_B])
    add_keywords(session, CASE, ["하늘별", "sky star"])
    add_reference_hashes(session, "other", [NewHash("pdq", "1" * 64, 90)])
    refs = {(r.case_name, r.algorithm, r.value): r for r in load_references(session)}
    pdq = refs[(CASE, "pdq", "f" * 64)]
    other = refs[("other", "pdq", "1" * 64)]

    runs = {}
    for name, pages, media, found in (
        ("board", 10, 20, 5),
        ("board", 3, 4, 1),
        ("gallery", 7, 8, 2),
    ):
        run_id = start_run(session, name)
        finish_run(
            session,
            run_id,
            status="finished",
            finish_reason="finished",
            pages=pages,
            media=media,
            bytes=0,
            errors=0,
            flags=found,
        )
        runs[name] = run_id
    session.execute(update(CrawlRun).values(started_at=base))

    def flag(n: int, site: str, day: int, *, case=pdq) -> int:
        return record_match(
            session,
            MatchRecord(
                run_id=runs[site],
                site_id=ensure_site(session, site),
                page_url=f"https://{site}.example/page/{n}",
                media_url=f"https://{site}.example/img/{n}.jpg",
                media_sha256=f"{n:064x}",
                case_id=case.case_id,
                reference_id=case.id,
                algorithm="pdq",
                distance=n,
                seen_at=base + timedelta(days=day, minutes=n),
            ),
        ).flag_id

    ids = {
        "pending": flag(1, "board", 0),
        "rejected": flag(2, "board", 0),
        "confirmed": flag(3, "board", 0),
        "removed_10h": flag(4, "board", 1),
        "removed_30h": flag(5, "board", 1),
        "removed_4h": flag(6, "gallery", 1),
        "confirmed_gallery": flag(7, "gallery", 1),
    }
    other_flag = flag(8, "board", 2, case=other)
    decide(session, ids["rejected"], "reject", by="kim")
    for name in ("confirmed", "removed_10h", "removed_30h", "removed_4h", "confirmed_gallery"):
        decide(session, ids[name], "confirm", by="kim")
    session.execute(
        update(Flag).where(Flag.id == ids["removed_4h"]).values(decided_at=base + 2 * HOUR)
    )
    notice_id = create_notice(
        session,
        site="board",
        language="en",
        subject="Takedown",
        flag_ids=[ids["confirmed"], ids["removed_10h"], ids["removed_30h"]],
        recipient="abuse@board.example",
    )
    approve_notice(session, notice_id, by="lee")
    record_sent(session, notice_id, now=base + HOUR, resend_after=24 * HOUR)
    rechecks.mark_removed(session, ids["removed_10h"], now=base + 11 * HOUR, reason="http_404")
    rechecks.mark_removed(session, ids["removed_30h"], now=base + 31 * HOUR, reason="not_on_page")
    rechecks.mark_removed(session, ids["removed_4h"], now=base + 6 * HOUR, reason="http_410")
    for flag_id in (ids["pending"], ids["confirmed"], other_flag):
        assert evidence.store_evidence(session, flag_id, b"sealed", "image/jpeg", "0" * 64)
    session.flush()
    return Seeded(base, ids, other_flag, notice_id)


@pytest.fixture
def seeded(session) -> Seeded:
    found = seed(session)
    session.commit()
    return found


def test_case_detail_figures_are_exact(session, seeded):
    detail = cases.get_case(session, CASE)
    assert detail.summary.name == CASE
    assert detail.summary.references == 4
    assert detail.summary.flags == {"pending": 1, "confirmed": 2, "rejected": 1, "removed": 3}
    assert [(c.algorithm, c.kind, c.active, c.withdrawn) for c in detail.reference_counts] == [
        ("pdq", "image", 1, 1),
        ("phash", "image", 1, 0),
        ("sha256", "image", 1, 0),
        ("sha256", "video", 1, 0),
    ]
    assert {(h.algorithm, h.value, h.withdrawn) for h in detail.hashes} == {
        ("pdq", "f" * 64, False),
        ("pdq", "e" * 64, True),
        ("phash", "0f" * 8, False),
        ("sha256", IMAGE_A, False),
        ("sha256", VIDEO, False),
    }
    assert [k.keyword for k in detail.keywords] == ["하늘별", "sky star"]
    assert [(s.site, s.flags, s.total) for s in detail.sites] == [
        ("board", {"pending": 1, "confirmed": 1, "rejected": 1, "removed": 2}, 5),
        ("gallery", {"pending": 0, "confirmed": 1, "rejected": 0, "removed": 1}, 2),
    ]
    assert [(n.id, n.status, n.send_count, len(n.items), n.removed) for n in detail.notices] == [
        (seeded.notice_id, "sent", 1, 3, 2)
    ]
    assert sorted(r.time_to_removal for r in detail.removals) == [4 * HOUR, 10 * HOUR, 30 * HOUR]
    assert detail.median_time_to_removal == 10 * HOUR
    # The same figures `repostwatch notices removals --case` prints.
    assert detail.removals == tuple(rechecks.removals(session, case=CASE))
    assert detail.thumbnails == 0


def test_case_list_counts_each_case_alone(session, seeded):
    found = {c.name: c for c in cases.list_cases(session)}
    assert sorted(found) == ["case-9", "other"]
    assert found["other"].references == 1
    assert found["other"].flags == {"pending": 1, "confirmed": 0, "rejected": 0, "removed": 0}
    assert found[CASE].open_flags == 3


def test_unknown_case_is_refused(session, seeded):
    with pytest.raises(cases.CaseNotFound, match="no case named 'nope'"):
        cases.get_case(session, "nope")


def test_closing_a_case_deletes_its_evidence_and_withdraws_its_references(session, seeded):
    closed = cases.close_case(session, CASE, by="admin1")
    session.commit()
    assert (closed.evidence_deleted, closed.references_withdrawn, closed.keywords_withdrawn) == (
        2,
        4,
        2,
    )
    assert session.execute(select(Evidence.flag_id)).scalars().all() == [seeded.other_flag]
    assert [r.case_name for r in load_references(session)] == ["other"]
    active = select(func.count()).where(ReferenceHash.withdrawn_at.is_(None))
    assert session.execute(active.select_from(ReferenceHash)).scalar_one() == 1
    assert list_keywords(session, case=CASE) == []
    summary = cases.get_case(session, CASE).summary
    assert summary.closed_by == "admin1"
    assert summary.closed_at == closed.closed_at
    assert summary.references == 0
    # Flags and notices stay as the record.
    assert summary.flags == {"pending": 1, "confirmed": 2, "rejected": 1, "removed": 3}
    with pytest.raises(cases.CaseClosed, match="closed at"):
        cases.close_case(session, CASE, by="admin1")


def test_dashboard_figures_are_exact(session, seeded):
    base = seeded.base
    days = dashboard.flags_per_day(session, since=base - timedelta(days=1))
    assert [d.day for d in days] == [(base + timedelta(days=n)).date() for n in range(-1, 3)]
    assert [d.flags for d in days] == [
        {"pending": 0, "confirmed": 0, "rejected": 0, "removed": 0},
        {"pending": 1, "confirmed": 1, "rejected": 1, "removed": 0},
        {"pending": 0, "confirmed": 1, "rejected": 0, "removed": 3},
        {"pending": 1, "confirmed": 0, "rejected": 0, "removed": 0},
    ]
    removals = dashboard.removals_per_site(session)
    assert [(s.site, s.confirmed, s.removed, s.median_time_to_removal) for s in removals] == [
        ("board", 1, 2, 20 * HOUR),
        ("gallery", 1, 1, 4 * HOUR),
    ]
    assert [s.rate for s in removals] == [2 / 3, 0.5]
    runs = dashboard.runs_per_site(session)
    assert [(s.site, s.runs, s.pages, s.media, s.flags, s.last_started_at) for s in runs] == [
        ("board", 2, 13, 24, 6, base),
        ("gallery", 1, 7, 8, 2, base),
    ]
    assert dashboard.runs_per_site(session, since=base + HOUR) == []
    assert dashboard.flags_per_day(session, since=base + timedelta(days=5)) == []
