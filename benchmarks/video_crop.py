"""Cropped copies of a video: how far PDQ moves, and what storing crops of the reference buys.

    python -m benchmarks.video_crop

A measurement for issue 13's "crop up to 10%", not a feature: nothing here is stored by
`refs add`. The reference is the 30 s slideshow of ``tests/matching/test_video_edits.py``
(photos under a slow zoom and pan, 320x240, sampled four times a second and deduplicated as
references are). Five parts:

1. PDQ bits between a frame and the same frame cropped (centred, keeping 98-90% of each side),
   and between a centred 90% crop and the same crop moved by 1-5% of the side (median over one
   frame a second): how finely crops would have to be stored.
2. Copies cropped in several ways (centred, one axis only, off-centre), re-encoded at low
   quality and sampled once a second as a crawl does, matched by `VideoMatcher` against the
   reference as stored today and against the reference plus, once a second, the PDQ of centred
   crops keeping each of ``--scales`` of both sides (extra frames at the same time: design (a)
   of the issue's crop work). Printed: frames aligned, offset and speed, or "no".
3. An unrelated slideshow against the reference with crops (must be "no"), and the growth of
   the frames indexed.
4. Design (b), both sides: the reference keeps, once a second, the PDQ of its middle
   (``--inner`` cut off each edge: the part that any crop removing up to ``--inner`` of each
   side's length, split between its two edges in any way, leaves in the picture), and each
   query frame is cropped to where that middle would be under every crop on a grid (per axis,
   the share cut off the left or top and the right or bottom, each a multiple of ``--step``,
   together at most ``--inner``). Printed per copy: bits from the query frame's best grid
   crop to the reference's middle at the nearest second (median, and the share of frames within
   31 and 23 bits), and the milliseconds the grid costs a frame; then the closest an unrelated
   video's frames come to any of the reference's middles.
5. Design (b) through the real alignment: the reference's middles (one a second) are a
   `VideoMatcher` reference; of each query, every fourth usable frame is looked up in all its
   grid crops (`VideoMatcher.candidate_times`), and each grid crop that found something is then
   hashed on every frame and matched as a query of its own; the most frames aligned wins.
   Printed per copy (also sped up, an excerpt, and an unrelated slideshow): the grid crops that
   found something, the match (frames, offset, speed, reference seconds) and the seconds spent.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import av
import numpy as np
from PIL import Image

from crawler.hashing.pdq import PDQ_MIN_QUALITY, pdq
from crawler.hashing.types import FrameHash
from crawler.hashing.video import REFERENCE_SECONDS_PER_SAMPLE, hash_video, unique_frame_hashes
from crawler.matching.video import VideoMatcher
from tests.support import videos

REFERENCE = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "camera")
OTHER = ("moon", "retina", "coins", "hubble")
#: Copy name -> fraction of the side cut off (left, top, right, bottom).
CROPS: dict[str, tuple[float, float, float, float]] = {
    "centred 4%": (0.02, 0.02, 0.02, 0.02),
    "centred 6%": (0.03, 0.03, 0.03, 0.03),
    "centred 10%": (0.05, 0.05, 0.05, 0.05),
    "width only 10% (centred)": (0.05, 0.0, 0.05, 0.0),
    "left 10%": (0.10, 0.0, 0.0, 0.0),
    "left 5% + top 5%": (0.05, 0.05, 0.0, 0.0),
    "top-left 10%": (0.10, 0.10, 0.0, 0.0),
    "uneven 10%/7%": (0.07, 0.02, 0.03, 0.05),
}


def bits(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def small_pdq(image: Image.Image, box: tuple[float, float, float, float] | None = None) -> int:
    """PDQ of ``image`` (or of the part ``box``, in fractions of the sides) area-averaged to
    64x64, as `crawler.hashing.video.frame_hash` reduces frames."""
    width, height = image.size
    region = (0, 0, width, height)
    if box is not None:
        region = (box[0] * width, box[1] * height, box[2] * width, box[3] * height)
    return int(pdq(image.resize((64, 64), Image.Resampling.BOX, box=region)).hex, 16)


def sensitivity(frames: list[Image.Image]) -> None:
    print("| centred crop keeping | median bits from the whole frame |")
    print("| --- | --- |")
    for keep in (0.98, 0.96, 0.95, 0.94, 0.92, 0.90):
        cut = (1 - keep) / 2
        box = (cut, cut, 1 - cut, 1 - cut)
        median = statistics.median(bits(small_pdq(f), small_pdq(f, box)) for f in frames)
        print(f"| {keep:.0%} | {median:.0f} |")
    print()
    print("| a 90% crop moved sideways by | median bits from the centred 90% crop |")
    print("| --- | --- |")
    for shift in (0.01, 0.02, 0.03, 0.05):
        moved = (0.05 + shift, 0.05, 0.95 + shift, 0.95)
        centred = (0.05, 0.05, 0.95, 0.95)
        median = statistics.median(bits(small_pdq(f, centred), small_pdq(f, moved)) for f in frames)
        print(f"| {shift:.0%} of the width | {median:.0f} |")
    print()


def crop_frames(data: bytes, scales: list[float]) -> list[FrameHash]:
    """Once a second, the PDQ of the centred crops keeping each of ``scales`` of both sides."""
    found = []
    with av.open(io.BytesIO(data)) as container:
        due = 0.0
        for frame in container.decode(video=0):
            if frame.time is None or frame.time < due:
                continue
            due = int(frame.time) + 1.0
            image = frame.to_image()
            for keep in scales:
                cut = (1 - keep) / 2
                value = pdq(
                    image.resize(
                        (64, 64),
                        Image.Resampling.BOX,
                        box=(
                            cut * image.width,
                            cut * image.height,
                            (1 - cut) * image.width,
                            (1 - cut) * image.height,
                        ),
                    )
                )
                found.append(FrameHash(round(frame.time, 3), value))
    return found


def cropped(edges: tuple[float, float, float, float]) -> Callable[[Image.Image], Image.Image]:
    left, top, right, bottom = edges

    def edit(image: Image.Image) -> Image.Image:
        w, h = image.size
        box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
        return image.crop(box).resize(image.size)

    return edit


def describe(matches: list) -> str:
    if not matches:
        return "no"
    m = matches[0]
    return f"{m.frames_aligned} frames, offset {m.offset:.2f} s, speed {m.speed:.3f}"


def decoded(data: bytes) -> list[tuple[float, Image.Image]]:
    """The first frame at or after each whole second, with its time."""
    found = []
    with av.open(io.BytesIO(data)) as container:
        due = 0.0
        for frame in container.decode(video=0):
            if frame.time is None or frame.time < due:
                continue
            due = int(frame.time) + 1.0
            found.append((frame.time, frame.to_image()))
    return found


def grid_boxes(inner: float, step: float) -> list[tuple[float, float, float, float]]:
    """Where the reference's middle (``inner`` off each edge) lies in a copy cut by each crop of
    the grid (see the module), in fractions of the copy's sides."""
    cuts = np.arange(0, inner + 1e-9, step)
    axis = [(a, b) for a in cuts for b in cuts if a + b <= inner + 1e-9]
    boxes = []
    for left, right in axis:
        for top, bottom in axis:
            width, height = 1 - left - right, 1 - top - bottom
            boxes.append(
                (
                    (inner - left) / width,
                    (inner - top) / height,
                    (1 - inner - left) / width,
                    (1 - inner - top) / height,
                )
            )
    return boxes


