"""Reposts: media of a case found again after its flag was removed, at any URL, becomes a new
flag pointing at the removed one, at the top of the review queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crawler.db import rechecks as db_rechecks
from crawler.db.flags import REPOST_PRIORITY, MatchRecord, record_match
from crawler.db.models import Flag, ReferenceHash
from crawler.db.references import NewHash, add_reference_hashes
from crawler.db.runs import ensure_site
from tests.takedown.conftest import T0

SHA = "9e" * 32


def _seen(world, *, media_url, sha=SHA, reference_id=None, at, site="board"):
    result = record_match(
        world.session,
        MatchRecord(
            run_id=world.run_id,
            site_id=ensure_site(world.session, site),
            page_url=media_url.replace("/media/", "/post/"),
            media_url=media_url,
            media_sha256=sha,
            case_id=world.case_id,
            reference_id=reference_id or world.reference_id,
            algorithm="pdq",
            distance=3,
            seen_at=at,
        ),
    )
    world.session.commit()
    return result


def _removed(world) -> int:
    flag_id = world.flag(media_url="https://board.example/media/a.jpg", media_sha256=SHA)
    db_rechecks.mark_removed(world.session, flag_id, now=T0 + timedelta(hours=5), reason="x")
    world.session.commit()
    return flag_id


def test_the_same_media_at_another_url_after_removal_is_a_repost(world):
    removed = _removed(world)
    mirror = "https://mirror.example/media/z.jpg"
    again = _seen(world, media_url=mirror, at=T0 + timedelta(days=1), site="mirror")
    assert again.created
    flag = world.session.get(Flag, again.flag_id)
    assert (flag.status, flag.repost_of_flag_id) == ("pending", removed)
    assert flag.priority == REPOST_PRIORITY


def test_the_same_media_put_back_at_the_same_url_is_a_new_flag_and_a_repost(world):
    removed = _removed(world)
    again = _seen(world, media_url="https://board.example/media/a.jpg", at=T0 + timedelta(days=2))
    assert again.created and again.flag_id != removed
    flag = world.session.get(Flag, again.flag_id)
    assert (flag.repost_of_flag_id, flag.priority) == (removed, REPOST_PRIORITY)
    old = world.session.get(Flag, removed)
    world.session.refresh(old)
    assert (old.status, old.last_seen) == ("removed", T0)  # the removed flag is left as it was
    # Seen once more: the same new flag, not a third one.
    third = _seen(world, media_url="https://board.example/media/a.jpg", at=T0 + timedelta(days=3))
    assert (third.created, third.flag_id) == (False, again.flag_id)


def test_an_edited_copy_matching_another_hash_of_the_same_reference_file_is_a_repost(world):
    removed = _removed(world)
    sha_reference = world.session.execute(
        select(ReferenceHash.id).where(ReferenceHash.algorithm == "sha256")
    ).scalar_one()
    again = _seen(
        world,
        media_url="https://other.example/media/edit.jpg",
        sha="11" * 32,
        reference_id=sha_reference,
        at=T0 + timedelta(days=1),
    )
    assert world.session.get(Flag, again.flag_id).repost_of_flag_id == removed


def test_media_seen_before_the_removal_or_other_media_is_not_a_repost(world):
    _removed(world)
    earlier = _seen(world, media_url="https://m.example/media/1.jpg", at=T0 + timedelta(hours=1))
    other_file = add_reference_hashes(
        world.session, "case-7", [NewHash("phash", "0" * 16)], media_sha256="d" * 64
    )
    assert other_file.added == 1
    other_reference = world.session.execute(
        select(ReferenceHash.id).where(ReferenceHash.algorithm == "phash")
    ).scalar_one()
    other = _seen(
        world,
        media_url="https://m.example/media/2.jpg",
        sha="22" * 32,
        reference_id=other_reference,
        at=T0 + timedelta(days=1),
    )
    for result in (earlier, other):
        flag = world.session.get(Flag, result.flag_id)
        assert (flag.repost_of_flag_id, flag.priority) == (None, 0)


def test_nothing_removed_means_no_repost(world):
    world.flag(media_url="https://board.example/media/a.jpg", media_sha256=SHA)
    again = _seen(world, media_url="https://mirror.example/media/z.jpg", at=T0 + timedelta(days=1))
    flag = world.session.get(Flag, again.flag_id)
    assert (flag.repost_of_flag_id, flag.priority) == (None, 0)
