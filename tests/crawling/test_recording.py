"""Matches survive a database that is down: retried, spilled to a file, replayed later."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from crawler import db
from crawler.crawling.recording import FlagRecorder, purge_cases, spill_line
from crawler.db.flags import MatchRecord
from crawler.db.match_keys import MatchNames, ReferenceKey
from crawler.db.models import Case

#: Nothing listens on port 1: every connection is refused, as when the server is down.
DOWN = "postgresql+psycopg://repostwatch:repostwatch@127.0.0.1:1/repostwatch?connect_timeout=2"
REFERENCE = ReferenceKey("case-1", "sha256", "ab" * 32)


@pytest.fixture
def ids(session):
    case_id = db.get_or_create_case(session, "case-1")
    db.add_reference_hashes(session, "case-1", [db.NewHash("sha256", "ab" * 32)])
    (reference,) = db.load_references(session)
    run_id = db.start_run(session, "board")
    site_id = db.ensure_site(session, "board")
    session.commit()
    return {"case_id": case_id, "reference_id": reference.id, "run_id": run_id, "site_id": site_id}


@pytest.fixture
def names(session, ids) -> MatchNames:
    return MatchNames(REFERENCE, "board", db.get_run(session, ids["run_id"]).started_at)


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


def _line(ids, names, n: int) -> str:
    return spill_line(_record(ids, n), names)


def _down(spill) -> FlagRecorder:
    return FlagRecorder(db.make_sessionmaker(db.make_engine(DOWN)), spill, attempts=1)


def test_matches_are_spilled_when_the_database_is_down_and_replayed_later(
    engine, ids, names, tmp_path
):
    spill = tmp_path / "var" / "unrecorded.jsonl"
    slept: list[float] = []
    down = FlagRecorder(
        db.make_sessionmaker(db.make_engine(DOWN)),
        spill,
        attempts=3,
        backoff=0.5,
        sleep=slept.append,
    )
    embedded = replace(_record(ids, 2), embedded_in="https://board.example/watch/2")
    records = [_record(ids, 1), embedded]

    assert down.record(records, [names, names]) is None
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
    assert [f.embedded_in for f in sorted(flags, key=lambda f: f.media_url)] == [
        None,
        "https://board.example/watch/2",
    ]


def test_replaying_twice_creates_no_duplicates(engine, ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_line(ids, names, 3) + "\n")
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 1
    spill.write_text(_line(ids, names, 3) + "\n")  # the same match spilled again
    assert recorder.replay() == 1
    with db.make_sessionmaker(engine)() as session:
        assert len(db.list_flags(session)) == 1


def test_a_replay_while_the_database_is_down_keeps_the_lines_and_raises_nothing(
    ids, names, tmp_path
):
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_line(ids, names, 4) + "\n" + _line(ids, names, 5) + "\n")
    down = _down(spill)
    assert down.replay() == 0  # a crawl that replays at its start goes on
    assert down.pending() == 2
    assert down.quarantined() == 0


def test_record_writes_at_once_when_the_database_is_up(engine, ids, names, tmp_path):
    recorder = FlagRecorder(db.make_sessionmaker(engine), tmp_path / "spill.jsonl")
    (result,) = recorder.record([_record(ids, 5)], [names])
    assert result.created
    (again,) = recorder.record([_record(ids, 5)], [names])
    assert again.flag_id == result.flag_id and not again.created
    assert not (tmp_path / "spill.jsonl").exists()


def test_spill_lines_name_the_match_without_database_ids(ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    assert _down(spill).record([_record(ids, 1)], [names]) is None
    (line,) = spill.read_text().splitlines()
    data = json.loads(line)
    assert not {"case_id", "reference_id", "site_id", "run_id"} & data.keys()
    assert (data["case"], data["reference"], data["site"]) == (
        "case-1",
        ["sha256", "ab" * 32],
        "board",
    )


def test_spill_and_quarantine_files_are_private(engine, ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text("{not a match\n")
    spill.chmod(0o644)  # as an older version left it
    recorder = _down(spill)
    assert recorder.record([_record(ids, 1)], [names]) is None
    assert stat.S_IMODE(spill.stat().st_mode) == 0o600
    FlagRecorder(db.make_sessionmaker(engine), spill).replay()
    assert stat.S_IMODE(recorder.rejected_path.stat().st_mode) == 0o600
    assert recorder.quarantined() == 1


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next_match(engine, ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_line(ids, names, 1)[:40])  # the crawl died in the middle of a line
    assert _down(spill).record([_record(ids, 2)], [names]) is None
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 1
    with db.make_sessionmaker(engine)() as session:
        (flag,) = db.list_flags(session)
    assert flag.media_url == "https://cdn.board.example/2.jpg"
    (entry,) = [json.loads(x) for x in recorder.rejected_path.read_text().splitlines()]
    assert entry["line"] == _line(ids, names, 1)[:40]
    assert "not a readable match" in entry["reason"]


def test_a_match_of_a_deleted_case_is_quarantined_and_the_others_replayed(
    engine, session, ids, names, tmp_path, caplog
):
    gone = MatchNames(
        ReferenceKey("deleted-case", "sha256", "ef" * 32), "board", names.run_started_at
    )
    spill = tmp_path / "spill.jsonl"
    lines = [_line(ids, names, 1), spill_line(_record(ids, 2), gone), _line(ids, names, 3)]
    spill.write_text("\n".join(lines) + "\n")
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 2  # the line the database can never take does not block them
    assert recorder.pending() == 0
    (entry,) = [json.loads(x) for x in recorder.rejected_path.read_text().splitlines()]
    assert entry["line"] == lines[1]
    assert "case 'deleted-case' is not in this database" in entry["reason"]
    assert "deleted-case" in caplog.text and str(recorder.rejected_path) in caplog.text
    assert recorder.replay() == 0  # and it is not tried again


def test_after_a_restore_a_match_lands_on_its_own_case_not_on_the_old_id(
    engine, session, ids, names, tmp_path
):
    spill = tmp_path / "spill.jsonl"
    assert _down(spill).record([_record(ids, 1)], [names]) is None
    # The database comes back from a backup in which the id of case-1 is another victim's.
    session.execute(update(Case).where(Case.id == ids["case_id"]).values(name="other-victim"))
    session.commit()
    db.add_reference_hashes(session, "case-1", [db.NewHash("sha256", "ab" * 32)])
    session.commit()
    assert FlagRecorder(db.make_sessionmaker(engine), spill).replay() == 1
    with db.make_sessionmaker(engine)() as fresh:
        (flag,) = db.list_flags(fresh)
    assert flag.case == "case-1"


def test_a_run_missing_after_a_restore_is_recreated_for_its_matches(engine, ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    earlier = MatchNames(REFERENCE, "board", datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC))
    spill.write_text(spill_line(_record(ids, 1), earlier) + "\n")
    assert FlagRecorder(db.make_sessionmaker(engine), spill).replay() == 1
    with db.make_sessionmaker(engine)() as session:
        (flag,) = db.list_flags(session)
        run = db.get_run(session, flag.first_run_id)
    assert (run.site, run.started_at, run.status) == ("board", earlier.run_started_at, "failed")


def test_a_line_spilled_with_database_ids_by_an_older_version_is_quarantined(engine, ids, tmp_path):
    """Ids may name another victim's case after a restore: such a line is not guessed at."""
    spill = tmp_path / "spill.jsonl"
    spill.write_text(_record(ids, 7).to_json() + "\n", encoding="utf-8")
    recorder = FlagRecorder(db.make_sessionmaker(engine), spill)
    assert recorder.replay() == 0
    (entry,) = [json.loads(x) for x in recorder.rejected_path.read_text().splitlines()]
    assert "database ids" in entry["reason"]
    with db.make_sessionmaker(engine)() as session:
        assert db.list_flags(session) == []