def both_sides(reference_frames, inner: float, step: float) -> None:
    middle = (inner, inner, 1 - inner, 1 - inner)
    reference = [
        (seconds, small_pdq(image, middle))
        for seconds, image in decoded(videos.encode(reference_frames))
        if pdq(image.resize((64, 64), Image.Resampling.BOX)).quality >= PDQ_MIN_QUALITY
    ]
    boxes = grid_boxes(inner, step)
    print(
        f"Both sides: the reference's middle ({inner:.0%} off each edge) once a second; "
        f"{len(boxes)} grid crops a query frame (step {step:.1%})."
    )
    print()
    print("| copy (re-encoded) | median bits | within 31 | within 23 | ms a frame |")
    print("| --- | --- | --- | --- | --- |")
    for name, edges in {"uncropped": (0.0, 0.0, 0.0, 0.0), **CROPS}.items():
        edit = cropped(edges)
        query = decoded(videos.encode([edit(i) for i in reference_frames], quality="low"))
        started = time.perf_counter()
        best = []
        for seconds, image in query:
            nearest = min(reference, key=lambda item: abs(item[0] - seconds))[1]
            best.append(min(bits(small_pdq(image, box), nearest) for box in boxes))
        spent = (time.perf_counter() - started) * 1000 / len(query)
        found = np.array(best)
        print(
            f"| {name} | {np.median(found):.0f} | {(found <= 31).mean():.0%} | "
            f"{(found <= 23).mean():.0%} | {spent:.0f} |"
        )
    other = decoded(videos.encode(videos.slideshow_frames(OTHER, seconds=20.0), quality="low"))
    closest = [
        min(bits(small_pdq(image, box), value) for box in boxes for _, value in reference)
        for _, image in other
        if pdq(image.resize((64, 64), Image.Resampling.BOX)).quality >= PDQ_MIN_QUALITY
    ]
    print()
    print(
        f"Unrelated slideshow ({len(closest)} usable frames, each in {len(boxes)} grid crops, "
        f"against the reference's {len(reference)} middles): closest {min(closest)} bits, "
        f"median of each frame's closest {np.median(closest):.0f}."
    )


