"""Frames of animated GIF, WebP and PNG images, hashed like a video's.

A repost site often turns a clip into an animated GIF or WebP. Its frames are sampled by their
display time (once a second, like a crawled video) and PDQ-hashed, so the animation can match a
reference video by frame shares (`crawler.matching.video`); its first frame is hashed as an
ordinary image too.
"""

from __future__ import annotations

from PIL import Image, ImageSequence

from crawler.hashing.decode import DEFAULT_MAX_PIXELS, _opened, _to_rgb
from crawler.hashing.pdq import pdq
from crawler.hashing.types import HashValue

#: Frames decoded at most (a GIF can declare thousands of 10 ms frames).
MAX_ANIMATION_FRAMES = 3000
#: Longest side a frame is reduced to before PDQ (PDQ itself works at 512 px at most).
FRAME_SIDE = 512
#: Display time of a frame that declares none, as browsers do (GIF "0" means about 0.1 s).
DEFAULT_FRAME_SECONDS = 0.1


def animation_frames(
    data: bytes,
    *,
    seconds_per_sample: float = 1.0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[tuple[HashValue, ...], float]:
    """PDQ of the frames shown at 0 s, ``seconds_per_sample``, 2 x that ..., and the duration.

    Returns ``((), 0.0)`` for a still image. Raises the `MediaError` kinds `open_image` raises.
    """
    with _opened(data, max_pixels) as image:
        if getattr(image, "n_frames", 1) <= 1:
            return (), 0.0
        frames: list[HashValue] = []
        shown_at, next_due = 0.0, 0.0
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= MAX_ANIMATION_FRAMES:
                break
            duration = (frame.info.get("duration") or 0) / 1000 or DEFAULT_FRAME_SECONDS
            if shown_at + duration > next_due:  # this frame is on screen at next_due
                picture = _to_rgb(frame)
                picture.thumbnail((FRAME_SIDE, FRAME_SIDE), Image.Resampling.BILINEAR)
                frames.append(pdq(picture))
                while next_due < shown_at + duration:
                    next_due += seconds_per_sample
            shown_at += duration
        return tuple(frames), shown_at
