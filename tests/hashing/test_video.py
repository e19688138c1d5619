"""hash_video: frames sampled by time and at keyframes, PDQ per frame, limits, hostile bytes."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import pickle
import random

import av
import numpy as np
import pytest

from crawler.demo.samples import photo_path
from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, pdq
from crawler.hashing.phash import hamming
from crawler.hashing.sniff import Sniffed, sniff
from crawler.hashing.types import HashValue
from crawler.hashing.video import (
    DEFAULT_UNIQUE_DISTANCE,
    FrameHash,
    VideoHashes,
    frame_pdq,
    hash_video,
    unique_frame_hashes,
)
from tests.support import videos

PHOTOS = ("astronaut", "coffee")
CONTAINERS = ("mp4", "webm", "avi", "matroska")


def test_samples_one_frame_per_second_with_the_video_s_shape():
    video = hash_video(videos.slideshow(PHOTOS))
    assert (video.width, video.height, video.fps, video.codec) == (320, 240, 15.0, "h264")
    assert (video.duration, video.frame_count, video.truncated) == (8.0, 120, False)
    # Every second, and the keyframe x264 put where the second photo starts (frame 64).
    assert [frame.seconds for frame in video.frames] == [0, 1, 2, 3, 4, 4.267, 5, 6, 7]
    assert all(frame.value.algorithm == "pdq" for frame in video.frames)


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_container_decodes_to_the_same_frames(container):
    reference = hash_video(videos.slideshow(PHOTOS)).frames
    video = hash_video(videos.slideshow(PHOTOS, container))
    assert video.duration == pytest.approx(8.0, abs=0.1)
    by_second = {frame.seconds: frame.value for frame in video.frames}
    for second in range(1, 8):  # after the black lead-in, whose hash is noise
        assert hamming(by_second[second].hex, _at(reference, second).hex) <= 12


def test_frame_hash_is_the_pdq_of_the_frame_as_shown():
    # The first frame of the still photo, decoded by PyAV, hashes as the photo encoded does.
    data = videos.slideshow(("chelsea",), zoom=0.0)
    second = hash_video(data).frames[1]
    still = videos.slideshow_frames(("chelsea",), zoom=0.0)[15]
    assert hamming(second.value.hex, frame_pdq(still).hex) <= 8
    assert hamming(frame_pdq(still).hex, pdq(still).hex) <= 16  # PDQ's own reduction: near


@pytest.mark.parametrize("photo", ["brick", "page", "chelsea"])
def test_a_half_size_copy_hashes_its_frames_alike(photo):
    """PDQ's own reduction filter widens with the picture, so textures and scanned pages moved
    32-60 bits at half size; frames averaged to 64x64 first stay within a few bits."""
    data = videos.slideshow((photo,), zoom=0.0)
    full = hash_video(data).frames
    half = hash_video(videos.transcoded(data, scale=0.5)).frames
    for second in range(1, 8):
        assert hamming(_at(half, second).hex, _at(full, second).hex) <= 16


def test_black_frames_are_kept_with_their_low_quality():
    video = hash_video(videos.slideshow(PHOTOS))
    assert video.frames[0].value.quality < PDQ_MIN_QUALITY  # the black lead-in
    assert video.low_quality_frames == 1
    assert all(frame.value.quality >= PDQ_MIN_QUALITY for frame in video.frames[1:])


def test_keyframes_between_samples_are_hashed_too():
    data = videos.slideshow(PHOTOS, "avi")  # mpeg4 puts a keyframe every few frames
    with av.open(io.BytesIO(data)) as container:
        keyframes = {round(f.time, 3) for f in container.decode(video=0) if f.key_frame}
    sampled = [frame.seconds for frame in hash_video(data).frames]
    off_the_second = [seconds for seconds in sampled if seconds != int(seconds)]
    assert off_the_second, "no keyframe was sampled"
    assert set(off_the_second) <= keyframes
    assert set(range(8)) <= set(sampled)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sampled)]
    assert min(gaps) >= 0.25 - 1e-6  # keyframes next to a sample are not hashed as well


def test_all_intra_video_is_sampled_by_time_only():
    data = videos.encode(videos.slideshow_frames(PHOTOS), "avi", quality="high", codec="mjpeg")
    assert [frame.seconds for frame in hash_video(data).frames] == [float(i) for i in range(8)]


def test_denser_sampling_on_request():
    video = hash_video(videos.slideshow(PHOTOS), seconds_per_sample=0.5)
    # The first frame at or after each half second: at 15 fps, 0.533 s for 0.5 s.
    expected = [round(math.ceil(i * 7.5) / 15, 3) for i in range(16)]
    assert [frame.seconds for frame in video.frames if frame.seconds != 4.267] == expected


def test_video_stored_sideways_is_hashed_upright():
    upright = hash_video(videos.slideshow(PHOTOS))
    sideways = hash_video(videos.stored_sideways(PHOTOS))
    assert (sideways.width, sideways.height) == (320, 240)
    for second in range(1, 8):
        assert hamming(_at(upright.frames, second).hex, _at(sideways.frames, second).hex) <= 8


def test_unique_frames_collapse_a_still_shot():
    video = hash_video(videos.slideshow(PHOTOS, zoom=0.0))
    unique = unique_frame_hashes(video.frames)
    # Black, the first photo, and the second from the keyframe where it starts.
    assert [frame.seconds for frame in unique] == [0.0, 1.0, 4.267]
    moving = hash_video(videos.slideshow(PHOTOS)).frames
    kept = unique_frame_hashes(moving)
    assert len(kept) > len(unique)
    for frame in moving:  # a frame left out is a near repeat of the one kept before it
        before = [k for k in kept if k.seconds <= frame.seconds][-1]
        assert hamming(frame.value.hex, before.value.hex) <= DEFAULT_UNIQUE_DISTANCE


def test_unique_frames_compare_with_the_last_kept_frame():
    value = pdq(videos.slideshow_frames(PHOTOS)[20]).hex
    flipped = [format(int(value, 16) ^ ((1 << n) - 1), "064x") for n in (0, 5, 10, 15)]
    frames = [
        FrameHash(float(i), HashValue("pdq", hex_value, 100)) for i, hex_value in enumerate(flipped)
    ]
    # 5 bits from the first: dropped; 10 bits: kept; 15 is 5 from 10: dropped.
    assert [f.seconds for f in unique_frame_hashes(frames, distance=8)] == [0.0, 2.0]
    assert len(unique_frame_hashes(frames, distance=0)) == 4
    assert unique_frame_hashes(()) == ()


def test_max_frames_stops_early_and_says_so():
    video = hash_video(videos.slideshow(PHOTOS), max_frames=3)
    assert [frame.seconds for frame in video.frames] == [0.0, 1.0, 2.0]
    assert video.truncated


def test_max_seconds_stops_early_and_says_so():
    video = hash_video(videos.slideshow(PHOTOS), max_seconds=2.5)
    assert [frame.seconds for frame in video.frames] == [0.0, 1.0, 2.0]
    assert video.truncated
    assert video.duration == 8.0


def test_frames_over_max_pixels_are_refused():
    with pytest.raises(MediaTooLarge, match="320x240"):
        hash_video(videos.slideshow(PHOTOS), max_pixels=320 * 240 - 1)
    assert hash_video(videos.slideshow(PHOTOS), max_pixels=320 * 240).frames


@pytest.mark.parametrize("container", CONTAINERS)
def test_generated_containers_sniff_as_video(container):
    expected = {"mp4": "mp4", "webm": "webm", "avi": "avi", "matroska": "matroska"}[container]
    assert sniff(videos.slideshow(PHOTOS, container)) == Sniffed("video", expected)


def test_remuxed_copies_sniff_as_their_new_container():
    mkv = videos.remuxed(videos.slideshow(PHOTOS), "matroska")
    assert sniff(mkv) == Sniffed("video", "matroska")
    mp4 = videos.remuxed(videos.slideshow(PHOTOS, "avi"), "mp4")
    assert sniff(mp4) == Sniffed("video", "mp4")


@pytest.mark.parametrize("container", CONTAINERS)
def test_video_cut_off_in_its_header_is_undecodable(container):
    with pytest.raises(UndecodableMedia, match="truncated or corrupt"):
        hash_video(videos.slideshow(PHOTOS, container)[:100])


def test_truncated_mp4_is_undecodable():
    # PyAV writes the index (moov) at the end, so half an MP4 has no index at all.
    data = videos.slideshow(PHOTOS)
    with pytest.raises(UndecodableMedia, match="mp4 video"):
        hash_video(data[: len(data) // 2])


@pytest.mark.parametrize("container", ["webm", "avi"])
def test_video_cut_off_midway_hashes_the_part_that_arrived(container):
    data = videos.slideshow(PHOTOS, container)
    video = hash_video(data[: len(data) // 2])
    assert video.truncated
    assert 1 <= len(video.frames) < 8
    full = {frame.seconds: frame.value for frame in hash_video(data).frames}
    # The last frame may be drawn from a partial packet; the ones before are intact.
    assert all(frame.value == full[frame.seconds] for frame in video.frames[:-1])


@pytest.mark.parametrize("container", CONTAINERS)
def test_garbage_after_the_header_is_undecodable(container):
    data = videos.slideshow(PHOTOS, container)
    garbage = data[:64] + random.Random(1).randbytes(len(data) - 64)
    with pytest.raises(UndecodableMedia):
        hash_video(garbage)


@pytest.mark.parametrize("container", CONTAINERS)
def test_damaged_bytes_never_escape_as_other_errors(container):
    data = videos.slideshow(PHOTOS, container)
    rng = random.Random(container)
    for _ in range(6):
        damaged = bytearray(data)
        for _ in range(20):
            damaged[rng.randrange(64, len(damaged))] = rng.randrange(256)
        try:
            video = hash_video(bytes(damaged))
        except MediaError:
            continue
        assert isinstance(video, VideoHashes) and video.frames


def test_audio_only_mp4_is_not_a_video_to_hash():
    data = videos.audio_only_mp4()
    assert sniff(data) == Sniffed("video", "mp4")  # its brands say MP4, like any MP4
    with pytest.raises(UnsupportedMedia, match="audio only"):
        hash_video(data)


def test_mp4_without_a_stream_is_undecodable():
    with pytest.raises(UndecodableMedia, match="no stream"):
        hash_video(videos.empty_video("mp4"))


def test_video_stream_without_frames_is_undecodable():
    with pytest.raises(UndecodableMedia, match="not one frame"):
        hash_video(videos.empty_video("avi"))


def test_images_and_other_bytes_are_not_videos():
    with pytest.raises(UnsupportedMedia, match="hash it as an image"):
        hash_video(photo_path("coffee").read_bytes())
    with pytest.raises(UnsupportedMedia):
        hash_video(b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    with pytest.raises(UnsupportedMedia):
        hash_video(b"")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="seconds_per_sample"):
        hash_video(videos.slideshow(PHOTOS), seconds_per_sample=0)
    with pytest.raises(ValueError, match="max_frames"):
        hash_video(videos.slideshow(PHOTOS), max_frames=0)


def test_result_pickles_for_a_process_pool():
    video = hash_video(videos.slideshow(PHOTOS))
    assert pickle.loads(pickle.dumps(video)) == video
    assert video.values == tuple(frame.value for frame in video.frames)


def test_near_copies_stay_within_the_pdq_threshold_frame_by_frame():
    reference = hash_video(videos.slideshow(PHOTOS)).frames
    copy = hash_video(videos.transcoded(videos.slideshow(PHOTOS), "webm", quality="low")).frames
    for second in range(1, 8):
        distance = hamming(_at(reference, second).hex, _at(copy, second).hex)
        assert distance <= PDQ_MATCH_THRESHOLD


def _at(frames: tuple[FrameHash, ...], seconds: float) -> HashValue:
    """The hash of the frame sampled at ``seconds``."""
    return next(frame.value for frame in frames if frame.seconds == seconds)


def test_a_frame_carries_its_turns_mirrors_and_the_picture_inside_letterbox_bars():
    from crawler.hashing.dihedral import apply
    from crawler.hashing.video import picture_frame_hash

    frame = videos.slideshow_frames(PHOTOS)[60]
    plain = picture_frame_hash(frame, 4.0)
    names = [item.variant for item in plain.variants]
    assert plain.seconds == 4.0 and "trimmed" not in names
    assert sorted(names) == sorted(["rot90", "rot180", "rot270", "flipx", "flipy", "transpose",
                                    "transverse"])  # fmt: skip
    for variant in ("flipx", "rot90", "transpose"):
        # The variant of the turned picture is the original's hash (PDQ mirrors exactly at 64x64)
        turned = picture_frame_hash(apply(frame, variant), 0.0)
        undone = next(item.value for item in turned.variants if item.variant == variant)
        assert hamming(undone.hex, plain.value.hex) <= 6
    boxed = videos.edited_frames([frame], "letterbox")[0]
    trimmed = picture_frame_hash(boxed, 0.0).with_variants()
    inside = next(item.value for item in trimmed if item.variant == "trimmed")
    assert (
        hamming(inside.hex, plain.value.hex) <= 20 < hamming(trimmed[0].value.hex, plain.value.hex)
    )
    assert picture_frame_hash(frame, 0.0, variants=False).variants == ()
    assert frame_pdq(frame) == plain.value


def test_frames_keep_their_times_and_variants_through_the_media_cache_json():
    from crawler.hashing import hash_media
    from crawler.hashing.crops import COARSE_BOXES
    from crawler.hashing.types import media_hashes_from_json, media_hashes_to_json

    media = hash_media(videos.slideshow(PHOTOS))
    assert media.frames and media.frames[1].seconds == 1.0 and media.frames[1].variants
    cached = media_hashes_from_json(media_hashes_to_json(media))

    # Every field but the crops, which the cache keeps for one frame in four, in the boxes of
    # the coarse grid only.
    def coarse(crops: bytes) -> bytes:
        return np.frombuffer(crops, np.uint8).reshape(-1, 32)[COARSE_BOXES].tobytes()

    assert cached == dataclasses.replace(
        media,
        frames=tuple(
            dataclasses.replace(f, crops=coarse(f.crops) if n % 4 == 0 else b"")
            for n, f in enumerate(media.frames)
        ),
    )
    assert len(cached.frames[4].crops) == 32 * 225 and len(media.frames[4].crops) == 32 * 2025
    still = hash_media(photo_path("coffee").read_bytes())
    assert still.still is not None and still.still.variants
    assert media_hashes_from_json(media_hashes_to_json(still)) == still
    # A cache entry written before frames had times: its frames cannot be aligned, so go.
    old = json.loads(media_hashes_to_json(media))
    old["frames"] = [[f.value.algorithm, f.value.hex, f.value.quality] for f in media.frames]
    del old["still"]
    assert media_hashes_from_json(json.dumps(old)).frames == ()


def test_a_frame_carries_its_crops_and_a_reference_stores_its_middles_once_a_second():
    from crawler.hashing.crops import GRID, MIDDLE, box_codes, crop_luma

    data = videos.slideshow(PHOTOS)
    checked = hash_video(data)
    assert all(len(frame.crops) == 32 * len(GRID) for frame in checked.frames)
    reference = hash_video(data, seconds_per_sample=0.25, variants=False, middles=True)
    assert all(frame.crops == b"" for frame in reference.frames)
    # One middle a second, at the first frame sampled in it, with that frame's quality.
    assert [m.seconds for m in reference.middles] == [0, 1, 2, 3, 4, 5, 6, 7]
    qualities = {frame.seconds: frame.value.quality for frame in reference.frames}
    assert all(m.value.quality == qualities[m.seconds] for m in reference.middles)
    assert hash_video(data, variants=False).middles == ()
    # A middle is the grid's first box (that of an uncut copy) of the same frame.
    still = videos.slideshow_frames(("chelsea",), zoom=0.0)[15]
    [code] = box_codes(crop_luma(still), MIDDLE)
    assert box_codes(crop_luma(still), GRID)[0].tobytes() == code.tobytes()
    frame = hash_video(videos.slideshow(("chelsea",), zoom=0.0), middles=True)
    assert hamming(frame.middles[1].value.hex, code.tobytes().hex()) <= 8
    assert hamming(frame.frames[1].crops[:32].hex(), code.tobytes().hex()) <= 8
