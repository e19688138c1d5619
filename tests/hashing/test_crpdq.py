"""crpdq: a crop match's placement checked on the media's pixels, against the reference's own."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import hash_media, open_luma
from crawler.hashing.algorithms import CRPDQ
from crawler.hashing.crhash import codes_of, crop_evidence, probe_codes
from crawler.hashing.crpdq import (
    REGION_MIN_SIDE,
    REGION_PAD,
    RegionCheck,
    keypoint_box,
    region_distances,
    region_pdq,
)


def stored(name: str) -> tuple[np.ndarray, str]:
    """A bundled photo's crhash keypoints and crpdq, as `refs add` stores them."""
    hashes = hash_media(photo_path(name).read_bytes())
    return codes_of(hashes.get("crhash")), hashes.get("crpdq").hex


def cropped(name: str, box: tuple[float, float, float, float]) -> bytes:
    """A JPEG of a bundled photo cut to ``box`` (shares of its width and height)."""
    photo = load_photo(name)
    left, top, right, bottom = box
    pixels = (left * photo.width, top * photo.height, right * photo.width, bottom * photo.height)
    return encode(photo.crop(tuple(round(p) for p in pixels)), "JPEG", quality=80)


def placement_in(data: bytes, codes: np.ndarray) -> tuple[complex, complex]:
    evidence = crop_evidence(probe_codes(hash_media(data).keypoints), codes)
    assert evidence.is_match()
    return evidence.placement


def test_the_box_spans_the_keypoints_grown_by_the_pad():
    codes, _ = stored("astronaut")
    left, top, right, bottom = keypoint_box(codes)
    positions = (codes & np.uint64(0xFFFF)).astype(np.int64)
    x, y = (positions >> 8) / 255, (positions & 255) / 255
    assert left == pytest.approx(x.min() - REGION_PAD) and right == pytest.approx(
        x.max() + REGION_PAD
    )
    assert top == pytest.approx(y.min() - REGION_PAD) and bottom == pytest.approx(
        y.max() + REGION_PAD
    )


def test_keypoints_in_a_line_span_a_box_of_the_least_side():
    in_a_row = np.array([(i << 16) | ((60 + 20 * i) << 8) | 128 for i in range(5)], np.uint64)
    left, top, right, bottom = keypoint_box(in_a_row)
    assert bottom - top == pytest.approx(REGION_MIN_SIDE)
    assert (top + bottom) / 2 == pytest.approx(128 / 255)
    assert right - left == pytest.approx(80 / 255 + 2 * REGION_PAD)


def test_a_reference_stores_the_pdq_of_its_own_box():
    hashes = hash_media(photo_path("coffee").read_bytes())
    luma = open_luma(photo_path("coffee").read_bytes()).luma
    own = region_pdq(luma, codes_of(hashes.get("crhash")))
    assert own == hashes.get("crpdq")
    assert own.algorithm == "crpdq" and own.quality >= 50


def test_a_crops_placement_carries_the_reference_onto_the_crop():
    """A crop keeping x 20-100% and y 10-90% of a 2:3 photo: a reference point p (share of the
    photo's longer side) stands at (p - cut) / kept longer side in the crop."""
    codes, _ = stored("chelsea")
    photo = load_photo("chelsea")
    data = cropped("chelsea", (0.2, 0.1, 1.0, 0.9))
    zoom_turn, shift = placement_in(data, codes)
    longer = max(photo.size)
    kept = max(0.8 * photo.width, 0.8 * photo.height)
    assert zoom_turn == pytest.approx(longer / kept, rel=0.02)
    cut = complex(0.2 * photo.width, 0.1 * photo.height) / kept
    assert abs(shift + cut) < 0.01


@pytest.mark.parametrize("name", ["chelsea", "coffee", "astronaut", "rocket"])
def test_a_crop_hashes_near_the_reference_where_it_is_placed(name):
    codes, crpdq = stored(name)
    data = cropped(name, (0.12, 0.0, 0.97, 0.9))
    check = RegionCheck(codes, placement_in(data, codes), (crpdq,))
    [bits] = region_distances(data, [check])
    assert bits <= CRPDQ.threshold  # measured 6-10, rocket 50 (its sky is plain)


#: Each bundled photo with the next, but the textures as references (a 10% crop of brick,
#: grass or gravel is no crhash match: their keypoints look alike everywhere).
NEIGHBOURS = [
    (name, other)
    for name, other in zip(PHOTOS, [*list(PHOTOS)[1:], next(iter(PHOTOS))], strict=True)
    if name not in {"brick", "grass", "gravel"}
]


@pytest.mark.parametrize(("name", "other"), NEIGHBOURS)
def test_another_picture_hashes_far_from_the_reference_where_a_crop_would_be(name, other):
    """The same placement on another photo: the box holds other pixels (measured 122-146
    bits away)."""
    codes, crpdq = stored(name)
    data = cropped(name, (0.1, 0.1, 1.0, 1.0))
    placement = placement_in(data, codes)
    other_photo = load_photo(other).resize(Image.open(io.BytesIO(data)).size)
    check = RegionCheck(codes, placement, (crpdq,))
    [bits] = region_distances(encode(other_photo, "JPEG", quality=80), [check])
    assert bits > CRPDQ.threshold


def test_the_nearest_of_a_cases_crpdq_counts():
    codes, crpdq = stored("coffee")
    _, other = stored("camera")
    data = cropped("coffee", (0.1, 0.1, 1.0, 1.0))
    placement = placement_in(data, codes)
    [alone] = region_distances(data, [RegionCheck(codes, placement, (crpdq,))])
    [among] = region_distances(data, [RegionCheck(codes, placement, (other, crpdq))])
    [wrong] = region_distances(data, [RegionCheck(codes, placement, (other,))])
    assert among == alone < wrong
