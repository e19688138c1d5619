"""Turned copies as galleries serve them: quarter turns resized and cropped, small turns.

    python -m benchmarks.turns                  # about 10 minutes on 2 busy cores
    python -m benchmarks.turns --exif-reference --jobs 2

Each original of `benchmarks.photos` is registered as `refs add` stores it (its hashes and
stored variants, `MediaHashes.reference_values`), each its own case, in one `Matcher`. Copies:
turned 90° and 270° (the pixels at JPEG q40-95 and PNG, or only an EXIF Orientation tag), then
served as WordPress serves an upload (fit in 1024 and 300 px boxes, 1023 wide, 1023x767,
300x300 and 150x150 centre crops); an upright 300x300 crop for comparison; and turns of 2-8°
with the canvas grown (black corners), as PNG and JPEG, or cut to the largest upright rectangle
inside (as phone editors straighten). ``--exif-reference`` registers each original stored
sideways with an EXIF Orientation tag instead. Prints, per kind of copy, how many matched their
own case, the copies matched to another case, and for each miss the closest pHash and PDQ
variant.
"""

from __future__ import annotations

import argparse
import io
import math
import os
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from benchmarks import photos
from crawler.hashing import MediaHashes, hamming, hash_media
from crawler.matching import Matcher, Reference

CACHE = Path("var/bench")
QUARTER_TURNS = {"rot90": Image.Transpose.ROTATE_90, "rot270": Image.Transpose.ROTATE_270}
#: The EXIF orientation under which the original's pixels are shown turned so.
EXIF_ORIENTATION = {"rot90": 8, "rot270": 6}
SMALL_TURNS = (2, 3, 4, 5, 6, 8)


def _jpeg(image: Image.Image, quality: int, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def _fit(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Scaled down to fit in ``box``, as WordPress makes its medium and large sizes."""
    scale = min(box[0] / image.width, box[1] / image.height, 1)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _thumbnail(image: Image.Image, side: int) -> Image.Image:
    """Scaled to cover ``side`` x ``side`` and centre cropped, as WordPress's thumbnails."""
    scale = max(side / image.width, side / image.height)
    size = (max(side, round(image.width * scale)), max(side, round(image.height * scale)))
    scaled = image.resize(size, Image.Resampling.LANCZOS)
    left, top = (scaled.width - side) // 2, (scaled.height - side) // 2
    return scaled.crop((left, top, left + side, top + side))


def _straightened_by_cropping(image: Image.Image, degrees: float) -> Image.Image:
    """Turned, then cut to the largest rectangle of the same shape inside: no corners."""
    turned = image.rotate(degrees, Image.Resampling.BICUBIC)
    angle = math.radians(abs(degrees))
    width, height = image.size
    scale = 1 / (math.cos(angle) + max(width / height, height / width) * math.sin(angle))
    left, top = width * (1 - scale) / 2, height * (1 - scale) / 2
    box = (left, top, left + width * scale, top + height * scale)
    return turned.crop(tuple(round(value) for value in box))


def copies(image: Image.Image) -> list[tuple[str, bytes]]:
    """``(kind, bytes)`` of every turned copy of ``image`` (see the module)."""
    found = []
    for name, method in QUARTER_TURNS.items():
        turned = image.transpose(method)
        found += [
            (f"{name} JPEG q{quality}", _jpeg(turned, quality)) for quality in (95, 80, 60, 40)
        ]
        found.append((f"{name} by EXIF tag", _jpeg(image, 85, EXIF_ORIENTATION[name])))
        found.append((f"{name} PNG", photos._png(turned)))
        wide = (1023, max(1, round(1023 * turned.height / turned.width)))
        odd = (1023, 767) if turned.width > turned.height else (767, 1023)
        for kind, copy in (
            ("fit 1024", _fit(turned, (1024, 1024))),
            ("fit 300", _fit(turned, (300, 300))),
            ("1023 wide", turned.resize(wide, Image.Resampling.LANCZOS)),
            ("1023x767", turned.resize(odd, Image.Resampling.LANCZOS)),
            ("crop 300x300", _thumbnail(turned, 300)),
            ("crop 150x150", _thumbnail(turned, 150)),
        ):
            found.append((f"{name} {kind} q82", _jpeg(copy, 82)))
    found.append(("upright crop 300x300 q82", _jpeg(_thumbnail(image, 300), 82)))
    for degrees in SMALL_TURNS:
        grown = image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor="black")
        found.append((f"turn {degrees} PNG", photos._png(grown)))
        found.append((f"turn {degrees} JPEG q80", _jpeg(grown, 80)))
        found.append(
            (f"turn {degrees} cropped q80", _jpeg(_straightened_by_cropping(image, degrees), 80))
        )
    return found


def hash_original(
    job: tuple[photos.Original, bool],
) -> tuple[str, MediaHashes, list[tuple[str, MediaHashes]]]:
    """Runs in a worker: the original's hashes as registered, and its copies'."""
    original, exif_reference = job
    image = photos.load(original)
    if exif_reference:  # stored sideways, shown upright through its EXIF tag
        stored = _jpeg(image.transpose(Image.Transpose.ROTATE_90), 92, 6)
    else:
        stored = original.path.read_bytes()
    return (
        original.name,
        hash_media(stored),
        [(kind, hash_media(data)) for kind, data in copies(image)],
    )


def report(hashed: list[tuple[str, MediaHashes, list[tuple[str, MediaHashes]]]]) -> list[str]:
    matcher = Matcher(
        Reference(len(hashed) * slot + case + 1, case, value)
        for case, (_, reference, _) in enumerate(hashed)
        for slot, value in enumerate(reference.reference_values())
    )
    total, missed, wrong = Counter(), defaultdict(list), 0
    for case, (name, reference, found) in enumerate(hashed):
        for kind, media in found:
            total[kind] += 1
            matches = matcher.match(media)
            wrong += sum(1 for match in matches if match.case_id != case)
            if not any(match.case_id == case for match in matches):
                missed[kind].append(f"{name}: {_closest(reference, media)}")
    lines = ["| copy | matched |", "|---|---|"]
    lines += [f"| {kind} | {count - len(missed[kind])}/{count} |" for kind, count in total.items()]
    lines.append(f"\ncopies matched to another case: {wrong}")
    for kind, names in missed.items():
        if names:
            lines += [f"{kind} missed:", *(f"  {line}" for line in names)]
    return lines


def _closest(reference: MediaHashes, media: MediaHashes) -> str:
    parts = []
    for algorithm in ("phash", "pdq"):
        value = reference.get(algorithm)
        if value is None:
            continue
        distance, variant = min(
            (hamming(value.hex, item.value.hex), item.variant)
            for item in media.with_variants(algorithm)
        )
        parts.append(f"{algorithm} {distance} bits ({variant})")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turns", description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument(
        "--exif-reference",
        action="store_true",
        help="register each original stored sideways with an EXIF Orientation tag",
    )
    args = parser.parse_args(argv)
    originals, note = photos.originals(CACHE)
    print(note)
    jobs = [(original, args.exif_reference) for original in originals]
    with ProcessPoolExecutor(args.jobs) as pool:
        hashed = list(pool.map(hash_original, jobs))
    print("\n".join(report(hashed)))


if __name__ == "__main__":
    main()
