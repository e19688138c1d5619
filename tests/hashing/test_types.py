"""MediaHashes and Delivery: what a sampled video carries instead of a whole-file digest."""

from __future__ import annotations

import pytest

from crawler.hashing.algorithms import HashFormatError
from crawler.hashing.types import (
    Delivery,
    FrameHash,
    HashValue,
    MediaHashes,
    media_hashes_from_json,
    media_hashes_to_json,
)

FRAME = FrameHash(2.5, HashValue("pdq", "f" * 64, 90))


def _sampled(**delivery) -> MediaHashes:
    return MediaHashes(
        kind="video",
        format="mp4",
        size=315_445_291,
        width=640,
        height=480,
        hashes=(),
        frames=(FRAME,),
        duration=1248.0,
        delivery=Delivery("ranged", 14_788_020, 315_445_291, detail="60 frames", **delivery),
    )


def test_a_sampled_video_has_no_sha256_and_is_named_by_its_partial_digest():
    media = _sampled(partial_sha256="a" * 64)
    assert media.sha256 is None
    assert media.media_key == "a" * 64
    assert media.delivery.share == 14_788_020 / 315_445_291


def test_without_a_partial_digest_the_frames_name_it():
    one, other = _sampled(), _sampled()
    assert one.media_key == other.media_key and len(one.media_key) == 64
    whole = MediaHashes("video", "mp4", 10, None, None, (HashValue("sha256", "b" * 64),))
    assert whole.media_key == whole.sha256 == "b" * 64


def test_the_delivery_survives_the_media_cache():
    media = _sampled(partial_sha256="a" * 64)
    assert media_hashes_from_json(media_hashes_to_json(media)) == media
    plain = MediaHashes("image", "png", 10, 1, 1, (HashValue("sha256", "b" * 64),))
    assert media_hashes_from_json(media_hashes_to_json(plain)).delivery is None


def test_the_evidence_json_of_a_delivery():
    delivery = Delivery("stream-budget", 100, None)
    assert delivery.to_json() == {
        "form": "stream-budget",
        "bytes_fetched": 100,
        "bytes_total": None,
    }
    assert delivery.share is None
    assert Delivery.from_json(_sampled().delivery.to_json()) == _sampled().delivery


def test_a_frame_s_crops_survive_the_media_cache_and_old_entries_have_none():
    crops = bytes(range(64)) * 3  # six boxes
    media = _sampled()
    media = MediaHashes(**{**_fields(media), "frames": (FrameHash(2.5, FRAME.value, (), crops),)})
    again = media_hashes_from_json(media_hashes_to_json(media))
    assert again.frames[0].crops == crops
    # An entry written before frames had crops: five items a frame.
    new = media_hashes_to_json(_sampled())
    old = new.replace(',[],""]]', ",[]]]")
    assert old != new and media_hashes_from_json(old).frames == _sampled().frames


def test_crops_are_whole_pdq_hashes():
    with pytest.raises(HashFormatError, match="32-byte"):
        FrameHash(1.0, FRAME.value, (), b"\0" * 33)


def _fields(media: MediaHashes) -> dict:
    return {name: getattr(media, name) for name in MediaHashes.__dataclass_fields__}
