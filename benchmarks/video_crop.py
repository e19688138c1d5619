"""Cropped copies of a video: how far PDQ moves, the two designs measured for issue 13's "crop
up to 10%", and the one built (design (b)) run through the product code.

    python -m benchmarks.video_crop                     # all five parts
    python -m benchmarks.video_crop --only-alignment    # part 5 alone (the product's path)

Design (b) is built: ``refs add`` stores each reference's middles (`crawler.hashing.crops.MIDDLE`:
10% off the left and the right, 20% off the top and the bottom since migration 0017, so that a
banner or caption band over a fifth lies outside it; 10% off each edge before) once a second
(`crawler.hashing.video.REFERENCE_MIDDLE_SECONDS`, table ``reference_video_middles``),
`crawler.hashing.video.frame_hash` hashes each frame being checked
in the 225 boxes of `crawler.hashing.crops.GRID` (``FrameHash.crops``), and
`crawler.matching.video.VideoMatcher` looks the crops of every fourth frame up among the middles
(``crop_seed_distance``) and aligns each box that found something on its own (variant
"cropped"). Parts 1-4 are the design record, with the measurements that chose it (their own
hashing, kept as it was measured); part 5 runs the product. The reference is the 30 s slideshow
of ``tests/matching/test_video_edits.py`` (photos under a slow zoom and pan, 320x240, sampled four
times a second and deduplicated as references are). Five parts:

1. PDQ bits between a frame and the same frame cropped (centred, keeping 98-90% of each side),
   and between a centred 90% crop and the same crop moved by 1-5% of the side (median over one
   frame a second): how finely crops would have to be stored.
2. Copies cropped in several ways (centred, one axis only, off-centre), re-encoded at low
   quality and sampled once a second as a crawl does, matched by `VideoMatcher` against the
   reference's frames alone (no middles: the reference as stored before (b)) and against its
   frames plus, once a second, the PDQ of centred crops keeping each of ``--scales`` of both
   sides (extra frames at the same time: design (a) of the issue's crop work, not built).
   Printed: frames aligned, offset and speed, or "no".
3. An unrelated slideshow against the reference with crops (must be "no"), and the growth of
   the frames indexed.
4. Design (b), both sides: the reference keeps, once a second, the PDQ of its middle
   (``--inner`` cut off each edge: the part that any crop removing up to ``--inner`` of each
   side's length, split between its two edges in any way, leaves in the picture), and each
   query frame is cropped to where that middle would be under every crop on a grid (per axis,
   the share cut off the left or top and the right or bottom, each a multiple of ``--step``,
   together at most ``--inner``). Printed per copy: bits from the query frame's best grid
   crop to the reference's middle at the nearest second (median, and the share of frames within
   31 and 23 bits), and the milliseconds the grid costs a frame (Pillow, one box at a time: the
   product does all boxes in one pass, `crawler.hashing.crops.box_codes`); then the closest an
   unrelated video's frames come to any of the reference's middles. This is the design record:
   its middle is ``--inner`` off every edge, as measured then (the product's now leaves out 20%
   at the top and the bottom: part 5).
5. Design (b) as built: the reference hashed as ``refs add`` hashes it (`hash_video` with
   ``middles=True``, frames and middles through `unique_frame_hashes`) and added to a
   `VideoMatcher` with its middles; each copy (also sped up, an excerpt, uncropped, and an
   unrelated slideshow) hashed as a crawl hashes a downloaded video (`hash_video`: one frame a
   second with its variants and grid crops) and matched. ``--inner`` and ``--step`` do not
   apply: the product's are `crawler.hashing.crops.CROP_INNER` and ``CROP_STEP``. Printed per
   copy: the grid boxes whose crops found a middle (within ``crop_seed_distance``), the match
   (variant, frames, offset, speed, reference seconds), and the seconds hashing and matching.
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

from crawler.hashing.crops import grid_boxes
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


def both_sides(reference_frames, inner: float, step: float) -> None:
    middle = (inner, inner, 1 - inner, 1 - inner)
    reference = [
        (seconds, small_pdq(image, middle))
        for seconds, image in decoded(videos.encode(reference_frames))
        if pdq(image.resize((64, 64), Image.Resampling.BOX)).quality >= PDQ_MIN_QUALITY
    ]
    boxes = [tuple(box) for box in grid_boxes(inner, step, sides=inner, ends=inner)]
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


def through_product(reference_frames) -> None:
    """Part 5: design (b) as built, through `hash_video` and `VideoMatcher` (see the module)."""
    from crawler.matching.video_frames import CROP_FAMILY, QueryFrames

    reference = hash_video(
        videos.encode(reference_frames),
        seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
        variants=False,
        middles=True,
    )
    frames, middles = unique_frame_hashes(reference.frames), unique_frame_hashes(reference.middles)
    matcher = VideoMatcher()
    matcher.add(1, 10, frames, reference.duration, middles)
    copies = {name: [cropped(edges)(i) for i in reference_frames] for name, edges in CROPS.items()}
    copies["left 10% at 1.25x"] = videos.retimed(copies["left 10%"], 1.25)
    copies["top-left 10%, excerpt 8-20 s"] = videos.excerpt(copies["top-left 10%"], 8, 20)
    copies["uncropped"] = list(reference_frames)
    copies["unrelated slideshow"] = list(videos.slideshow_frames(OTHER, seconds=20.0))
    print()
    print(
        f"As built (`hash_video` and `VideoMatcher`, crop_seed_distance "
        f"{matcher.crop_seed_distance}): the reference's {len(frames)} frames and "
        f"{len(middles)} middles; each copy re-encoded at low quality, sampled once a second."
    )
    print()
    print("| copy | grid boxes that found | match | s hashing | s matching |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, edited in copies.items():
        data = videos.encode(edited, quality="low")
        started = time.perf_counter()
        query = hash_video(data).frames
        hashing = time.perf_counter() - started
        started = time.perf_counter()
        matches = matcher.match(query)
        matching = time.perf_counter() - started
        rows = QueryFrames.of(query, matcher._usable)
        seeded, _ = matcher._seeds(rows)
        boxes = np.unique(rows.family_of[seeded])
        shown = "no"
        if matches:
            m = matches[0]
            shown = (
                f"{m.variant}: {m.frames_aligned} frames, offset {m.offset:.2f} s, speed "
                f"{m.speed:.3f}, reference {m.reference_start:.1f}-{m.reference_end:.1f} s"
            )
        print(
            f"| {name} | {int((boxes >= CROP_FAMILY).sum())} | {shown} "
            f"| {hashing:.2f} for {len(query)} frames | {matching:.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="0.98,0.96,0.94,0.92,0.90")
    parser.add_argument("--inner", type=float, default=0.10)
    parser.add_argument("--step", type=float, default=0.025)
    parser.add_argument("--only-alignment", action="store_true", help="part 5 only")
    args = parser.parse_args()
    if args.only_alignment:
        through_product(videos.slideshow_frames(REFERENCE, seconds=30.0))
        return
    scales = [float(s) for s in args.scales.split(",")]
    reference_frames = videos.slideshow_frames(REFERENCE, seconds=30.0)
    sensitivity(list(reference_frames[videos.FPS // 2 :: videos.FPS]))

    data = videos.encode(reference_frames)
    video = hash_video(data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False)
    stored = unique_frame_hashes(video.frames)
    extra = crop_frames(data, scales)
    today, with_crops = VideoMatcher(), VideoMatcher()  # frames only: no middles
    today.add(1, 10, stored, video.duration)
    with_crops.add(1, 10, [*stored, *extra], video.duration)
    print(f"| copy (re-encoded, 1 sample/s) | frames only | with centred crops {args.scales} |")
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
        f"Frames indexed: {len(stored)} frames stored (of {len(video.frames)} sampled at 4/s), "
        f"{len(extra)} crop frames added ({len(scales)} a second): x"
        f"{(len(stored) + len(extra)) / len(stored):.2f} here; on footage that does not "
        f"deduplicate, x{1 + len(scales) / 4:.2f} ({len(scales)} a second on top of 4)."
    )
    print()
    both_sides(reference_frames, args.inner, args.step)
    through_product(reference_frames)


if __name__ == "__main__":
    main()