def test_a_closed_case_keeps_no_spilled_or_quarantined_line(engine, session, ids, names, tmp_path):
    other = MatchNames(ReferenceKey("case-2", "sha256", "ef" * 32), "board", names.run_started_at)
    spill = tmp_path / "spill.jsonl"
    kept = spill_line(_record(ids, 2), other)
    spill.write_text("\n".join([_line(ids, names, 1), kept]) + "\n")
    quarantined = {"reason": "test", "line": _line(ids, names, 3)}
    (tmp_path / "spill.jsonl.rejected").write_text(json.dumps(quarantined) + "\n")

    assert purge_cases(spill, ["case-1"]) == 2
    assert spill.read_text().splitlines() == [kept]
    assert not (tmp_path / "spill.jsonl.rejected").exists()
    assert stat.S_IMODE(spill.stat().st_mode) == 0o600


def test_a_replay_purges_the_lines_of_cases_closed_since(engine, session, ids, names, tmp_path):
    spill = tmp_path / "spill.jsonl"
    quarantined = {"reason": "test", "line": _line(ids, names, 3)}
    (tmp_path / "spill.jsonl.rejected").write_text(json.dumps(quarantined) + "\n")
    session.execute(update(Case).values(closed_at=datetime.now(UTC), closed_by="park"))
    session.commit()
    spill.write_text(_line(ids, names, 1) + "\n")
    FlagRecorder(db.make_sessionmaker(engine), spill).replay()
    assert not spill.exists()
    assert not (tmp_path / "spill.jsonl.rejected").exists()
