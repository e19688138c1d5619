"""Hash media bytes: exact digests for all media; pHash, PDQ and crhash for images.

    >>> hashes = hash_media(open("photo.jpg", "rb").read())
    >>> hashes.get("pdq").hex, hashes.get("pdq").quality
    >>> [(v.variant, v.value.algorithm) for v in hashes.variants]  # turned, mirrored, trimmed

Images are decoded for hashing only as far as hashing needs (`open_luma`: luma only, JPEGs at a
reduced DCT scale). ``hashes`` hold what a reference stores; ``variants`` and ``keypoints`` only
serve matching (see `MediaHashes`). `crawler.hashing` re-exports `hash_media` and `hash_file`.

Pure: standard library, numpy, Pillow, imagehash, pdqhash and OpenCV (crhash) only. `hash_media`
is a plain module-level function so a ProcessPoolExecutor can run it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
from PIL import Image

from crawler.hashing.borders import content_box
from crawler.hashing.budget import PixelBudget
from crawler.hashing.crhash import codes_of, keypoint_features
from crawler.hashing.crpdq import region_pdq
from crawler.hashing.decode import DEFAULT_MAX_PIXELS, open_luma
from crawler.hashing.digests import md5_hex, sha256_hex
from crawler.hashing.errors import MediaError, UnsupportedMedia
from crawler.hashing.pdq import pdq_luma, pdq_variants, symmetric_size
from crawler.hashing.phash import phash, phash_variants
from crawler.hashing.regions import picture_regions
from crawler.hashing.sniff import sniff
from crawler.hashing.straighten import straightened
from crawler.hashing.types import HashValue, MediaHashes, VariantHash

#: The variant name prefix of hashes of the picture inside trimmed borders.
TRIMMED = "trimmed"
#: The variant name prefix of hashes of a picture turned a few degrees on a grown canvas, turned
#: back upright and cut out (`crawler.hashing.straighten`).
STRAIGHTENED = "straightened"
#: The variant name of the PDQ of the picture's middle band, without the caption bands (see
#: `centre_box`). Unlike the other variants, references store it too
#: (`MediaHashes.reference_values`): a captioned copy's middle equals the original's middle.
CENTRE = "centre"
#: The variant name prefix of hashes of a picture shown inside the media (a screenshot of a
#: page, a collage: `picture_regions`): ``"region"`` for the largest, ``"region2"``... for the
#: others. Crawled media only; references never store them.
REGION = "region"
#: Meme captions and subtitles sit in bands at the top and the bottom; each band is this share of
#: the height. Captions 10% of the height high, 3% from the edge, stay inside it.
CAPTION_BAND = 0.2


def hash_media(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, pixel_budget: int = 0
) -> MediaHashes:
    """Hash one downloaded file. Images get sha256, md5, phash, pdq and (when the picture has
    enough keypoints) crhash and crpdq (`crawler.hashing.crpdq`), plus variants and keypoints
    for matching; videos sha256 and md5.

    Variants: pHash and PDQ of all eight turns and mirrors (`DIHEDRAL` names; pHash's mirror
    only for a frame with borders or turned corners, whose pHash is mostly theirs); when
    `content_box` finds borders, pHash and PDQ of the picture inside them (``"trimmed"``,
    ``"trimmed+flipx"``, ``"trimmed+rot90"``, ...); when the picture stands turned a few degrees
    on a canvas grown to hold it, of the picture turned back and cut out (``"straightened"``,
    ``"straightened+flipx"``, ...: `crawler.hashing.straighten`); PDQ of the middle band
    without captions (``"centre"``, `centre_box`); and pHash and PDQ of each picture shown
    inside a screenshot or collage (``"region"``, ``"region2"``, ...: `picture_regions`).

    ``pixel_budget`` bounds the frames x area an animation's or a video's frames may decode
    (0: no bound, `PixelBudget`); past it the frames hashed so far are kept and ``over_budget``
    says so. Raises a `MediaError` subclass when the bytes are not media, will not decode or are
    too large.
    """
    sniffed = sniff(data)
    if sniffed.kind == "stream":
        raise UnsupportedMedia(
            f"an {sniffed.format.upper()} playlist, not one file: its segments are sampled "
            "(crawler.crawling.stream_fetch)"
        )
    digests = (HashValue("sha256", sha256_hex(data)), HashValue("md5", md5_hex(data)))
    budget = PixelBudget(pixel_budget)
    if sniffed.kind == "video":
        return _video(data, sniffed.format, digests, max_pixels, budget)
    decoded = open_luma(data, max_pixels=max_pixels)
    budget.spend(decoded.width, decoded.height)  # the first frame, decoded already
    # A picture reduced for hashing anyway is reduced to a size where PDQ mirrors exactly (a few
    # per cent more), which makes its eight variants one pass; small pictures keep their pixels.
    box = content_box(decoded.luma)
    upright = straightened(decoded.luma)
    # A frame with borders or turned corners is described by the picture inside them: its own
    # pHash is mostly the borders', so only the picture inside gets pHash's turns (turned, two
    # bordered frames of unrelated photos came within pHash's threshold).
    framed = box is not None or upright is not None
    hashes, variants = _perceptual(decoded.luma, symmetric=decoded.shrink > 1, turns=not framed)
    if box is not None:
        cropped = decoded.luma.crop(box)
        _, trimmed = _perceptual(cropped, symmetric=decoded.shrink > 1, include_original=True)
        variants += [VariantHash(_trimmed(item.variant), item.value) for item in trimmed]
    if upright is not None:
        _, turned_back = _perceptual(upright, symmetric=decoded.shrink > 1, include_original=True)
        variants += [VariantHash(_prefixed(STRAIGHTENED, i.variant), i.value) for i in turned_back]
    variants += _centre(decoded.luma)
    variants += _regions(decoded.luma, trimmed=box)
    crhash, keypoints = keypoint_features(decoded.luma)
    crop_hashes: list[HashValue] = []
    if crhash is not None:  # the ground its keypoints sit on: see CRHASH_PLAIN_MAX_AMBIGUITY
        (phash_value,) = (value for value in hashes if value.algorithm == "phash")
        crhash = dataclasses.replace(crhash, quality=phash_value.quality)
        crop_hashes = [crhash, region_pdq(decoded.luma, codes_of(crhash))]
    frames, duration = (), None
    if sniffed.format in _ANIMATED_FORMATS:
        from crawler.hashing.animation import animation_frame_hashes

        frames, seconds = animation_frame_hashes(data, max_pixels=max_pixels, budget=budget)
        duration = seconds if frames else None
    still = None
    if not frames:  # a still picture may be a frame of a reference video
        from crawler.hashing.video import picture_frame_hash

        still = picture_frame_hash(decoded.luma.convert("RGB"), 0.0, crops=False)
    return MediaHashes(
        kind="image",
        format=sniffed.format,
        size=len(data),
        width=decoded.width,
        height=decoded.height,
        hashes=(*digests, *hashes, *crop_hashes),
        variants=tuple(variants),
        keypoints=keypoints,
        frames=frames,
        duration=duration,
        still=still,
        over_budget=budget.exhausted,
    )


def _video(
    data: bytes,
    fmt: str,
    digests: tuple[HashValue, ...],
    max_pixels: int,
    budget: PixelBudget,
) -> MediaHashes:
    """A video's digests and, when it decodes, the PDQ of frames sampled once a second.

    A video that will not decode (truncated, unknown codec) or is too large to decode still has
    its digests: an exact copy matches whatever else fails.
    """
    from crawler.hashing.video import hash_video

    try:
        video = hash_video(data, max_pixels=max_pixels, budget=budget)
    except MediaError:
        return MediaHashes("video", fmt, len(data), None, None, digests)
    return MediaHashes(
        "video",
        fmt,
        len(data),
        video.width,
        video.height,
        digests,
        frames=video.frames,
        duration=video.duration,
        over_budget=budget.exhausted,
    )


def _perceptual(
    luma: Image.Image, *, symmetric: bool, include_original: bool = False, turns: bool = True
) -> tuple[list[HashValue], list[VariantHash]]:
    """The original's pHash and PDQ, and the variants' (with the original's too when asked;
    without ``turns``, pHash's mirror only)."""
    phashes = phash_variants(luma)
    if not turns:
        phashes = {name: phashes[name] for name in _PHASH_UNTURNED}
    size = symmetric_size(*luma.size) if symmetric else luma.size
    pdqs = pdq_variants(np.asarray(luma if size == luma.size else luma.resize(size, _REDUCE)))
    originals = [phashes["original"], pdqs["original"]]
    variants = [
        VariantHash(name, value)
        for found in (phashes, pdqs)
        for name, value in found.items()
        if include_original or name != "original"
    ]
    return originals, variants


_REDUCE = Image.Resampling.BILINEAR
#: pHash variants of a frame with borders or turned corners (see `hash_media`).
_PHASH_UNTURNED = ("original", "flipx")
#: Image formats that can hold an animation: its frames are hashed like a video's.
_ANIMATED_FORMATS = frozenset({"gif", "webp", "png"})


def centre_box(width: int, height: int) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the picture without its top and bottom caption bands
    (`CAPTION_BAND` of the height each): the full width, the middle rows."""
    band = round(height * CAPTION_BAND)
    return (0, band, width, height - band)


def _centre(luma: Image.Image) -> list[VariantHash]:
    """PDQ of the middle band (`CENTRE`). Computed the same way for a reference and for crawled
    media, so a copy with captions added over the bands matches the reference's own centre hash;
    pictures too small to have a middle get none. PDQ only: a pHash of the middle band at the
    pHash threshold matched unrelated photos (benchmarks/crhash_pairs.py, `global_run`), while
    the closest unrelated PDQ pair stayed more than twice the PDQ threshold apart."""
    box = centre_box(*luma.size)
    if box[3] - box[1] < _MIN_CENTRE_SIDE or luma.width < _MIN_CENTRE_SIDE:
        return []
    return [VariantHash(CENTRE, pdq_luma(np.asarray(luma.crop(box))))]


#: A middle band smaller than this many pixels a side is not hashed.
_MIN_CENTRE_SIDE = 32


def _regions(luma: Image.Image, *, trimmed: tuple[int, int, int, int] | None) -> list[VariantHash]:
    """pHash and PDQ of each picture `picture_regions` finds inside the media (`REGION`), as
    they are: a screenshot shows the picture upright, and each region's turns would be eight
    more lookups for an edit nobody makes to a screenshot. A region that is the picture inside
    trimmed borders (``trimmed``, `content_box`, to `_SAME_SIDE` a side) is hashed already,
    turns and all: skipped. One that is not quite (a blurred drop shadow around the picture,
    which `content_box` keeps) is hashed: its sides are snapped to the picture's edges."""
    width, height = luma.size
    found = []
    boxes = [
        box
        for box in picture_regions(luma)
        if trimmed is None or not _same_box(box, trimmed, width, height)
    ]
    for number, box in enumerate(boxes, start=1):
        name = REGION if number == 1 else f"{REGION}{number}"
        region = luma.crop(box)
        found.append(VariantHash(name, phash(region)))
        found.append(VariantHash(name, pdq_luma(np.asarray(region))))
    return found


#: Boxes whose sides are all within this share of the image's side (or 2 pixels) are the same.
_SAME_SIDE = 0.01


def _same_box(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int], width: int, height: int
) -> bool:
    slack = (max(2, _SAME_SIDE * width), max(2, _SAME_SIDE * height)) * 2
    return all(abs(p - q) <= d for p, q, d in zip(a, b, slack, strict=True))


def _trimmed(variant: str) -> str:
    return _prefixed(TRIMMED, variant)


def _prefixed(prefix: str, variant: str) -> str:
    return prefix if variant == "original" else f"{prefix}+{variant}"


def hash_file(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """`hash_media` of a file's bytes."""
    return hash_media(Path(path).read_bytes(), max_pixels=max_pixels)
