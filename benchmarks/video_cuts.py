"""Copies of real footage cut anywhere: recall of the crop grid per matcher setting.

    python -m benchmarks.video_cuts                           # the product's settings
    python -m benchmarks.video_cuts --settings 15,4 11,8 12,8  # crop_seed_distance,crop_probe_every
    python -m benchmarks.video_cuts --step 0.025              # query crops on another grid

A crop is rarely on our grid: a reposter cuts 3% off the left and 6% off the right, or trims a
watermark at one corner. Each of the six references of `benchmarks.video` (the generated footage
and opencv-doc's five clips, registered as ``refs add`` registers them, with their middles) is
copied 13 ways with ffmpeg and re-encoded (x264 CRF 28, scaled to 432 px wide):

- on the 2.5% grid: ``c90`` (5% off each edge), ``c95`` (2.5%), ``c90x`` (10% off the width
  only), ``c90left`` (10% off the right and the bottom: the picture's top-left 90%);
- off it: ``c92off`` (3% left, 5% right, 1% top, 5% bottom), ``c94off`` (5%, 1%, 7%, 3%) and
  four random cuts ``rand0``-``rand3`` of up to 7% an edge (seeded: the same every run);
- `benchmarks.video`'s own ``cropped`` (5% off each edge), ``banner`` and ``subtitled`` copies.

Every copy is hashed once as a crawl hashes a downloaded video (`hash_video`: a frame a second
with its variants and its crops in `crawler.hashing.crops.GRID`, or in the grid of ``--step``),
then matched by a `VideoMatcher` of the six references for each setting (with ``--step 0.025``
the crops are the coarse grid's 225 boxes, which the matcher takes for a media cache entry's
and looks up on every frame within its ``coarse_crop_seed_distance``). Printed per setting:
copies matched to their own reference, wrong matches, the copies missed; and per copy and grid,
the median bits from a frame's best box to its reference's nearest middle.

The copies are made once, into ``var/bench/video-cuts/``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path("var/bench/video-cuts")
ON_GRID = {
    "c90": "crop=iw*0.9:ih*0.9",
    "c95": "crop=iw*0.95:ih*0.95",
    "c90x": "crop=iw*0.9:ih:iw*0.05:0",
    "c90left": "crop=iw*0.9:ih*0.9:0:0",
}
OFF_GRID = {
    "c92off": "crop=iw*0.92:ih*0.94:iw*0.03:ih*0.01",
    "c94off": "crop=iw*0.94:ih*0.9:iw*0.05:ih*0.07",
}
EDITS = ("cropped", "banner", "subtitled")


def random_cuts(count: int = 4, seed: int = 5) -> dict[str, str]:
    """``count`` crops of up to 7% an edge, at least 4% off the width, each axis 10% at most."""
    rng = random.Random(seed)
    cuts = {}
    for number in range(count):
        while True:
            left, right, top, bottom = (rng.uniform(0, 0.07) for _ in range(4))
            if left + right <= 0.1 and top + bottom <= 0.1 and left + right > 0.04:
                break
        cuts[f"rand{number}"] = (
            f"crop=iw*{1 - left - right:.4f}:ih*{1 - top - bottom:.4f}:iw*{left:.4f}:ih*{top:.4f}"
        )
    return cuts


def progress(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def copy_of(reference: Path, name: str, crop: str) -> Path:
    out = CACHE / f"{reference.stem}-{name}.mp4"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f"partial-{out.name}")
        command = ["ffmpeg", "-v", "error", "-y", "-i", str(reference), "-vf"]
        command += [f"{crop},scale=432:-2", "-an", "-c:v", "libx264", "-crf", "28"]
        subprocess.run([*command, "-preset", "veryfast", str(partial)], check=True)
        partial.rename(out)
    return out


def median_best_bits(frames, middles) -> int:
    """Median over the copy's frames of the bits from its best box to the nearest middle."""
    codes = np.frombuffer(
        b"".join(bytes.fromhex(f.value.hex) for f in middles), dtype=np.uint8
    ).reshape(-1, 32)
    best = []
    for frame in frames:
        if frame.crops:
            crops = np.frombuffer(frame.crops, dtype=np.uint8).reshape(-1, 32)
            xor = crops[:, None, :] ^ codes[None, :, :]
            best.append(int(np.unpackbits(xor, axis=2).sum(axis=2).min()))
    return int(statistics.median(best)) if best else -1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--settings",
        nargs="*",
        default=[],
        help="crop_seed_distance,crop_probe_every pairs (default: the matcher's own)",
    )
    parser.add_argument(
        "--step", type=float, default=None, help="the query crops' grid step (default: CROP_STEP)"
    )
    args = parser.parse_args(argv)

    import crawler.hashing.video as hashing
    from benchmarks import video
    from crawler.hashing.crops import CROP_STEP, grid_boxes
    from crawler.matching.video import VideoMatcher
    from tests.support import streams

    step = args.step or CROP_STEP
    hashing.GRID = grid_boxes(step=step)
    progress("fetching opencv-doc's clips (once, into var/bench) and hashing the references")
    clips, version = video.opencv_clips()
    refs = video.references(clips)
    edited = video.real_copies(clips)
    cuts = {**ON_GRID, **OFF_GRID, **random_cuts()}
    queries: dict[tuple[int, str], tuple] = {}
    started = time.perf_counter()
    for number, ref in enumerate(refs):
        progress(f"hashing {ref.name}'s copies")
        for name, crop in cuts.items():
            path = copy_of(ref.path, name, crop)
            queries[number, name] = video.query_frames(path.read_bytes())
        for edit in EDITS:
            path = streams.edited(edit).path if ref.name == "generated" else edited[ref.name][edit]
            queries[number, edit] = video.query_frames(path.read_bytes())
    hashed = time.perf_counter() - started
    print(
        f"Real footage: opencv-doc {version} and the generated reference; query grid step "
        f"{step:g} ({len(hashing.GRID)} boxes); {len(queries)} copies hashed in {hashed:.0f} s"
    )

    print("\n| copy | " + " | ".join(r.name for r in refs) + " |")
    print("|---|" + "---:|" * len(refs))
    for name in (*cuts, *EDITS):
        bits = [median_best_bits(queries[n, name], r.middles) for n, r in enumerate(refs)]
        print(f"| {name} | " + " | ".join(map(str, bits)) + " |")

    try:
        settings = [tuple(map(int, s.split(","))) for s in args.settings] or [None]
    except ValueError:
        parser.error("--settings takes DISTANCE,EVERY pairs such as 11,8")
    if any(len(s) != 2 for s in settings if s is not None):
        parser.error("--settings takes DISTANCE,EVERY pairs such as 11,8")
    print(
        "\n| crop_seed_distance, crop_probe_every | found | off the grid found | wrong | "
        "ms a copy (median) | missed |"
    )
    print("|---|---:|---:|---:|---:|---|")
    off = {*OFF_GRID, *random_cuts()}
    for setting in settings:
        options = (
            {}
            if setting is None
            else dict(zip(("crop_seed_distance", "crop_probe_every"), setting, strict=True))
        )
        matcher = VideoMatcher(**options)
        for number, ref in enumerate(refs):
            matcher.add(number, number, ref.frames, ref.duration, ref.middles)
        found = off_found = wrong = 0
        missed, times = [], []
        for (number, name), frames in sorted(queries.items()):
            started = time.perf_counter()
            matches = matcher.match(frames)
            times.append(time.perf_counter() - started)
            wrong += sum(m.video_id != number for m in matches)
            if any(m.video_id == number for m in matches):
                found += 1
                off_found += name in off
            else:
                missed.append(f"{refs[number].name} {name}")
        label = f"{matcher.crop_seed_distance}, {matcher.crop_probe_every}" + (
            " (defaults)" if setting is None else ""
        )
        print(
            f"| {label} | {found}/{len(queries)} | {off_found}/{len(off) * len(refs)} | "
            f"{wrong} | {1000 * statistics.median(times):.0f} | {', '.join(missed) or '-'} |"
        )


if __name__ == "__main__":
    main()