def through_alignment(reference_frames, inner: float, step: float) -> None:
    middle = (inner, inner, 1 - inner, 1 - inner)
    matcher = VideoMatcher()
    reference = decoded(videos.encode(reference_frames))
    matcher.add(1, 10, [FrameHash(round(t, 3), middle_pdq(i, middle)) for t, i in reference])
    boxes = grid_boxes(inner, step)
    copies = {name: [cropped(edges)(i) for i in reference_frames] for name, edges in CROPS.items()}
    copies["left 10% at 1.25x"] = videos.retimed(copies["left 10%"], 1.25)
    copies["top-left 10%, excerpt 8-20 s"] = videos.excerpt(copies["top-left 10%"], 8, 20)
    copies["unrelated slideshow"] = list(videos.slideshow_frames(OTHER, seconds=20.0))
    print()
    print("Through the alignment (grid crops on every fourth frame, then those that found):")
    print()
    print("| copy | grid crops that found | match | seconds |")
    print("| --- | ---: | --- | ---: |")
    for name, frames in copies.items():
        query = decoded(videos.encode(frames, quality="low"))
        started = time.perf_counter()
        usable = [
            (t, i)
            for t, i in query
            if pdq(i.resize((64, 64), Image.Resampling.BOX)).quality >= PDQ_MIN_QUALITY
        ]
        found: set[int] = set()
        for _, image in usable[::4]:
            # One probe per grid crop, its number standing for its time.
            probe = [FrameHash(float(n), middle_pdq(image, box)) for n, box in enumerate(boxes)]
            found.update(int(n) for n in matcher.candidate_times(probe))
        best = None
        for number in sorted(found):
            crops = [FrameHash(round(t, 3), middle_pdq(i, boxes[number])) for t, i in usable]
            matches = matcher.match(crops)
            if matches and (best is None or matches[0].frames_aligned > best.frames_aligned):
                best = matches[0]
        spent = time.perf_counter() - started
        shown = "no"
        if best is not None:
            shown = (
                f"{best.frames_aligned} frames, offset {best.offset:.2f} s, speed "
                f"{best.speed:.3f}, reference {best.reference_start:.1f}-"
                f"{best.reference_end:.1f} s"
            )
        print(f"| {name} | {len(found)} | {shown} | {spent:.1f} for {len(usable)} frames |")


def middle_pdq(image: Image.Image, box: tuple[float, float, float, float]):
    """`crawler.hashing.pdq.pdq` of the part ``box`` (fractions of the sides) of ``image``."""
    w, h = image.size
    region = (box[0] * w, box[1] * h, box[2] * w, box[3] * h)
    return pdq(image.resize((64, 64), Image.Resampling.BOX, box=region))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="0.98,0.96,0.94,0.92,0.90")
    parser.add_argument("--inner", type=float, default=0.10)
    parser.add_argument("--step", type=float, default=0.025)
    parser.add_argument("--only-alignment", action="store_true", help="part 5 only")
    args = parser.parse_args()
    if args.only_alignment:
        through_alignment(videos.slideshow_frames(REFERENCE, seconds=30.0), args.inner, args.step)
        return
    scales = [float(s) for s in args.scales.split(",")]
    reference_frames = videos.slideshow_frames(REFERENCE, seconds=30.0)
    sensitivity(list(reference_frames[videos.FPS // 2 :: videos.FPS]))

    data = videos.encode(reference_frames)
    video = hash_video(data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False)
    stored = unique_frame_hashes(video.frames)
    extra = crop_frames(data, scales)
    today, with_crops = VideoMatcher(), VideoMatcher()
    today.add(1, 10, stored, video.duration)
    with_crops.add(1, 10, [*stored, *extra], video.duration)
    print(f"| copy (re-encoded, 1 sample/s) | matched today | with centred crops {args.scales} |")
    print("| --- | --- | --- |")
    for name, edges in CROPS.items():
        edit = cropped(edges)
        query = hash_video(videos.encode([edit(i) for i in reference_frames], quality="low"))
        row = (describe(today.match(query.frames)), describe(with_crops.match(query.frames)))
        print(f"| {name} | {row[0]} | {row[1]} |")
    other = hash_video(videos.encode(videos.slideshow_frames(OTHER, seconds=20.0), quality="low"))
    print(f"| unrelated slideshow | {describe(today.match(other.frames))} | "
          f"{describe(with_crops.match(other.frames))} |")  # fmt: skip
    print()
    print(
        f"Frames indexed: {len(stored)} stored today (of {len(video.frames)} sampled at 4/s), "
        f"{len(extra)} crop frames added ({len(scales)} a second): x"
        f"{(len(stored) + len(extra)) / len(stored):.2f} here; on footage that does not "
        f"deduplicate, x{1 + len(scales) / 4:.2f} ({len(scales)} a second on top of 4)."
    )
    print()
    both_sides(reference_frames, args.inner, args.step)
    through_alignment(reference_frames, args.inner, args.step)


if __name__ == "__main__":
    main()
