"""Frames of animated GIF, WebP and PNG images, hashed like a video's.

A repost site often turns a clip into an animated GIF or WebP, and a GIF into an MP4. Its frames
are sampled by their display time, four times a second (`SECONDS_PER_SAMPLE`), crawled or
registered, and PDQ-hashed exactly as video frames are (`crawler.hashing.video.picture_frame_hash`),
so an animation and a video of the same frames match by temporal alignment
(`crawler.matching.video`), whichever is the reference. Its first frame is hashed as an ordinary
image too.
"""

from __future__ import annotations

from collections.abc import Iterator

from PIL import Image

from crawler.hashing.budget import PixelBudget
from crawler.hashing.decode import DEFAULT_MAX_PIXELS, _opened, _to_rgb
from crawler.hashing.types import FrameHash
from crawler.hashing.video import (
    REFERENCE_MIDDLE_SECONDS,
    picture_frame_hash,
    picture_middle_hash,
)

#: Frames decoded at most (a GIF can declare thousands of 10 ms frames).
MAX_ANIMATION_FRAMES = 3000
#: Seconds between the samples of a crawled animation: four a second, as references are sampled.
#: Animations are short (a 3 s GIF sampled once a second has two or three usable frames, too few
#: for `crawler.matching.video` to align on one offset and speed) and cheap to decode.
SECONDS_PER_SAMPLE = 0.25
#: Display time of a frame that declares none, as browsers do (GIF "0" means about 0.1 s).
DEFAULT_FRAME_SECONDS = 0.1


def animation_frame_hashes(
    data: bytes,
    *,
    seconds_per_sample: float = SECONDS_PER_SAMPLE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    budget: PixelBudget | None = None,
    variants: bool = True,
) -> tuple[tuple[FrameHash, ...], float]:
    """The frames shown at 0 s, ``seconds_per_sample``, 2 x that ..., each with the time it is
    first shown, and the duration: hashed as video frames are (`picture_frame_hash`, with the
    turned, mirrored and trimmed variants unless ``variants`` is False, as for references).

    Returns ``((), 0.0)`` for a still image. Raises the `MediaError` kinds `open_image` raises.
    Every frame decoded spends the canvas's area from ``budget``; decoding stops when it is
    spent (``budget.exhausted``), with the frames sampled until then.
    """
    end = [0.0]
    frames = tuple(
        picture_frame_hash(picture, shown_at, variants=variants)
        for shown_at, picture in _sampled(data, seconds_per_sample, max_pixels, budget, end)
    )
    return frames, end[0] if frames else 0.0


def animation_middles(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[FrameHash, ...]:
    """The middles (`crawler.hashing.crops.MIDDLE`) of the frames shown once a
    `REFERENCE_MIDDLE_SECONDS`, each with its frame's PDQ quality: what an animated reference
    stores so that cropped copies of it match, as a reference video does."""
    found = []
    for shown_at, picture in _sampled(data, REFERENCE_MIDDLE_SECONDS, max_pixels, None, [0.0]):
        quality = picture_frame_hash(picture, shown_at, variants=False, crops=False).value.quality
        found.append(picture_middle_hash(picture, shown_at, quality))
    return tuple(found)


def _sampled(
    data: bytes,
    seconds_per_sample: float,
    max_pixels: int,
    budget: PixelBudget | None,
    end: list[float],
) -> Iterator[tuple[float, Image.Image]]:
    """(the time it is first shown, the RGB picture) of the frames on screen at 0 s,
    ``seconds_per_sample``, 2 x that ...; nothing for a still image. ``end[0]`` is set to the
    time the frames decoded end (the duration, unless a limit stopped decoding)."""
    if not seconds_per_sample > 0:
        raise ValueError(f"seconds_per_sample must be above 0, got {seconds_per_sample}")
    budget = budget or PixelBudget()
    with _opened(data, max_pixels) as image:
        if getattr(image, "n_frames", 1) <= 1:
            return
        shown_at, next_due = 0.0, 0.0
        for index in range(min(image.n_frames, MAX_ANIMATION_FRAMES)):
            if not budget.spend(*image.size):  # before the frame is decoded
                break
            image.seek(index)
            frame = image
            duration = (frame.info.get("duration") or 0) / 1000 or DEFAULT_FRAME_SECONDS
            if shown_at + duration > next_due:  # this frame is on screen at next_due
                yield shown_at, _to_rgb(frame)
                while next_due < shown_at + duration:
                    next_due += seconds_per_sample
            shown_at += duration
            end[0] = shown_at
