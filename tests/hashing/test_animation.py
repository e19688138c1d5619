"""Animated GIF and WebP frames are hashed like a video's and match reference videos."""

from __future__ import annotations

import io
import time
from functools import cache

import pytest

from crawler.demo import samples
from crawler.hashing import hash_media
from crawler.hashing.animation import animation_frame_hashes
from crawler.hashing.budget import PixelBudget
from crawler.hashing.video import REFERENCE_SECONDS_PER_SAMPLE, hash_video, unique_frame_hashes
from crawler.matching.video import VideoMatcher
from tests.support import media_bombs, videos

REFERENCE = ("retina", "rocket")
OTHER = ("camera", "coins")


@cache
def animated(photos: tuple[str, ...], fmt: str) -> bytes:
    """An animation made from a slideshow video's frames, every other frame, at 240x180."""
    frames, _, fps = videos.decode(videos.slideshow(photos, "mp4"))
    small = [frame.resize((240, 180)) for frame in frames[::2]]
    buffer = io.BytesIO()
    small[0].save(
        buffer, fmt, save_all=True, append_images=small[1:], duration=int(2000 / fps), loop=0
    )
    return buffer.getvalue()


def reference_matcher() -> VideoMatcher:
    video = hash_video(
        videos.slideshow(REFERENCE, "mp4"), seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE
    )
    matcher = VideoMatcher()
    matcher.add(1, 7, unique_frame_hashes(video.frames), video.duration)
    return matcher


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_of_a_reference_video_matches_it(fmt):
    media = hash_media(animated(REFERENCE, fmt))
    assert media.kind == "image" and media.duration > 4  # WebP may merge repeated frames
    assert 16 <= len(media.frames) <= 33  # about four frames a second
    assert all(frame.variants for frame in media.frames)  # turned and mirrored, for matching
    (found,) = reference_matcher().match(media.frames)
    assert found.case_id == 7 and found.variant == "original" and found.frames_aligned >= 5
    assert abs(found.offset) < 1  # the animation starts where the video does
    if fmt == "GIF":  # it plays at the video's speed (Pillow's WebP plays about 1.35x faster)
        assert abs(found.speed - 1) < 0.1


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_unrelated_animation_does_not_match(fmt):
    assert reference_matcher().match(hash_media(animated(OTHER, fmt)).frames) == []


def test_a_still_image_has_no_frames():
    media = hash_media(samples.photo_path("coffee").read_bytes())
    assert media.frames == () and media.duration is None
    gif = samples.encode(samples.load_photo("coffee"), "GIF")
    assert animation_frame_hashes(gif) == ((), 0.0)


def test_a_gif_of_thousands_of_huge_frames_stops_at_the_pixel_budget():
    bomb = media_bombs.huge_canvas_gif(3000, 6000)  # 70 KB; an hour of a core in full
    assert len(bomb) < 100_000
    started = time.monotonic()
    hashes = hash_media(bomb, pixel_budget=4 * 6000 * 6000)
    assert time.monotonic() - started < 20  # four frames' worth, on a slow shared core
    assert hashes.over_budget
    assert hashes.get("pdq") is not None  # the first frame is hashed as usual
    assert 1 <= len(hashes.frames) <= 3


def test_media_within_the_pixel_budget_is_hashed_whole():
    animation = media_bombs.huge_canvas_gif(30, 64)
    budgeted = hash_media(animation, pixel_budget=31 * 64 * 64)
    assert not budgeted.over_budget
    assert budgeted.frames == hash_media(animation).frames


def test_a_video_stops_at_the_pixel_budget():
    video = videos.slideshow(("astronaut", "coffee", "chelsea"), "mp4")
    whole = hash_video(video)
    budget = PixelBudget(10 * whole.width * whole.height)
    cut = hash_video(video, budget=budget)
    assert budget.exhausted and cut.truncated
    assert 0 < len(cut.frames) < len(whole.frames)


def test_an_animated_reference_keeps_its_middles_and_a_cropped_copy_of_it_matches():

    from crawler.hashing.animation import animation_middles

    gif = animated(REFERENCE, "GIF")
    frames, duration = animation_frame_hashes(
        gif, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False
    )
    middles = animation_middles(gif)
    assert [m.seconds for m in middles] == pytest.approx(range(len(middles)), abs=0.15)
    assert len(middles) >= int(duration) and all(m.value.quality is not None for m in middles)
    matcher = VideoMatcher()
    matcher.add(1, 7, unique_frame_hashes(frames), duration, unique_frame_hashes(middles))

    # The same animation cut by 10% off the left and the top, as a re-uploader crops it.
    def cut(picture):
        w, h = picture.size
        return picture.crop((w // 10, h // 10, w, h)).resize((w, h))

    copy = hash_media(_each_frame(gif, cut))
    (found,) = matcher.match(copy.frames)
    assert found.variant == "cropped" and abs(found.offset) < 1
    assert matcher.match(hash_media(animated(OTHER, "GIF")).frames) == []


def test_an_animated_reference_s_middle_is_a_video_s_middle_and_a_bannered_copy_matches():
    from PIL import Image, ImageDraw

    from crawler.hashing.animation import animation_middles
    from crawler.hashing.crops import MIDDLE, box_codes, crop_luma
    from crawler.hashing.phash import hamming

    gif = animated(REFERENCE, "GIF")
    frames, duration = animation_frame_hashes(
        gif, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False
    )
    middles = animation_middles(gif)
    with Image.open(io.BytesIO(gif)) as image:
        first = image.convert("RGB")
    # The same region as a reference video's frames (`crawler.hashing.crops.MIDDLE`).
    [code] = box_codes(crop_luma(first), MIDDLE)
    assert hamming(middles[0].value.hex, code.tobytes().hex()) <= 8
    # Every frame's crops looked up: this GIF's 30 frames fall between its 8 middles, 8-24 bits
    # from them, and which frames a sparser probe lands on decides whether one seeds (the
    # whole frames match the copy anyway); here the subject is the region, not the probing.
    matcher = VideoMatcher(crop_probe_every=1)
    matcher.add(1, 7, unique_frame_hashes(frames), duration, unique_frame_hashes(middles))

    # The same animation under a banner over its top fifth: found through the crops.
    def covered(picture):
        w, h = picture.size
        ImageDraw.Draw(picture).rectangle((0, 0, w, h // 5), fill=(200, 30, 30))
        return picture

    (found,) = matcher.match(hash_media(_each_frame(gif, covered)).frames)
    assert found.variant == "cropped" and abs(found.offset) < 1


def _each_frame(gif: bytes, change) -> bytes:
    """``gif`` with ``change`` (an RGB picture -> a picture) applied to every frame, each frame
    kept as long as it was, looping."""
    from PIL import Image

    with Image.open(io.BytesIO(gif)) as image:
        pictures, times = [], []
        for index in range(image.n_frames):
            image.seek(index)
            pictures.append(change(image.convert("RGB")))
            times.append(image.info.get("duration", 100))
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=times, loop=0)
    return out.getvalue()
