"""crpdq: the PDQ of the area a reference's crhash keypoints span, to check a crop match by.

A crhash match (`crawler.hashing.crhash.crop_evidence`) says that four or more of a reference's
keypoints stand in the media where one zoom, turn and shift puts them. Between two unrelated
pictures of the same kind (screenshots, sprites, star fields) that happens by chance, and the
eight keypoints a reference keeps have nothing left to tell a chance placement from a crop. The
pixels can: a reference also stores the PDQ of the box its crhash keypoints span (`region_pdq`
of the reference, under the algorithm name ``"crpdq"``), and the media's pixels where the crop
match places that box, turned and scaled back upright (`region_pdq` with the placement), hash
near it when the media is a crop of the reference and about as far as any two pictures (128
bits of 256) when it is not. `region_distances` does that for a crawl's crop matches, in a
hashing process, from the media's bytes.

    >>> stored = region_pdq(luma, codes_of(crhash))  # refs add
    >>> check = RegionCheck(codes_of(crhash), evidence.placement, (stored.hex,))
    >>> region_distances(data, [check])  # [bits], at most CRPDQ.threshold for a crop

Pure: numpy, Pillow, OpenCV and pdqhash only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from crawler.hashing.algorithms import CRPDQ
from crawler.hashing.crhash import unpack
from crawler.hashing.decode import DEFAULT_MAX_PIXELS, open_luma
from crawler.hashing.pdq import pdq_luma
from crawler.hashing.phash import hamming
from crawler.hashing.types import HashValue

#: The box of the keypoints grows by this share of the longer side on each side (a keypoint
#: stands for the 31-pixel patch around it, about 0.04 of the 384 pixels crhash works at) ...
REGION_PAD = 0.05
#: ... and to at least this share of the longer side across, about its middle (keypoints in
#: a line would span a strip too thin to hash).
REGION_MIN_SIDE = 0.25
#: The box is hashed at most this many pixels on its longer side (PDQ works at 64 anyway).
_REGION_PIXELS = 256
#: The identity placement: the reference's own box.
_UPRIGHT = (1 + 0j, 0j)


class RegionCheck(NamedTuple):
    """One crop match to check: the matched reference's crhash keypoints (codes, `codes_of`),
    where the match placed them in the media (`crawler.hashing.crhash.CropEvidence.placement`),
    and the crpdq hashes the case holds (hex; the nearest counts)."""

    codes: np.ndarray
    placement: tuple[complex, complex]
    expected: tuple[str, ...]


def keypoint_box(codes: np.ndarray) -> tuple[float, float, float, float]:
    """``(left, top, right, bottom)`` of the box a crhash's keypoints (codes) span, grown by
    `REGION_PAD` and to `REGION_MIN_SIDE`, in shares of the picture's longer side."""
    _, positions = unpack(codes)
    low = positions.min(axis=0) - REGION_PAD
    high = positions.max(axis=0) + REGION_PAD
    middle, half = (low + high) / 2, np.maximum(high - low, REGION_MIN_SIDE) / 2
    left, top = middle - half
    right, bottom = middle + half
    return float(left), float(top), float(right), float(bottom)


def region_pdq(
    luma: Image.Image, codes: np.ndarray, placement: tuple[complex, complex] = _UPRIGHT
) -> HashValue:
    """The crpdq of ``luma``: the PDQ of the box a crhash's keypoints (codes) span, where
    ``placement`` (``(zoom_turn, shift)``: a point ``p`` of the reference stands at ``shift +
    zoom_turn * p`` of ``luma``, in shares of each one's longer side) puts it, cut out upright.
    Without a placement, the box of ``luma``'s own keypoints: what a reference stores. Parts of
    the box off the picture repeat its edge."""
    zoom_turn, shift = placement
    pixels = np.asarray(luma)
    longer = max(pixels.shape)
    left, top, right, bottom = keypoint_box(codes)
    width, height = right - left, bottom - top
    # Output pixels per share of the reference's longer side: the media's own resolution, or
    # less for a large box (shrunk with area averaging first: a warp only interpolates).
    scale = min(_REGION_PIXELS / max(width, height), longer * abs(zoom_turn))
    shrink = scale / (longer * abs(zoom_turn))
    if shrink < 1:
        size = (max(1, round(pixels.shape[1] * shrink)), max(1, round(pixels.shape[0] * shrink)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        longer *= shrink
    # Output pixel (u, v) is the reference point p = (left + u / scale, top + v / scale), in
    # the media at longer * (shift + zoom_turn * p).
    a, b = zoom_turn.real * longer, zoom_turn.imag * longer
    origin = longer * (shift + zoom_turn * complex(left, top))
    warp = np.array([[a / scale, -b / scale, origin.real], [b / scale, a / scale, origin.imag]])
    box = cv2.warpAffine(
        pixels,
        warp,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    found = pdq_luma(box)
    return HashValue(CRPDQ.name, found.hex, found.quality)


def region_distances(
    data: bytes, checks: Sequence[RegionCheck], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[int]:
    """For each check, the bits between the media's crpdq where its placement puts the box and
    the nearest of the case's (`CRPDQ.threshold` or fewer confirm the crop match). Decodes
    ``data`` as `hash_media` does; runs in a hashing process. Errors are those of
    `open_luma`."""
    luma = open_luma(data, max_pixels=max_pixels).luma
    found = []
    for check in checks:
        placed = region_pdq(luma, check.codes, check.placement).hex
        found.append(min(hamming(placed, value) for value in check.expected))
    return found
