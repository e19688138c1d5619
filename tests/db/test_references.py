"""Cases and reference hashes on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crawler.db.models import ReferenceHash
from crawler.db.references import (
    AddResult,
    ImportRow,
    NewHash,
    add_reference_hashes,
    count_references,
    export_hashes,
    get_or_create_case,
    import_hashes,
    load_references,
)

PDQ = "f" * 64
PHASH = "8f373714acfcf4d0"
SHA256 = "9" * 64
MD5 = "0" * 32


def test_add_creates_the_case_and_stores_only_hashes(session):
    result = add_reference_hashes(
        session,
        "case-1",
        [NewHash("pdq", PDQ, quality=90), NewHash("phash", PHASH), NewHash("sha256", SHA256)],
        label="photo.jpg",
        media_sha256=SHA256,
    )
    session.commit()
    assert result == AddResult(added=3, existing=0)
    rows = session.scalars(select(ReferenceHash).order_by(ReferenceHash.algorithm)).all()
    assert [(r.algorithm, r.value, r.quality) for r in rows] == [
        ("pdq", PDQ, 90),
        ("phash", PHASH, None),
        ("sha256", SHA256, None),
    ]
    assert {(r.source, r.label, r.media_sha256) for r in rows} == {("file", "photo.jpg", SHA256)}
    assert all(r.created_at.utcoffset().total_seconds() == 0 for r in rows)


def test_re_adding_a_hash_is_a_no_op(session):
    add_reference_hashes(session, "case-1", [NewHash("phash", PHASH)], label="first.jpg")
    session.commit()
    again = add_reference_hashes(
        session, "case-1", [NewHash("phash", PHASH.upper()), NewHash("md5", MD5)], label="again"
    )
    session.commit()
    assert again == AddResult(added=1, existing=1)
    labels = session.execute(select(ReferenceHash.algorithm, ReferenceHash.label)).all()
    assert sorted(labels) == [("md5", "again"), ("phash", "first.jpg")]


def test_re_adding_a_hash_stored_without_a_quality_fills_it_in(session):
    """pHash and crhash had no quality before 7 December 2026: adding the file again gives
    its stored hashes one (and with it the rules for pictures on a plain ground)."""
    add_reference_hashes(session, "case-1", [NewHash("phash", PHASH), NewHash("md5", MD5)])
    session.commit()
    again = add_reference_hashes(
        session, "case-1", [NewHash("phash", PHASH, 28), NewHash("md5", MD5)]
    )
    session.commit()
    assert again == AddResult(added=0, existing=2, filled=1)
    assert [r.quality for r in load_references(session) if r.algorithm == "phash"] == [28]
    # a stored quality is never overwritten
    third = add_reference_hashes(session, "case-1", [NewHash("phash", PHASH, 90)])
    session.commit()
    assert third == AddResult(added=0, existing=1, filled=0)
    assert [r.quality for r in load_references(session) if r.algorithm == "phash"] == [28]


def test_the_same_hash_in_two_cases_is_two_references(session):
    add_reference_hashes(session, "case-1", [NewHash("phash", PHASH)])
    add_reference_hashes(session, "case-2", [NewHash("phash", PHASH)])
    session.commit()
    assert count_references(session) == {"case-1": 1, "case-2": 1}


def test_a_hash_that_is_not_hex_is_refused(session):
    with pytest.raises(ValueError, match="not hexadecimal"):
        add_reference_hashes(session, "case-1", [NewHash("phash", "not-a-hash")])


def test_get_or_create_case_returns_the_same_id(session):
    first = get_or_create_case(session, "case-1")
    assert get_or_create_case(session, " case-1 ") == first
    assert get_or_create_case(session, "case-2") != first


def test_import_is_all_or_nothing_on_a_constraint_violation(session):
    add_reference_hashes(session, "existing", [NewHash("phash", PHASH)])
    session.commit()
    rows = [
        ImportRow("new-case", "sha256", SHA256),
        ImportRow("existing", "md5", MD5),
        ImportRow("existing", "pdq", PDQ, quality=150),  # CHECK quality BETWEEN 0 AND 100
    ]
    with pytest.raises(IntegrityError, match="quality"):
        import_hashes(session, rows)
    session.rollback()
    assert export_hashes(session) == [ImportRow("existing", "phash", PHASH)]
    assert count_references(session) == {"existing": 1}  # "new-case" was not created either


def test_import_refuses_a_malformed_row_before_writing(session):
    rows = [ImportRow("case-1", "sha256", SHA256), ImportRow("case-1", "md5", "xyz")]
    with pytest.raises(ValueError, match=r"row 2: .*not hexadecimal"):
        import_hashes(session, rows)
    session.rollback()
    assert export_hashes(session) == []


def test_export_then_import_round_trips(session):
    rows = [
        ImportRow("case-b", "sha256", SHA256),
        ImportRow("case-a", "pdq", PDQ, 80),
        ImportRow("case-a", "md5", MD5),
        ImportRow("case-a", "pdq", "0" * 64, 100),
    ]
    assert import_hashes(session, rows) == AddResult(added=4, existing=0)
    session.commit()
    exported = export_hashes(session)
    assert exported == sorted(rows, key=lambda r: (r.case, r.algorithm, r.value))
    assert export_hashes(session, case="case-b") == [ImportRow("case-b", "sha256", SHA256)]
    assert import_hashes(session, exported) == AddResult(added=0, existing=4)
    session.commit()
    assert export_hashes(session) == exported


def test_import_counts_repeated_rows_once(session):
    rows = [ImportRow("case-1", "md5", MD5), ImportRow("case-1", "MD5", MD5.upper())]
    assert import_hashes(session, rows) == AddResult(added=1, existing=1)


def test_import_writes_large_lists_in_chunks(session):
    rows = [ImportRow("bulk", "phash", f"{i:016x}") for i in range(1234)]
    assert import_hashes(session, rows) == AddResult(added=1234, existing=0)
    session.commit()
    assert count_references(session) == {"bulk": 1234}


def test_load_references_gives_what_the_index_needs(session):
    add_reference_hashes(session, "case-1", [NewHash("pdq", PDQ, 95), NewHash("phash", PHASH)])
    import_hashes(session, [ImportRow("case-2", "sha256", SHA256)])
    session.commit()
    loaded = load_references(session)
    assert [(r.case_name, r.algorithm, r.value, r.quality) for r in loaded] == [
        ("case-1", "pdq", PDQ, 95),
        ("case-1", "phash", PHASH, None),
        ("case-2", "sha256", SHA256, None),
    ]
    assert loaded[0].case_id == get_or_create_case(session, "case-1")
    assert len({r.id for r in loaded}) == 3


def test_reference_videos_keep_frame_hashes_once_per_case(session):
    from crawler.db import VideoFrame, add_reference_video, load_reference_videos

    video_sha = "e" * 64
    add_reference_hashes(session, "case-v", [NewHash("sha256", video_sha)])
    frames = [VideoFrame(0.0, "a" * 64, 90), VideoFrame(0.25, "b" * 64, 80)]
    assert add_reference_video(
        session, "case-v", media_sha256=video_sha, duration=8.0, frames=frames, label="clip.mp4"
    )
    assert not add_reference_video(
        session, "case-v", media_sha256=video_sha, duration=8.0, frames=frames
    )
    session.commit()
    (video,) = load_reference_videos(session)
    assert video.frames == tuple(frames) and video.duration == 8.0
    assert video.middles == ()  # none given: stored as before middles were hashed
    (reference,) = [r for r in load_references(session) if r.algorithm == "sha256"]
    assert video.reference_id == reference.id


def test_reference_videos_keep_their_middles_and_withdrawn_ones_load_none(session):
    from crawler.db import (
        VideoFrame,
        add_reference_video,
        load_reference_videos,
        withdraw_references,
    )

    for case, sha in (("case-m", "c" * 64), ("case-w", "d" * 64)):
        add_reference_hashes(session, case, [NewHash("sha256", sha)])
        add_reference_video(
            session,
            case,
            media_sha256=sha,
            duration=3.0,
            frames=[VideoFrame(0.0, "a" * 64, 90), VideoFrame(0.25, "b" * 64, 80)],
            middles=[VideoFrame(1.0, "e" * 64, 80), VideoFrame(0.0, "d" * 64, 90)],
        )
    withdraw_references(session, "case-w")
    session.commit()
    (video,) = load_reference_videos(session)
    assert video.middles == (VideoFrame(0.0, "d" * 64, 90), VideoFrame(1.0, "e" * 64, 80))


def test_a_video_stored_without_middles_gains_them_when_added_again(session):
    from crawler.db import VideoFrame, add_reference_video, load_reference_videos

    sha = "f" * 64
    add_reference_hashes(session, "case-f", [NewHash("sha256", sha)])
    frames = [VideoFrame(0.0, "a" * 64, 90), VideoFrame(0.25, "b" * 64, 80)]
    # Stored as before middles were hashed (or after migration 0017 deleted them).
    assert add_reference_video(session, "case-f", media_sha256=sha, duration=3.0, frames=frames)
    session.commit()
    assert load_reference_videos(session)[0].middles == ()
    # `refs add` of the same file again: still the same video, now with its middles; its
    # frames stay as they were.
    middles = [VideoFrame(1.0, "9" * 64, 80), VideoFrame(0.0, "8" * 64, 90)]
    other = [VideoFrame(0.0, "7" * 64, 90)]
    assert not add_reference_video(
        session, "case-f", media_sha256=sha, duration=3.0, frames=other, middles=middles
    )
    session.commit()
    (video,) = load_reference_videos(session)
    assert video.middles == (VideoFrame(0.0, "8" * 64, 90), VideoFrame(1.0, "9" * 64, 80))
    assert video.frames == tuple(frames)
    # Once stored, they are not stored twice nor replaced.
    assert not add_reference_video(
        session, "case-f", media_sha256=sha, duration=3.0, frames=frames, middles=other
    )
    session.commit()
    assert load_reference_videos(session)[0].middles == video.middles


def test_a_video_needs_its_sha256_reference_first(session):
    from crawler.db import VideoFrame, add_reference_video

    with pytest.raises(ValueError, match="add its sha256 first"):
        add_reference_video(
            session,
            "case-v",
            media_sha256="f" * 64,
            duration=1.0,
            frames=[VideoFrame(0.0, "a" * 64, 90)],
        )


def test_withdrawn_references_stop_loading_and_come_back_when_added_again(session):
    from datetime import timedelta

    from crawler.db import reference_changes, withdraw_references
    from crawler.db.models import utcnow

    start = utcnow() - timedelta(seconds=1)
    add_reference_hashes(session, "case-w", [NewHash("md5", MD5)], media_sha256=SHA256)
    add_reference_hashes(session, "case-w", [NewHash("sha256", SHA256)], media_sha256=SHA256)
    session.commit()
    md5_id, sha_id = (r.id for r in load_references(session))
    assert {r.id for r in reference_changes(session, start).active} == {md5_id, sha_id}

    assert withdraw_references(session, "case-w", media_sha256=[SHA256]) == 2
    session.commit()
    assert load_references(session) == []
    assert export_hashes(session) == []
    assert sorted(reference_changes(session, start).withdrawn) == sorted([md5_id, sha_id])

    again = add_reference_hashes(session, "case-w", [NewHash("md5", MD5)])
    session.commit()
    assert again == AddResult(added=1, existing=0)
    assert [r.id for r in load_references(session)] == [md5_id]
    with pytest.raises(ValueError, match="no case named 'nope'"):
        withdraw_references(session, "nope")
