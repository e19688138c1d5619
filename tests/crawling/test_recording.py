"""Matches survive a database that is down: retried, spilled to a file, replayed later."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawler import db
from crawler.crawling.recording import FlagRecorder
from crawler.db.flags import MatchRecord

#: Nothing listens on port 1: every connection is refused, as when the server is down.
DOWN = "postgresql+psycopg://repostwatch:repostwatch@127.0.0.1:1/repostwatch?connect_timeout=2"


@pytest.fixture
def ids(session):
    case_id = db.get_or_create_case(session, "case-1")
    db.add_reference_hashes(session, "case-1", [db.NewHash("sha256", "ab" * 32)])
    (reference,) = db.load_references(session)
    run_id = db.start_run(session, "board")
    site_id = db.ensure_site(session, "board")
    session.commit()
    return {"case_id": case_id, "reference_id": reference.id, "run_id": run_id, "site_id": site_id}


def _record(ids, n: int) -> MatchRecord:
    return MatchRecord(
        page_url=f"https://board.example/post/{n}",
        media_url=f"https://cdn.board.example/{n}.jpg",
        media_sha256="cd" * 32,
        algorithm="sha256",
        distance=0,
        seen_at=datetime(2026, 11, 25, 6, n, tzinfo=UTC),
        **ids,
    )


def test_matches_are_spilled_when_the_database_is_down_and_replayed_later(engine, ids, tmp_path):
    spill = tmp_path / "var" / "unrecorded.jsonl"
    slept: list[float] = []
    down = FlagRecorder(
        db.make_sessionmaker(db.make_engine(DOWN)),
        spill,
        attempts=3,
        backoff=0.5,
        sleep=slept.append,
    )
    records = [_record(ids, 1), _record(ids, 2)]

    assert down.record(records) is None
    assert slept == [0.5, 1.0]  # retried with backoff before giving up
    assert down.pending() == 2
    assert "cdn.board.example/1.jpg" in spill.read_text()

    up = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert up.replay() == 2
    assert up.pending() == 0
    assert up.replay() == 0
    with db.make_sessionmaker(engine)() as session:
        flags = db.list_flags(session)
    assert sorted(f.media_url for f in flags) == [r.media_url for r in records]


def test_replaying_twice_creates_no_duplicates(engine, ids, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_record(ids, 3).to_json() + "\n")
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 1
    spill.write_text(_record(ids, 3).to_json() + "\n")  # the same match spilled again
    assert recorder.replay() == 1
    with db.make_sessionmaker(engine)() as session:
        assert len(db.list_flags(session)) == 1


def test_a_failed_replay_keeps_the_file(ids, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_record(ids, 4).to_json() + "\n")
    down = FlagRecorder(db.make_sessionmaker(db.make_engine(DOWN)), spill)
    with pytest.raises(Exception, match=r"(?i)connect"):
        down.replay()
    assert down.pending() == 1


def test_record_writes_at_once_when_the_database_is_up(engine, ids, tmp_path):
    recorder = FlagRecorder(db.make_sessionmaker(engine), tmp_path / "spill.jsonl")
    (result,) = recorder.record([_record(ids, 5)])
    assert result.created
    (again,) = recorder.record([_record(ids, 5)])
    assert again.flag_id == result.flag_id and not again.created
    assert not (tmp_path / "spill.jsonl").exists()


def test_an_unreadable_spill_line_is_set_aside_and_the_rest_replayed(engine, ids, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text('{"cut short' + "\n" + _record(ids, 6).to_json() + "\n")
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 1
    assert recorder.pending() == 0
    assert recorder.rejected_path.read_text() == '{"cut short\n'
    with db.make_sessionmaker(engine)() as session:
        assert len(db.list_flags(session)) == 1


def test_a_line_spilled_before_the_record_moved_to_the_database_layer_still_replays(
    engine, ids, tmp_path
):
    """Spill files outlive upgrades: a line as the crawler wrote it when the record was
    crawler.crawling.recording.MatchRecord must replay unchanged."""
    line = json.dumps(
        {
            "run_id": ids["run_id"],
            "site_id": ids["site_id"],
            "page_url": "https://board.example/post/7",
            "media_url": "https://cdn.board.example/7.jpg",
            "media_sha256": "cd" * 32,
            "case_id": ids["case_id"],
            "reference_id": ids["reference_id"],
            "algorithm": "sha256",
            "distance": 0,
            "seen_at": "2026-11-25T06:07:00+00:00",
            "variant": None,
            "evidence": None,
            "media_pdq": None,
            "keyword": "하늘별",
        },
        ensure_ascii=False,
    )
    spill = tmp_path / "spill.jsonl"
    spill.write_text(line + "\n", encoding="utf-8")
    assert MatchRecord.from_json(line).to_json() == line  # the format itself is unchanged
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 1
    with db.make_sessionmaker(engine)() as session:
        (flag,) = db.list_flags(session)
    assert (flag.media_url, flag.keyword) == ("https://cdn.board.example/7.jpg", "하늘별")
    assert flag.first_seen == datetime(2026, 11, 25, 6, 7, tzinfo=UTC)
